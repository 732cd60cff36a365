//! Slow and hostile clients against the real binary: trickled headers and
//! bodies are cut off, a flood of bad signatures stores nothing while valid
//! deliveries still land, oversized bodies are refused without buffering,
//! and the server's memory stays bounded through all of it.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bookme::store::Status;
use common::process::{Bookme, free_port, post_signed};
use common::{SECRET, TestDb};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn start(db: &TestDb, extra: &[(&'static str, &str)]) -> Bookme {
    let mut envs = vec![
        ("CAL_WEBHOOK_SECRET", SECRET.to_owned()),
        ("DATABASE_URL", db.url.clone()),
        ("RUST_LOG", "warn".to_owned()),
        ("BOOKME_MAX_BODY", "64K".to_owned()),
    ];
    envs.extend(extra.iter().map(|(k, v)| (*k, v.to_string())));
    let log = db.dir.path().join("hostile.log");
    Bookme::spawn(&["serve"], &envs, Some(free_port()), &log).await
}

/// Peak and current resident memory of a process, in KiB.
fn memory_kib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or(0)
    };
    (field("VmHWM:"), field("VmRSS:"))
}

/// Reads until the server answers or closes; returns what it sent.
async fn read_answer(stream: &mut TcpStream) -> String {
    let mut buf = vec![0u8; 1024];
    let read = tokio::time::timeout(Duration::from_secs(20), stream.read(&mut buf)).await;
    let n = read
        .expect("the server neither answered nor closed within 20 s")
        .unwrap_or(0);
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

#[tokio::test]
async fn slow_headers_and_slow_bodies_are_cut_off() {
    let db = TestDb::sqlite();
    let server = start(
        &db,
        &[
            ("BOOKME_HEADER_TIMEOUT", "300ms"),
            ("BOOKME_REQUEST_TIMEOUT", "1s"),
        ],
    )
    .await;
    let port = server.port.unwrap();

    let mut slow_headers = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    slow_headers
        .write_all(b"POST /api/cal/webhook HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let answer = read_answer(&mut slow_headers).await;
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
        "{answer}"
    );

    let mut slow_body = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let head = "POST /api/cal/webhook HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\
                X-Cal-Signature-256: 00\r\n\r\n{\"trigger";
    slow_body.write_all(head.as_bytes()).await.unwrap();
    let answer = read_answer(&mut slow_body).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");

    // The server is still healthy for everyone else.
    let client = reqwest::Client::new();
    let url = server.url();
    assert!(
        post_signed(&client, &url, SECRET, &common::unique_booking(1))
            .await
            .is_some()
    );
    assert!(db.store().await.all().await.unwrap().len() == 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_flood_of_bad_signatures_stores_nothing_and_valid_deliveries_still_land() {
    const BAD: usize = 100_000;
    const VALID_EVERY: usize = 1_000;
    let db = TestDb::sqlite();
    let server = start(&db, &[]).await;
    let pid = server.child.id().unwrap();
    let url = Arc::new(server.url());
    let next = Arc::new(AtomicUsize::new(0));
    let (refused, valid) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let mut tasks = Vec::new();
    for _ in 0..32 {
        let (url, next, refused, valid) =
            (url.clone(), next.clone(), refused.clone(), valid.clone());
        tasks.push(tokio::spawn(async move {
            let client = reqwest::Client::new();
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= BAD {
                    return;
                }
                let body = common::unique_booking(n);
                if n % VALID_EVERY == 0 {
                    if post_signed(&client, &url, SECRET, &body).await.is_some() {
                        valid.fetch_add(1, Ordering::Relaxed);
                    }
                    continue;
                }
                let resp = client
                    .post(url.as_str())
                    .header("x-cal-signature-256", "0".repeat(64))
                    .body(body)
                    .send()
                    .await
                    .unwrap();
                if resp.status() == 401 {
                    refused.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let (peak, _) = memory_kib(pid);
    assert_eq!(valid.load(Ordering::Relaxed), BAD / VALID_EVERY);
    assert_eq!(refused.load(Ordering::Relaxed), BAD - BAD / VALID_EVERY);
    let stored = db.store().await.all().await.unwrap();
    assert_eq!(
        stored.len(),
        BAD / VALID_EVERY,
        "only the valid deliveries are stored"
    );
    assert!(stored.iter().all(|d| d.status != Status::Dead));
    eprintln!(
        "bad-signature flood: {BAD} requests, peak RSS {} MiB",
        peak / 1024
    );
    assert!(peak < 256 * 1024, "peak RSS {peak} KiB is not bounded");
}

#[tokio::test]
async fn oversized_bodies_are_refused_with_memory_bounded() {
    let db = TestDb::sqlite();
    let server = start(&db, &[]).await;
    let pid = server.child.id().unwrap();
    let port = server.port.unwrap();
    let (_, before) = memory_kib(pid);
    // Ten clients each stream 8 MiB without a Content-Length: each is cut
    // off after the 64 KiB limit, so the server never holds the bodies.
    let mut tasks = Vec::new();
    for _ in 0..10 {
        tasks.push(tokio::spawn(async move {
            let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
            let head = "POST /api/cal/webhook HTTP/1.1\r\nHost: x\r\n\
                        Transfer-Encoding: chunked\r\nX-Cal-Signature-256: 00\r\n\r\n";
            s.write_all(head.as_bytes()).await.unwrap();
            let chunk = [
                format!("{:x}\r\n", 65536).into_bytes(),
                vec![b'a'; 65536],
                b"\r\n".to_vec(),
            ]
            .concat();
            for _ in 0..128 {
                if s.write_all(&chunk).await.is_err() {
                    break; // The server answered and closed.
                }
            }
            read_answer(&mut s).await
        }));
    }
    for t in tasks {
        let answer = t.await.unwrap();
        assert!(
            answer.is_empty() || answer.starts_with("HTTP/1.1 413"),
            "{answer}"
        );
    }
    let declared = reqwest::Client::new()
        .post(server.url())
        .header("content-length", (64 * 1024 * 1024).to_string())
        .body(vec![b'a'; 70_000])
        .send()
        .await;
    if let Ok(resp) = declared {
        assert_eq!(resp.status(), 413);
    }
    let (peak, _) = memory_kib(pid);
    eprintln!(
        "oversize: RSS before {} MiB, peak {} MiB",
        before / 1024,
        peak / 1024
    );
    assert!(
        peak < before + 48 * 1024,
        "80 MiB of bodies grew RSS from {before} to {peak} KiB"
    );
    assert!(db.store().await.all().await.unwrap().is_empty());
}
