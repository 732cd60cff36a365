//! Crash under load: 10 000 unique deliveries while the server is killed
//! with SIGKILL twice and restarted, on SQLite and on PostgreSQL. Every
//! acknowledged delivery must be stored, processed exactly once, and
//! reflected in the ledger; nothing acknowledged may be lost.

#[macro_use]
mod common;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bookme::store::{BookingFilter, Status, Store};
use common::process::{Bookme, free_port, post_signed};
use common::{SECRET, TestDb, workload};
use tokio::sync::Mutex;

on_both_stores!(ten_thousand_deliveries_survive_two_sigkills);

const TOTAL: usize = 10_000;
const KILL_AT: [usize; 2] = [2_500, 6_000];

async fn ten_thousand_deliveries_survive_two_sigkills(db: TestDb) {
    let port = free_port();
    let log = db.dir.path().join("crash.log");
    let envs = vec![
        ("CAL_WEBHOOK_SECRET", SECRET.to_owned()),
        ("DATABASE_URL", db.url.clone()),
        ("RUST_LOG", "warn".to_owned()),
    ];
    let mut server = Bookme::spawn(&["serve"], &envs, Some(port), &log).await;
    let url = Arc::new(server.url());
    let acked = Arc::new(Mutex::new(HashMap::<usize, String>::new()));
    let (next, count) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let senders: Vec<_> = (0..32)
        .map(|_| {
            tokio::spawn(send(
                url.clone(),
                next.clone(),
                count.clone(),
                acked.clone(),
            ))
        })
        .collect();
    let mut acked_before_kills = Vec::new();
    for at in KILL_AT {
        while count.load(Ordering::SeqCst) < at {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        server.kill().await;
        acked_before_kills.push(count.load(Ordering::SeqCst));
        server = Bookme::spawn(&["serve"], &envs, Some(port), &log).await;
    }
    for s in senders {
        s.await.unwrap();
    }
    let acked = acked.lock().await.clone();
    assert_eq!(
        acked.len(),
        TOTAL,
        "every delivery was acknowledged in the end"
    );
    let store = db.store().await;
    common::wait_until_processed(&store).await;
    check(&store, &acked).await;
    eprintln!(
        "crash under load ({}): {TOTAL} acknowledged, SIGKILL after {acked_before_kills:?}, 0 lost",
        db.kind
    );
    assert!(server.terminate().await.success());
}

/// Sends until every delivery is acknowledged; one that fails (the server
/// is down) is sent again, as a redelivering sender would.
async fn send(
    url: Arc<String>,
    next: Arc<AtomicUsize>,
    count: Arc<AtomicUsize>,
    acked: Arc<Mutex<HashMap<usize, String>>>,
) {
    let client = reqwest::Client::new();
    loop {
        let n = next.fetch_add(1, Ordering::SeqCst);
        if n >= TOTAL {
            return;
        }
        let body = workload(n);
        for _ in 0..400 {
            if let Some(id) = post_signed(&client, &url, SECRET, &body).await {
                acked.lock().await.insert(n, id);
                count.fetch_add(1, Ordering::SeqCst);
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

/// Stored = acknowledged, each processed once, each in its booking's set.
async fn check(store: &Store, acked: &HashMap<usize, String>) {
    let rows = store.all().await.unwrap();
    assert_eq!(
        rows.len(),
        TOTAL,
        "stored deliveries equal acknowledged ones"
    );
    let by_id: HashMap<_, _> = rows.iter().map(|r| (r.id.as_str(), r)).collect();
    let filter = BookingFilter {
        limit: i64::MAX,
        ..Default::default()
    };
    let ledger: HashMap<String, _> = store
        .bookings(&filter)
        .await
        .unwrap()
        .into_iter()
        .map(|b| (b.uid.as_str().to_owned(), b))
        .collect();
    for (n, id) in acked {
        let row = by_id
            .get(id.as_str())
            .unwrap_or_else(|| panic!("acknowledged {id} lost"));
        assert_eq!(row.body, workload(*n), "{id}: body changed");
        assert_eq!(
            (row.status, row.process_count),
            (Status::Processed, 1),
            "{id}"
        );
        let uid = row.booking_uid.as_deref().unwrap();
        let booking = ledger
            .get(uid)
            .unwrap_or_else(|| panic!("{uid} missing from the ledger"));
        assert!(
            booking.deliveries.contains(id),
            "{id} has no effect on {uid}"
        );
    }
}
