//! The closed-loop load run: N keep-alive connections, each sending its next
//! request as soon as the previous answer is read, until the time is up.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use bytes::Bytes;
use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::{Method, Request, header};
use hyper_util::rt::TokioIo;
use serde_json::json;
use tokio::net::TcpStream;

use crate::args::{Args, Mode};
use crate::body::BodyGen;
use crate::procstat::Watch;

const WEBHOOK_PATH: &str = "/api/cal/webhook";

/// What each connection needs to build its requests.
struct Plan {
    authority: String,
    path: String,
    bodies: Option<BodyGen>,
    any_2xx: bool,
}

/// One connection's counts, merged at the end.
struct Tally {
    latency_us: Histogram<u64>,
    ok: u64,
    errors: u64,
    first_error: Option<String>,
}

impl Tally {
    fn new() -> Self {
        Self {
            latency_us: Histogram::new_with_bounds(1, 120_000_000, 3).expect("valid bounds"),
            ok: 0,
            errors: 0,
            first_error: None,
        }
    }

    fn error(&mut self, what: String) {
        self.errors += 1;
        self.first_error.get_or_insert(what);
    }

    fn merge(&mut self, other: Tally) {
        self.latency_us.add(&other.latency_us).expect("same bounds");
        self.ok += other.ok;
        self.errors += other.errors;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
    }
}

pub fn main(args: &Args) -> Result<String, String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.threads)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(run(args))
}

async fn run(args: &Args) -> Result<String, String> {
    let plan = Arc::new(plan(args)?);
    let watch = Watch::new(&args.pids);
    let (stop, max_rss) = watch.sample_rss();
    let cpu_before = watch.cpu_secs();
    let started = Instant::now();
    let deadline = started + args.duration;
    let tasks: Vec<_> = (0..args.connections)
        .map(|_| tokio::spawn(connection(plan.clone(), deadline)))
        .collect();
    let mut total = Tally::new();
    for task in tasks {
        total.merge(task.await.map_err(|e| e.to_string())?);
    }
    let elapsed = started.elapsed();
    let cpu_secs = watch.cpu_secs() - cpu_before;
    stop.store(true, Ordering::Relaxed);
    let report = Report {
        args,
        path: &plan.path,
        total: &total,
        elapsed,
        cpu_secs,
        watch: &watch,
        max_rss_kb: max_rss.load(Ordering::Relaxed),
    };
    Ok(report.print())
}

fn plan(args: &Args) -> Result<Plan, String> {
    let (path, bodies) = match &args.mode {
        Mode::Webhook => {
            let raw = std::fs::read_to_string(&args.fixture)
                .map_err(|e| format!("cannot read {}: {e}", args.fixture.display()))?;
            (
                WEBHOOK_PATH.to_owned(),
                Some(BodyGen::from_fixture(&raw, &args.secret)?),
            )
        }
        Mode::Get { path } => (path.clone(), None),
        Mode::Ready { .. } => unreachable!("ready mode does not load"),
    };
    Ok(Plan {
        authority: args.authority.clone(),
        path,
        bodies,
        any_2xx: args.any_2xx,
    })
}

async fn connection(plan: Arc<Plan>, deadline: Instant) -> Tally {
    let mut tally = Tally::new();
    let mut sender: Option<SendRequest<Full<Bytes>>> = None;
    while Instant::now() < deadline {
        let send = match sender.as_mut() {
            Some(send) => send,
            None => match connect(&plan.authority).await {
                Ok(s) => sender.insert(s),
                Err(e) => {
                    tally.error(format!("connect: {e}"));
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
        };
        let request = request(&plan);
        let sent = Instant::now();
        match exchange(send, request).await {
            Ok((status, body)) => {
                let us = sent.elapsed().as_micros() as u64;
                tally.latency_us.saturating_record(us.max(1));
                match judge(&plan, status, &body) {
                    Ok(()) => tally.ok += 1,
                    Err(e) => tally.error(e),
                }
            }
            Err(e) => {
                tally.error(format!("request: {e}"));
                sender = None;
            }
        }
    }
    tally
}

async fn connect(authority: &str) -> Result<SendRequest<Full<Bytes>>, String> {
    let stream = TcpStream::connect(authority)
        .await
        .map_err(|e| e.to_string())?;
    stream.set_nodelay(true).map_err(|e| e.to_string())?;
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(sender)
}

fn request(plan: &Plan) -> Request<Full<Bytes>> {
    let builder = Request::builder()
        .uri(&plan.path)
        .header(header::HOST, &plan.authority);
    match &plan.bodies {
        None => builder.method(Method::GET).body(Full::new(Bytes::new())),
        Some(bodies) => {
            let (body, signature) = bodies.next();
            builder
                .method(Method::POST)
                .header(header::CONTENT_TYPE, "application/json")
                .header(header::USER_AGENT, "Cal.com Webhooks (bookme bench)")
                .header("x-cal-signature-256", signature)
                .body(Full::new(body))
        }
    }
    .expect("a valid request")
}

async fn exchange(
    send: &mut SendRequest<Full<Bytes>>,
    request: Request<Full<Bytes>>,
) -> Result<(u16, Bytes), hyper::Error> {
    send.ready().await?;
    let response = send.send_request(request).await?;
    let status = response.status().as_u16();
    let body = response.into_body().collect().await?.to_bytes();
    Ok((status, body))
}

/// A 2xx, and for bookme's webhook also a fresh store: `"duplicate":false`.
fn judge(plan: &Plan, status: u16, body: &[u8]) -> Result<(), String> {
    if !(200..300).contains(&status) {
        let text = String::from_utf8_lossy(&body[..body.len().min(120)]).into_owned();
        return Err(format!("HTTP {status}: {text}"));
    }
    let fresh = b"\"duplicate\":false";
    if plan.bodies.is_some() && !plan.any_2xx && !body.windows(fresh.len()).any(|w| w == fresh) {
        let text = String::from_utf8_lossy(&body[..body.len().min(120)]).into_owned();
        return Err(format!("not a new delivery: {text}"));
    }
    Ok(())
}

struct Report<'a> {
    args: &'a Args,
    path: &'a str,
    total: &'a Tally,
    elapsed: Duration,
    cpu_secs: f64,
    watch: &'a Watch,
    max_rss_kb: u64,
}

impl Report<'_> {
    /// Prints the human line and returns the JSON line.
    fn print(&self) -> String {
        let t = self.total;
        let requests = t.ok + t.errors;
        let secs = self.elapsed.as_secs_f64();
        let rps = t.ok as f64 / secs;
        let ms = |q: f64| t.latency_us.value_at_quantile(q) as f64 / 1000.0;
        let watched = !self.watch.is_empty();
        let peak_rss_kb = watched.then(|| self.watch.status_kb("VmHWM"));
        let cpu_ms_per_req = (watched && t.ok > 0).then(|| self.cpu_secs * 1000.0 / t.ok as f64);
        eprintln!(
            "{label} {path}: {rps:.0} req/s, p50 {p50:.2} ms, p99 {p99:.2} ms, {ok} ok, \
             {errors} errors{first}; peak RSS {rss} kB, CPU {cpu} ms/req",
            label = self.args.label,
            path = self.path,
            p50 = ms(0.5),
            p99 = ms(0.99),
            ok = t.ok,
            errors = t.errors,
            first = t
                .first_error
                .as_deref()
                .map(|e| format!(" (first: {e})"))
                .unwrap_or_default(),
            rss = peak_rss_kb.map_or("-".into(), |v| v.to_string()),
            cpu = cpu_ms_per_req.map_or("-".into(), |v| format!("{v:.3}")),
        );
        json!({
            "label": self.args.label,
            "path": self.path,
            "connections": self.args.connections,
            "duration_s": secs,
            "requests": requests,
            "ok": t.ok,
            "errors": t.errors,
            "first_error": t.first_error,
            "rps": rps,
            "p50_ms": ms(0.5),
            "p90_ms": ms(0.9),
            "p99_ms": ms(0.99),
            "max_ms": t.latency_us.max() as f64 / 1000.0,
            "peak_rss_kb": peak_rss_kb,
            "max_sampled_rss_kb": watched.then_some(self.max_rss_kb),
            "server_cpu_s": watched.then_some(self.cpu_secs),
            "cpu_ms_per_req": cpu_ms_per_req,
        })
        .to_string()
    }
}
