//! The bookings ledger end to end: deliveries posted to the real server,
//! processed by the worker, read back from the store, on both stores. Also
//! the queue: leases, retries, dead letters and replay.

#[macro_use]
mod common;

use std::time::Duration;

use bookme::calcom::booking::BookingStatus;
use bookme::ledger::Booking;
use bookme::store::{Replay, Status};
use bookme::worker::{Waker, Worker, WorkerOptions};
use common::{
    CREATED_UID, Case, RESCHEDULED_FROM, RESCHEDULED_UID, TestApp, TestDb, delivery, edit,
    spawn_app,
};

on_both_stores!(
    a_reschedule_chain_links_old_and_new_bookings,
    a_request_reschedule_cancel_is_cancelled_with_its_flag,
    a_cancel_missing_fields_becomes_an_orphan_that_a_late_create_cannot_revive,
    a_no_show_update_flags_the_attendee,
    a_duplicate_delivery_shapes_the_ledger_once,
    pings_and_templates_create_no_booking,
    the_same_deliveries_in_any_order_give_the_same_ledger,
    a_dead_workers_lease_expires_and_another_worker_takes_over,
    a_failing_step_is_retried_then_dead_lettered_then_replayed,
    a_replay_of_a_processed_delivery_changes_nothing,
    replay_since_requeues_a_time_range,
    bookings_without_a_start_time_are_listed,
);

async fn bookings_without_a_start_time_are_listed(db: TestDb) {
    let app = spawn_app(db, &[]).await;
    post_all(&app, &[Case::load("R18").raw.into_bytes()]).await; // No times in a no-show.
    let listed = app.store.bookings(&all_bookings()).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert!(listed[0].start.get().is_none());
}

async fn post_all(app: &TestApp, bodies: &[Vec<u8>]) {
    for body in bodies {
        let reply = app.post_signed(body).await;
        assert_eq!(reply.status, 200, "{}", reply.text());
    }
    app.worker.drain().await.unwrap();
}

async fn booking(app: &TestApp, uid: &str) -> Booking {
    app.store
        .booking(uid)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("no booking {uid}"))
}

fn status(b: &Booking) -> BookingStatus {
    b.current_status().expect("a status")
}

async fn a_reschedule_chain_links_old_and_new_bookings(db: TestDb) {
    let app = spawn_app(db, &[]).await;
    let created = edit(
        &delivery("BOOKING_CREATED"),
        &[(CREATED_UID, RESCHEDULED_FROM)],
    );
    let first = delivery("BOOKING_RESCHEDULED");
    let second = edit(
        &first,
        &[
            (RESCHEDULED_UID, "ThirdUid000000000000aa"),
            (RESCHEDULED_FROM, RESCHEDULED_UID),
            ("2025-03-12T16:02:05.911Z", "2025-03-15T10:00:00.000Z"),
        ],
    );
    post_all(&app, &[second, first, created]).await; // Out of order on purpose.
    let (old, mid) = (
        booking(&app, RESCHEDULED_FROM).await,
        booking(&app, RESCHEDULED_UID).await,
    );
    let new = booking(&app, "ThirdUid000000000000aa").await;
    assert_eq!(status(&old), BookingStatus::Rescheduled);
    assert_eq!(old.rescheduled_to.get().unwrap().as_str(), RESCHEDULED_UID);
    assert_eq!(status(&mid), BookingStatus::Rescheduled);
    assert_eq!(
        mid.rescheduled_from.get().unwrap().as_str(),
        RESCHEDULED_FROM
    );
    assert_eq!(
        mid.rescheduled_to.get().unwrap().as_str(),
        "ThirdUid000000000000aa"
    );
    assert_eq!(status(&new), BookingStatus::Accepted);
    assert_eq!(
        new.rescheduled_from.get().unwrap().as_str(),
        RESCHEDULED_UID
    );
    assert_eq!(
        old.personal.attendee_name.get().map(String::as_str),
        Some("Иван Образцов")
    );
}

async fn a_request_reschedule_cancel_is_cancelled_with_its_flag(db: TestDb) {
    let app = spawn_app(db, &[]).await;
    let r06 = Case::load("R06").raw.into_bytes();
    let r08 = Case::load("R08").raw.into_bytes();
    post_all(&app, &[r08, r06]).await;
    let b = booking(&app, RESCHEDULED_UID).await;
    assert_eq!(status(&b), BookingStatus::Cancelled);
    assert_eq!(b.request_reschedule.get(), Some(&true));
    assert_eq!(b.deliveries.len(), 2);
}

async fn a_cancel_missing_fields_becomes_an_orphan_that_a_late_create_cannot_revive(db: TestDb) {
    let app = spawn_app(db, &[]).await;
    let r09 = Case::load("R09").raw.into_bytes();
    let uid = serde_json::from_slice::<serde_json::Value>(&r09).unwrap()["payload"]["uid"]
        .as_str()
        .unwrap()
        .to_owned();
    post_all(&app, &[r09]).await;
    assert_eq!(status(&booking(&app, &uid).await), BookingStatus::Cancelled);
    let late_create = edit(
        &delivery("BOOKING_CREATED"),
        &[
            (CREATED_UID, &uid),
            ("2025-03-10T07:15:42.318Z", "2030-01-01T00:00:00.000Z"),
        ],
    );
    post_all(&app, &[late_create]).await;
    let b = booking(&app, &uid).await;
    assert_eq!(
        status(&b),
        BookingStatus::Cancelled,
        "a late create revived a cancel"
    );
    assert!(
        b.start.get().is_some(),
        "the create still filled in the fields"
    );
}

async fn a_no_show_update_flags_the_attendee(db: TestDb) {
    let app = spawn_app(db, &[]).await;
    let r18 = Case::load("R18").raw.into_bytes();
    post_all(&app, &[delivery("BOOKING_CREATED"), r18]).await;
    let b = booking(&app, CREATED_UID).await;
    assert_eq!(
        b.personal
            .no_shows
            .get("ivan@example.com")
            .and_then(|r| r.get()),
        Some(&true)
    );
    assert_eq!(status(&b), BookingStatus::Accepted);
}

async fn a_duplicate_delivery_shapes_the_ledger_once(db: TestDb) {
    let app = spawn_app(db, &[]).await;
    let case = Case::load("R17");
    for _ in 0..case.deliveries {
        app.post(
            "/api/cal/webhook",
            case.raw.as_bytes(),
            &case.header_pairs(),
        )
        .await;
    }
    app.worker.drain().await.unwrap();
    let rows = app.store.all().await.unwrap();
    assert_eq!(rows.len(), 1);
    let uid = rows[0].booking_uid.clone().unwrap();
    let b = booking(&app, &uid).await;
    assert_eq!(b.deliveries.len(), 1);
    assert_eq!(app.store.bookings(&all_bookings()).await.unwrap().len(), 1);
}

async fn pings_and_templates_create_no_booking(db: TestDb) {
    let app = spawn_app(db, &[]).await;
    for id in ["R05", "R11", "R12", "R14"] {
        let case = Case::load(id);
        app.post(
            "/api/cal/webhook",
            case.raw.as_bytes(),
            &case.header_pairs(),
        )
        .await;
    }
    app.worker.drain().await.unwrap();
    assert!(
        app.store
            .bookings(&all_bookings())
            .await
            .unwrap()
            .is_empty()
    );
}

fn all_bookings() -> bookme::store::BookingFilter {
    bookme::store::BookingFilter {
        limit: 1000,
        ..Default::default()
    }
}

/// What must agree between ledgers built from the same deliveries in
/// different orders. Delivery ids differ between stores, so the stamps
/// and id sets are left out; every value is compared.
fn view(b: &Booking) -> serde_json::Value {
    serde_json::json!({
        "uid": b.uid.as_str(),
        "status": b.current_status().map(|s| s.as_str()),
        "start": b.start.get().map(|t| t.to_string()),
        "end": b.end.get().map(|t| t.to_string()),
        "to": b.rescheduled_to.get().map(|u| u.as_str().to_owned()),
        "from": b.rescheduled_from.get().map(|u| u.as_str().to_owned()),
        "requestReschedule": b.request_reschedule.get(),
        "paid": b.paid,
        "name": b.personal.attendee_name.get(),
        "reason": b.personal.cancellation_reason.get(),
        "deliveries": b.deliveries.len(),
    })
}

async fn the_same_deliveries_in_any_order_give_the_same_ledger(db: TestDb) {
    let bodies: Vec<Vec<u8>> = ["R06", "R08", "R09", "R17", "R18", "R20", "R10"]
        .iter()
        .map(|id| Case::load(id).raw.into_bytes())
        .chain([delivery("BOOKING_CREATED"), delivery("BOOKING_CANCELLED")])
        .collect();
    let mut views = Vec::new();
    // Forward, reversed, and two interleavings.
    let orders: [Vec<usize>; 4] = [
        (0..9).collect(),
        (0..9).rev().collect(),
        vec![4, 0, 8, 2, 6, 1, 7, 3, 5],
        vec![7, 3, 5, 1, 8, 0, 2, 6, 4],
    ];
    for order in orders {
        let app = spawn_app(db.another().await, &[]).await;
        let ordered: Vec<_> = order.iter().map(|&i| bodies[i].clone()).collect();
        post_all(&app, &ordered).await;
        let ledger = app.store.bookings(&all_bookings()).await.unwrap();
        views.push(ledger.iter().map(view).collect::<Vec<_>>());
    }
    assert!(views[0].len() >= 4, "{:#?}", views[0]);
    for v in &views[1..] {
        assert_eq!(v, &views[0]);
    }
}

fn fast_worker(app: &TestApp, lease: Duration, max_attempts: u32) -> Worker {
    let options = WorkerOptions {
        lease,
        max_attempts,
        backoff_base: Duration::ZERO,
        ..WorkerOptions::default()
    };
    Worker::new(app.store.clone(), &Waker::default(), options)
}

async fn a_dead_workers_lease_expires_and_another_worker_takes_over(db: TestDb) {
    let app = spawn_app(db, &[]).await;
    app.post_signed(&delivery("BOOKING_CREATED")).await;
    // A worker claims the delivery and dies before finishing it.
    let until = time::OffsetDateTime::now_utc() + Duration::from_millis(800);
    let claimed = app
        .store
        .claim("remote-host:1:dead", until, 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    let survivor = fast_worker(&app, Duration::from_secs(30), 10);
    assert_eq!(
        survivor.drain().await.unwrap(),
        0,
        "a live lease is respected"
    );
    tokio::time::sleep(Duration::from_millis(900)).await;
    assert_eq!(
        survivor.drain().await.unwrap(),
        1,
        "an expired lease is taken over"
    );
    let row = app
        .store
        .get(claimed[0].id.as_str())
        .await
        .unwrap()
        .unwrap();
    assert_eq!((row.status, row.process_count), (Status::Processed, 1));
    // The dead worker's late completion is refused: the outcome stays single.
    let late = app
        .store
        .complete(&row.id, "remote-host:1:dead", Status::Processed, None);
    assert!(!late.await.unwrap());
    assert!(app.store.booking(CREATED_UID).await.unwrap().is_some());
}

async fn a_failing_step_is_retried_then_dead_lettered_then_replayed(db: TestDb) {
    let app = spawn_app(db, &[]).await;
    app.db.sabotage("INSERT ON bookings").await; // The ledger write fails.
    let id = app.post_signed(&delivery("BOOKING_CREATED")).await.json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    fast_worker(&app, Duration::from_secs(30), 3)
        .drain()
        .await
        .unwrap();
    let row = app.store.get(&id).await.unwrap().unwrap();
    assert_eq!((row.status, row.attempts), (Status::Dead, 3));
    assert!(row.last_error.unwrap().contains("simulated failure"));
    assert!(app.store.booking(CREATED_UID).await.unwrap().is_none());
    assert_eq!(app.store.stats().await.unwrap().dead, 1);

    app.db.heal("bookings").await;
    assert_eq!(app.store.replay(&Replay::Dead).await.unwrap(), 1);
    app.worker.drain().await.unwrap();
    let row = app.store.get(&id).await.unwrap().unwrap();
    assert_eq!((row.status, row.process_count), (Status::Processed, 1));
    assert_eq!(
        status(&booking(&app, CREATED_UID).await),
        BookingStatus::Accepted
    );
}

async fn a_replay_of_a_processed_delivery_changes_nothing(db: TestDb) {
    let app = spawn_app(db, &[]).await;
    post_all(
        &app,
        &[delivery("BOOKING_CREATED"), delivery("BOOKING_RESCHEDULED")],
    )
    .await;
    let before = app.store.bookings(&all_bookings()).await.unwrap();
    let id = app.store.all().await.unwrap()[0].id.clone();
    assert_eq!(
        app.store
            .replay(&Replay::One(id.to_string()))
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        app.store.get(id.as_str()).await.unwrap().unwrap().status,
        Status::Pending
    );
    assert_eq!(app.worker.drain().await.unwrap(), 1);
    let row = app.store.get(id.as_str()).await.unwrap().unwrap();
    assert_eq!((row.status, row.process_count), (Status::Processed, 2));
    let after = app.store.bookings(&all_bookings()).await.unwrap();
    let json = |v: &Vec<Booking>| serde_json::to_string(v).unwrap();
    assert_eq!(json(&before), json(&after), "a replay changed the ledger");
    assert_eq!(
        app.store
            .replay(&Replay::One("no-such-id".into()))
            .await
            .unwrap(),
        0
    );
}

async fn replay_since_requeues_a_time_range(db: TestDb) {
    let app = spawn_app(db, &[]).await;
    post_all(&app, &[delivery("BOOKING_CREATED")]).await;
    let cut = time::OffsetDateTime::now_utc();
    tokio::time::sleep(Duration::from_millis(5)).await;
    post_all(&app, &[delivery("BOOKING_CANCELLED"), delivery("PING")]).await;
    assert_eq!(app.store.replay(&Replay::Since(cut)).await.unwrap(), 2);
    assert_eq!(app.store.stats().await.unwrap().pending, 2);
    assert_eq!(app.worker.drain().await.unwrap(), 2);
}
