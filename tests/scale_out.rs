//! Scale-out on PostgreSQL: two HTTP-only servers and two workers share one
//! database; one worker is killed with SIGKILL partway. Every acknowledged
//! delivery must be processed exactly once, and the ledger must equal the
//! one a single process builds from the same deliveries.

#[macro_use]
mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bookme::calcom::booking::BookingEvent;
use bookme::ledger::Ledger;
use bookme::store::{BookingFilter, Status, Store};
use common::process::{Bookme, free_port, post_signed};
use common::{SECRET, TestDb, workload};

const TOTAL: usize = 10_000;
const KILL_WORKER_AFTER: usize = 3_000;
const CONNECTIONS: usize = 32;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_servers_and_two_workers_share_one_postgres() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let log = db.dir.path().join("scale.log");
    let envs = [
        ("CAL_WEBHOOK_SECRET", SECRET.to_owned()),
        ("DATABASE_URL", db.url.clone()),
        ("RUST_LOG", "warn".to_owned()),
    ];
    // Migrate once up front so the four processes do not race to create.
    db.store().await;
    let servers = [
        Bookme::spawn(&["serve", "--no-worker"], &envs, Some(free_port()), &log).await,
        Bookme::spawn(&["serve", "--no-worker"], &envs, Some(free_port()), &log).await,
    ];
    let mut doomed = Bookme::spawn(&["worker"], &envs, None, &log).await;
    let survivor = Bookme::spawn(&["worker"], &envs, None, &log).await;
    let urls: Arc<Vec<String>> = Arc::new(servers.iter().map(Bookme::url).collect());

    let acked = Arc::new(AtomicUsize::new(0));
    let next = Arc::new(AtomicUsize::new(0));
    let senders: Vec<_> = (0..CONNECTIONS)
        .map(|_| tokio::spawn(send_until_done(urls.clone(), next.clone(), acked.clone())))
        .collect();
    while acked.load(Ordering::SeqCst) < KILL_WORKER_AFTER {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    doomed.kill().await;
    let store = db.store().await;
    let pending_at_kill = store.stats().await.unwrap().pending;
    for s in senders {
        s.await.unwrap();
    }
    assert_eq!(
        acked.load(Ordering::SeqCst),
        TOTAL,
        "both servers acknowledge everything"
    );
    common::wait_until_processed(&store).await;

    check_exactly_once(&store).await;
    check_ledger_matches_one_process(&store).await;
    eprintln!(
        "scale-out: {TOTAL} deliveries, worker killed with {pending_at_kill} pending, 0 lost"
    );
    assert!(
        pending_at_kill > 0,
        "the worker was killed after all work was done"
    );
    assert!(survivor.terminate().await.success());
    for s in servers {
        assert!(s.terminate().await.success());
    }
}

/// Sends deliveries until all are taken, alternating servers; a request
/// that fails is sent again, so every delivery ends up acknowledged.
async fn send_until_done(urls: Arc<Vec<String>>, next: Arc<AtomicUsize>, acked: Arc<AtomicUsize>) {
    let client = reqwest::Client::new();
    loop {
        let n = next.fetch_add(1, Ordering::SeqCst);
        if n >= TOTAL {
            return;
        }
        let body = workload(n);
        for attempt in 0..5 {
            let url = &urls[(n + attempt) % urls.len()];
            if post_signed(&client, url, SECRET, &body).await.is_some() {
                acked.fetch_add(1, Ordering::SeqCst);
                break;
            }
        }
    }
}

async fn check_exactly_once(store: &Store) {
    let rows = store.all().await.unwrap();
    assert_eq!(rows.len(), TOTAL);
    for row in &rows {
        assert_eq!(
            (row.status, row.process_count),
            (Status::Processed, 1),
            "{}",
            row.id
        );
    }
}

/// Rebuilds the ledger in memory from the stored deliveries, in arrival
/// order, and compares it record for record with the shared database's.
async fn check_ledger_matches_one_process(store: &Store) {
    let mut expected = Ledger::default();
    for row in store.all().await.unwrap() {
        let event = BookingEvent::parse(&row.body).expect("workload bodies parse");
        expected.apply(&event, row.id.as_str());
    }
    let filter = BookingFilter {
        limit: i64::MAX,
        ..Default::default()
    };
    let actual = store.bookings(&filter).await.unwrap();
    assert_eq!(actual.len(), expected.len());
    for booking in &actual {
        let want = expected.get(booking.uid.as_str()).expect("same uids");
        assert_eq!(
            serde_json::to_value(booking).unwrap(),
            serde_json::to_value(want).unwrap()
        );
    }
}
