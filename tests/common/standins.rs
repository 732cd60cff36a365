//! Local stand-ins for notification destinations: a Telegram Bot API and a
//! Standard Webhooks receiver (one axum server on port 0), and an SMTP
//! server (Python's aiosmtpd, installed by `.ci/run`).

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};
use tokio::io::AsyncBufReadExt;
use tokio::sync::Notify;

/// A Standard Webhooks secret for the forward tests.
pub const FORWARD_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// How the stand-in answers its next request.
#[derive(Debug, Clone)]
pub enum Plan {
    /// Answer with this status (and an error body).
    Status(u16),
    /// 429: Telegram's `retry_after` in the body, and `Retry-After`.
    TooMany(u64),
    /// Never answer: the request hangs until the client goes away.
    Hold,
}

/// One request the Telegram stand-in received.
#[derive(Debug, Clone)]
pub struct TelegramRequest {
    pub token: String,
    pub body: Value,
    /// The status it was answered with; `None` while held.
    pub answered: Option<u16>,
}

/// One request the forward receiver received.
#[derive(Debug, Clone)]
pub struct ForwardRequest {
    pub webhook_id: String,
    pub body: Value,
    /// Whether the `standardwebhooks` crate accepted its signature.
    pub verified: bool,
    pub answered: Option<u16>,
}

#[derive(Default)]
struct Shared {
    telegram: Mutex<Vec<TelegramRequest>>,
    forward: Mutex<Vec<ForwardRequest>>,
    telegram_plan: Mutex<VecDeque<Plan>>,
    forward_plan: Mutex<VecDeque<Plan>>,
    /// Telegram answers this status to every request once the plan is empty.
    telegram_always: Mutex<Option<u16>>,
    arrived: Notify,
}

/// The Telegram and forward stand-in.
#[derive(Clone)]
pub struct StandIn {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
}

/// Telegram's `getMe`, which `bookme doctor` uses as a probe.
async fn telegram_get_me() -> axum::Json<Value> {
    axum::Json(serde_json::json!({ "ok": true, "result": { "id": 1, "is_bot": true } }))
}

impl StandIn {
    pub async fn start() -> StandIn {
        let shared = Arc::new(Shared::default());
        let app = Router::new()
            .route("/{bot}/sendMessage", post(telegram))
            .route("/{bot}/getMe", axum::routing::get(telegram_get_me))
            .route("/hook", post(forward))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        StandIn { addr, shared }
    }

    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Environment for a Telegram destination pointing here.
    pub fn telegram_env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("BOOKME_TELEGRAM_BOT_TOKEN", "123456:test-bot-token".into()),
            ("BOOKME_TELEGRAM_CHAT_ID", "4242".into()),
            ("BOOKME_TELEGRAM_API_BASE", self.base()),
        ]
    }

    /// Environment for a forward destination pointing here.
    pub fn forward_env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("BOOKME_FORWARD_URL", format!("{}/hook", self.base())),
            ("BOOKME_FORWARD_SECRET", FORWARD_SECRET.into()),
        ]
    }

    pub fn plan_telegram(&self, plans: impl IntoIterator<Item = Plan>) {
        self.shared.telegram_plan.lock().unwrap().extend(plans);
    }

    pub fn plan_forward(&self, plans: impl IntoIterator<Item = Plan>) {
        self.shared.forward_plan.lock().unwrap().extend(plans);
    }

    /// Telegram answers `status` to everything (`None`: back to 200).
    pub fn telegram_always(&self, status: Option<u16>) {
        *self.shared.telegram_always.lock().unwrap() = status;
    }

    pub fn telegram(&self) -> Vec<TelegramRequest> {
        self.shared.telegram.lock().unwrap().clone()
    }

    /// Telegram messages answered 200, i.e. delivered.
    pub fn telegram_delivered(&self) -> Vec<TelegramRequest> {
        let all = self.telegram();
        all.into_iter()
            .filter(|r| r.answered == Some(200))
            .collect()
    }

    pub fn forward(&self) -> Vec<ForwardRequest> {
        self.shared.forward.lock().unwrap().clone()
    }

    pub fn forward_delivered(&self) -> Vec<ForwardRequest> {
        let all = self.forward();
        all.into_iter()
            .filter(|r| r.answered == Some(200))
            .collect()
    }

    /// Waits until the Telegram stand-in has received `n` requests.
    pub async fn wait_for_telegram(&self, n: usize) {
        for _ in 0..600 {
            let notified = self.shared.arrived.notified();
            if self.telegram().len() >= n {
                return;
            }
            let _ = tokio::time::timeout(Duration::from_millis(50), notified).await;
        }
        panic!(
            "the Telegram stand-in got {} of {n} requests",
            self.telegram().len()
        );
    }
}

fn next(plan: &Mutex<VecDeque<Plan>>, always: Option<u16>) -> Plan {
    let planned = plan.lock().unwrap().pop_front();
    planned.unwrap_or(Plan::Status(always.unwrap_or(200)))
}

async fn telegram(State(s): State<Arc<Shared>>, Path(bot): Path<String>, body: Bytes) -> Response {
    let token = bot.strip_prefix("bot").unwrap_or_default().to_owned();
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let always = *s.telegram_always.lock().unwrap();
    let plan = next(&s.telegram_plan, always);
    let index = {
        let mut all = s.telegram.lock().unwrap();
        all.push(TelegramRequest {
            token,
            body,
            answered: None,
        });
        all.len() - 1
    };
    s.arrived.notify_waiters();
    let (status, reply) = match plan {
        Plan::Hold => std::future::pending().await,
        Plan::Status(200) => (
            200,
            json!({"ok": true, "result": {"message_id": index + 1}}),
        ),
        Plan::Status(code) => (
            code,
            json!({"ok": false, "description": "stand-in failure"}),
        ),
        Plan::TooMany(secs) => (
            429,
            json!({"ok": false, "description": "Too Many Requests",
                   "parameters": {"retry_after": secs}}),
        ),
    };
    s.telegram.lock().unwrap()[index].answered = Some(status);
    let status = StatusCode::from_u16(status).unwrap();
    (status, axum::Json(reply)).into_response()
}

async fn forward(State(s): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let verifier = standardwebhooks::Webhook::new(FORWARD_SECRET).unwrap();
    let verified = verifier.verify(&body, &headers).is_ok();
    let webhook_id = headers
        .get("webhook-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let plan = next(&s.forward_plan, None);
    let index = {
        let mut all = s.forward.lock().unwrap();
        all.push(ForwardRequest {
            webhook_id,
            body: serde_json::from_slice(&body).unwrap_or(Value::Null),
            verified,
            answered: None,
        });
        all.len() - 1
    };
    let (status, retry_after) = match plan {
        Plan::Hold => std::future::pending().await,
        Plan::Status(code) => (code, None),
        Plan::TooMany(secs) => (429, Some(secs)),
    };
    s.forward.lock().unwrap()[index].answered = Some(status);
    let mut resp = StatusCode::from_u16(status).unwrap().into_response();
    if let Some(secs) = retry_after {
        resp.headers_mut()
            .insert("retry-after", secs.to_string().parse().unwrap());
    }
    resp
}

/// A loopback SMTP server that writes each message it receives, decoded
/// by Python's email package, as JSON into a directory.
pub struct SmtpSink {
    pub port: u16,
    pub dir: tempfile::TempDir,
    child: tokio::process::Child,
}

impl SmtpSink {
    /// Starts aiosmtpd, or returns `None` with a visible notice when it is
    /// not installed and CI is unset. Under CI a missing aiosmtpd fails.
    pub async fn start() -> Option<SmtpSink> {
        let probe = std::process::Command::new("python3")
            .args(["-c", "import aiosmtpd"])
            .output();
        if !probe.map(|o| o.status.success()).unwrap_or(false) {
            if std::env::var_os("CI").is_some() {
                panic!("CI is set but Python's aiosmtpd is missing (pip install aiosmtpd)");
            }
            eprintln!("SKIP: Python's aiosmtpd is not installed (pip install aiosmtpd)");
            return None;
        }
        // A free port can be taken by another test before Python binds it;
        // the sink says "listening" only once it has bound, so retry.
        for _ in 0..5 {
            let port = super::free_port();
            let dir = tempfile::tempdir().unwrap();
            let mut child = tokio::process::Command::new("python3")
                .arg(script())
                .arg(port.to_string())
                .arg(dir.path())
                .stdout(std::process::Stdio::piped())
                .kill_on_drop(true)
                .spawn()
                .expect("python3 runs");
            let stdout = child.stdout.take().unwrap();
            let mut lines = tokio::io::BufReader::new(stdout).lines();
            let first = tokio::time::timeout(Duration::from_secs(20), lines.next_line()).await;
            if let Ok(Ok(Some(line))) = first {
                if line == "listening" {
                    return Some(SmtpSink { port, dir, child });
                }
            }
            eprintln!("the SMTP sink did not start on port {port}; trying another");
        }
        panic!("the SMTP sink did not start");
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// The messages received so far, in order.
    pub fn messages(&self) -> Vec<Value> {
        let mut out = Vec::new();
        for n in 1.. {
            let path = self.dir.path().join(format!("{n}.json"));
            let Ok(text) = std::fs::read_to_string(&path) else {
                break;
            };
            out.push(serde_json::from_str(&text).unwrap());
        }
        out
    }
}

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/support/smtp_sink.py")
}
