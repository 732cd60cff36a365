//! Start time: exec a server, poll `/readyz` until it answers 200, then let
//! it idle and read its RSS.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::args::Args;
use crate::procstat::status_kb;

/// Give up when the server is not ready after this long.
const TIMEOUT: Duration = Duration::from_secs(20);

pub fn run(args: &Args, command: &[String]) -> Result<String, String> {
    let started = Instant::now();
    let mut child = Command::new(&command[0])
        .args(&command[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", command[0]))?;
    let ready = wait_ready(&args.authority, &mut child, started);
    let result = ready.map(|ready| {
        std::thread::sleep(args.settle);
        report(args, child.id(), ready)
    });
    let _ = child.kill();
    let _ = child.wait();
    result
}

fn wait_ready(authority: &str, child: &mut Child, started: Instant) -> Result<Duration, String> {
    while started.elapsed() < TIMEOUT {
        if probe(authority) {
            return Ok(started.elapsed());
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("the server exited before it was ready: {status}"));
        }
        std::thread::sleep(Duration::from_micros(500));
    }
    Err(format!("not ready after {TIMEOUT:?}"))
}

/// One `GET /readyz` on a fresh connection; true on a 200.
fn probe(authority: &str) -> bool {
    let Ok(mut stream) = TcpStream::connect(authority) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let request = format!("GET /readyz HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.1 200")
}

fn report(args: &Args, pid: u32, ready: Duration) -> String {
    let ready_ms = ready.as_secs_f64() * 1000.0;
    let idle_rss_kb = status_kb(pid, "VmRSS");
    let peak_rss_kb = status_kb(pid, "VmHWM");
    eprintln!(
        "{}: ready in {ready_ms:.1} ms; idle RSS {} kB after {:?}",
        args.label,
        idle_rss_kb.unwrap_or(0),
        args.settle
    );
    json!({
        "label": args.label,
        "ready_ms": ready_ms,
        "idle_rss_kb": idle_rss_kb,
        "start_peak_rss_kb": peak_rss_kb,
    })
    .to_string()
}
