//! Command-line options, parsed by hand to keep the tool quick to build.

use std::path::PathBuf;
use std::time::Duration;

pub const USAGE: &str = "\
usage: loadgen webhook --url http://127.0.0.1:PORT [options]
       loadgen get PATH --url http://127.0.0.1:PORT [options]
       loadgen ready --url http://127.0.0.1:PORT [--settle-ms MS] -- CMD [ARGS...]

options:
  --connections N     keep-alive connections (default 64)
  --duration SECS     measured time (default 10)
  --threads N         client runtime threads (default 2, as wrk -t2)
  --secret S          webhook secret (default bench-secret)
  --fixture FILE      delivery to vary (default tests/fixtures/deliveries/BOOKING_CREATED.json)
  --pid PID[,PID]     server process(es) to watch: peak RSS and CPU per request
  --label NAME        label copied into the JSON line
  --any-2xx           webhook: accept any 2xx (a receiver that does not answer
                      \"duplicate\":false, e.g. the Astro site)
  --settle-ms MS      ready: wait this long after ready before reading idle RSS (default 1000)";

#[derive(Debug, Clone)]
pub enum Mode {
    Webhook,
    Get { path: String },
    Ready { command: Vec<String> },
}

#[derive(Debug, Clone)]
pub struct Args {
    pub mode: Mode,
    /// `host:port`, checked to be loopback.
    pub authority: String,
    pub connections: usize,
    pub duration: Duration,
    pub threads: usize,
    pub secret: String,
    pub fixture: PathBuf,
    pub pids: Vec<u32>,
    pub label: String,
    pub any_2xx: bool,
    pub settle: Duration,
}

impl Args {
    pub fn parse(mut raw: impl Iterator<Item = String>) -> Result<Self, String> {
        let mode = raw.next().ok_or("missing mode")?;
        let mut args = Self::defaults(Mode::Webhook);
        let mut url = None;
        let mut path = None;
        let mut command = Vec::new();
        while let Some(arg) = raw.next() {
            let mut value = || raw.next().ok_or(format!("{arg} needs a value"));
            match arg.as_str() {
                "--url" => url = Some(value()?),
                "--connections" => args.connections = number(&value()?)?,
                "--duration" => args.duration = Duration::from_secs_f64(number(&value()?)?),
                "--threads" => args.threads = number(&value()?)?,
                "--secret" => args.secret = value()?,
                "--fixture" => args.fixture = value()?.into(),
                "--pid" => args.pids = pids(&value()?)?,
                "--label" => args.label = value()?,
                "--settle-ms" => args.settle = Duration::from_millis(number(&value()?)?),
                "--any-2xx" => args.any_2xx = true,
                "--" => command = raw.by_ref().collect(),
                p if p.starts_with('/') && path.is_none() => path = Some(p.to_owned()),
                other => return Err(format!("unknown argument {other}")),
            }
        }
        args.mode = match (mode.as_str(), path) {
            ("webhook", None) => Mode::Webhook,
            ("get", Some(path)) => Mode::Get { path },
            ("ready", None) if !command.is_empty() => Mode::Ready { command },
            _ => return Err(format!("bad mode or arguments for {mode}")),
        };
        args.authority = loopback_authority(&url.ok_or("--url is required")?)?;
        if args.connections == 0 || args.threads == 0 {
            return Err("--connections and --threads must be at least 1".into());
        }
        Ok(args)
    }

    fn defaults(mode: Mode) -> Self {
        Self {
            mode,
            authority: String::new(),
            connections: 64,
            duration: Duration::from_secs(10),
            threads: 2,
            secret: "bench-secret".into(),
            fixture: "tests/fixtures/deliveries/BOOKING_CREATED.json".into(),
            pids: Vec::new(),
            label: String::new(),
            any_2xx: false,
            settle: Duration::from_millis(1000),
        }
    }
}

fn number<T: std::str::FromStr>(raw: &str) -> Result<T, String> {
    raw.parse().map_err(|_| format!("not a number: {raw}"))
}

fn pids(raw: &str) -> Result<Vec<u32>, String> {
    raw.split(',')
        .filter(|p| !p.is_empty())
        .map(number)
        .collect()
}

/// Takes `http://127.0.0.1:PORT` (a path after it is ignored) and returns
/// `127.0.0.1:PORT`. Anything but loopback is refused.
fn loopback_authority(url: &str) -> Result<String, String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or("--url must start with http://")?;
    let authority = rest.split('/').next().unwrap_or_default();
    let host = authority.rsplit_once(':').map_or(authority, |(h, _)| h);
    let loopback = host == "localhost" || host.starts_with("127.") || host == "[::1]";
    if !loopback || !authority.contains(':') {
        return Err(format!("refusing {url}: want http://127.0.0.1:PORT"));
    }
    Ok(authority.to_owned())
}
