//! Owner notifications end to end, against real local servers: a Telegram
//! Bot API stand-in, a Standard Webhooks receiver verifying with the
//! `standardwebhooks` crate, and aiosmtpd. The worker and the dispatcher are
//! driven by hand, so every step is deterministic.

#[macro_use]
mod common;

on_both_stores!(
    one_message_per_event_across_duplicates_redeliveries_and_replays,
    a_failed_outbox_insert_rolls_back_the_processed_mark,
    a_down_destination_catches_up_once_and_holds_up_no_other,
    telegram_429_waits_as_long_as_telegram_asks,
    dead_letter_after_the_give_up_time_then_resend_and_force,
    forward_is_signed_and_keeps_its_webhook_id_across_retries,
    forward_410_disables_the_destination_and_spares_the_others,
    trigger_filters_choose_what_each_destination_gets,
    email_arrives_with_cyrillic_subject_and_body_intact,
);

use std::time::Duration;

use bookme::config::Config;
use bookme::notify::{Dispatcher, DispatcherOptions, Outbox};
use bookme::store::{DeliveryId, Notification, NotifyStatus, Replay, Resend};
use common::standins::{Plan, SmtpSink, StandIn};
use common::{TestApp, TestDb, fixtures, spawn_app, test_config};
use serde_json::Value;

/// A server without background work, plus a dispatcher driven by hand.
struct Harness {
    app: TestApp,
    dispatcher: Dispatcher,
}

async fn harness(db: TestDb, vars: &[(&str, String)], give_up: Option<Duration>) -> Harness {
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let config: Config = test_config(&db.url, &vars);
    let app = spawn_app(db, &vars).await;
    let options = DispatcherOptions {
        lease: Duration::from_secs(30),
        backoff_base: Duration::from_millis(20),
        backoff_cap: Duration::from_millis(40),
        poll: Duration::from_millis(10),
        give_up: give_up.unwrap_or(config.notify.give_up),
        timeout: Duration::from_secs(5),
    };
    let outbox = Outbox::from_config(&config.notify);
    let dispatcher = Dispatcher::new(app.store.clone(), config.notify, outbox, options);
    Harness { app, dispatcher }
}

impl Harness {
    /// Posts a signed body and returns its delivery id.
    async fn post(&self, body: &[u8]) -> DeliveryId {
        let reply = self.app.post_signed(body).await;
        assert_eq!(reply.status, 200, "{}", reply.text());
        DeliveryId::from_stored(reply.json()["id"].as_str().unwrap().to_owned())
    }

    /// Runs the worker, then the dispatcher, until neither has work due.
    async fn settle(&self) {
        self.app.worker.drain().await.unwrap();
        self.dispatcher.drain().await.unwrap();
    }

    /// Settles again and again until `done` holds; retries need their
    /// backoff to pass. Fails after a generous bound.
    async fn settle_until(&self, what: &str, mut done: impl FnMut() -> bool) {
        for _ in 0..500 {
            self.settle().await;
            if done() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("gave up waiting for: {what}");
    }

    async fn records(&self, id: &DeliveryId) -> Vec<Notification> {
        self.app.store.notifications_for(id).await.unwrap()
    }
}

fn delivery(name: &str) -> Vec<u8> {
    std::fs::read(fixtures().join("deliveries").join(format!("{name}.json"))).unwrap()
}

fn env(parts: &[Vec<(&'static str, String)>]) -> Vec<(&'static str, String)> {
    parts.concat()
}

/// The same event as Cal.com's bytes, but re-serialized: a redelivery that
/// the body hash cannot recognise.
fn reserialized(body: &[u8]) -> Vec<u8> {
    let v: Value = serde_json::from_slice(body).unwrap();
    serde_json::to_vec_pretty(&v).unwrap()
}

async fn one_message_per_event_across_duplicates_redeliveries_and_replays(db: TestDb) {
    let s = StandIn::start().await;
    let h = harness(db, &env(&[s.telegram_env(), s.forward_env()]), None).await;
    let body = delivery("BOOKING_CREATED");
    let first = h.post(&body).await;
    assert_eq!(h.post(&body).await, first, "same bytes, same delivery");
    let other = h.post(&reserialized(&body)).await;
    assert_ne!(other, first, "other bytes are another delivery");
    h.settle().await;
    // A replay reprocesses the delivery; the outbox must not grow.
    assert_eq!(
        h.app
            .store
            .replay(&Replay::One(first.to_string()))
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        h.app
            .store
            .replay(&Replay::One(other.to_string()))
            .await
            .unwrap(),
        1
    );
    h.settle().await;

    let telegram = s.telegram_delivered();
    assert_eq!(telegram.len(), 1, "{telegram:#?}");
    assert_eq!(telegram[0].token, "123456:test-bot-token");
    assert_eq!(telegram[0].body["chat_id"], "4242");
    assert_eq!(telegram[0].body["parse_mode"], "HTML");
    let text = telegram[0].body["text"].as_str().unwrap();
    assert!(
        text.starts_with("<b>Новая запись</b>: Консультация"),
        "{text}"
    );
    assert!(
        text.contains("пт, 14 мар., 12:00–12:30 (Europe/Moscow)"),
        "{text}"
    );
    assert!(
        text.contains("Иван Образцов &lt;ivan@example.com&gt;"),
        "{text}"
    );
    assert_eq!(s.forward_delivered().len(), 1);

    for id in [&first, &other] {
        let records = h.records(id).await;
        let summary: Vec<_> = records
            .iter()
            .map(|r| {
                (
                    r.destination.as_str(),
                    r.status,
                    r.send_count,
                    &r.delivery_id,
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                ("forward", NotifyStatus::Sent, 1, &first),
                ("telegram", NotifyStatus::Sent, 1, &first)
            ],
            "{id}"
        );
    }
}

async fn a_failed_outbox_insert_rolls_back_the_processed_mark(db: TestDb) {
    let s = StandIn::start().await;
    let h = harness(db, &s.telegram_env(), None).await;
    let id = h.post(&delivery("BOOKING_CREATED")).await;
    h.app.db.sabotage("INSERT ON notifications").await;
    assert!(h.app.worker.drain().await.is_ok());
    let row = h.app.store.get(id.as_str()).await.unwrap().unwrap();
    assert_eq!(
        row.status,
        bookme::store::Status::Pending,
        "nothing half-applied"
    );
    assert_eq!(row.process_count, 0);
    assert!(
        h.app
            .store
            .booking("8sXq2LmTz4VbN1cR6yWkPd")
            .await
            .unwrap()
            .is_none()
    );

    h.app.db.heal("notifications").await;
    h.app
        .store
        .replay(&Replay::One(id.to_string()))
        .await
        .unwrap();
    h.settle().await;
    let row = h.app.store.get(id.as_str()).await.unwrap().unwrap();
    assert_eq!(
        (row.status, row.process_count),
        (bookme::store::Status::Processed, 1)
    );
    assert_eq!(s.telegram_delivered().len(), 1);
}

async fn a_down_destination_catches_up_once_and_holds_up_no_other(db: TestDb) {
    let s = StandIn::start().await;
    let h = harness(db, &env(&[s.telegram_env(), s.forward_env()]), None).await;
    s.telegram_always(Some(500));
    let ids = [
        h.post(&delivery("BOOKING_CREATED")).await,
        h.post(&delivery("BOOKING_RESCHEDULED")).await,
        h.post(&delivery("BOOKING_CANCELLED")).await,
    ];
    h.settle_until("three failed Telegram attempts", || s.telegram().len() >= 3)
        .await;
    assert_eq!(
        s.forward_delivered().len(),
        3,
        "forward did not wait for Telegram"
    );
    assert!(s.telegram_delivered().is_empty());

    // Down a while longer: each row is retried, none is given up.
    h.settle_until("a second round of failures", || s.telegram().len() >= 6)
        .await;
    s.telegram_always(None);
    h.settle_until("Telegram catches up", || s.telegram_delivered().len() >= 3)
        .await;
    h.settle().await;

    let delivered = s.telegram_delivered();
    assert_eq!(delivered.len(), 3, "each event exactly once");
    let headlines: Vec<_> = delivered
        .iter()
        .map(|r| {
            r.body["text"]
                .as_str()
                .unwrap()
                .split("</b>")
                .next()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(headlines.len(), 3);
    for headline in ["Новая запись", "Booking rescheduled", "Booking cancelled"] {
        let n = headlines.iter().filter(|h| h.ends_with(headline)).count();
        assert_eq!(n, 1, "{headline}: {headlines:?}");
    }
    assert_eq!(s.forward_delivered().len(), 3, "forward sent nothing twice");
    let mut attempts = 0;
    for id in &ids {
        let records = h.records(id).await;
        let tg = records
            .iter()
            .find(|r| r.destination == "telegram")
            .unwrap();
        assert_eq!(
            (tg.status, tg.send_count),
            (NotifyStatus::Sent, 1),
            "{tg:?}"
        );
        attempts += tg.attempts as usize;
    }
    assert_eq!(
        attempts,
        s.telegram().len(),
        "every request is one recorded attempt"
    );
    assert!(attempts >= 9, "6 failures and 3 successes at least");
}

async fn telegram_429_waits_as_long_as_telegram_asks(db: TestDb) {
    let s = StandIn::start().await;
    let h = harness(db, &s.telegram_env(), None).await;
    s.plan_telegram([Plan::TooMany(2)]);
    let id = h.post(&delivery("BOOKING_CREATED")).await;
    let before = time::OffsetDateTime::now_utc();
    h.settle().await;
    let record = h.records(&id).await.remove(0);
    assert_eq!(record.status, NotifyStatus::Pending);
    assert!(
        record.last_error.as_deref().unwrap().contains("429"),
        "{record:?}"
    );
    // The stored retry time honours retry_after (2 s), not the 40 ms cap.
    let wait = record.next_attempt_at.unwrap() - before;
    assert!(wait >= time::Duration::seconds(2), "{wait}");
    h.settle().await;
    assert_eq!(
        s.telegram().len(),
        1,
        "nothing is sent before the wait is over"
    );
    h.settle_until("the retry after the wait", || {
        s.telegram_delivered().len() == 1
    })
    .await;
}

async fn dead_letter_after_the_give_up_time_then_resend_and_force(db: TestDb) {
    let s = StandIn::start().await;
    let give_up = Some(Duration::from_secs(1));
    let h = harness(db, &s.telegram_env(), give_up).await;
    s.telegram_always(Some(500));
    let id = h.post(&delivery("BOOKING_CREATED")).await;
    let mut dead = None;
    for _ in 0..200 {
        h.settle().await;
        let record = h.records(&id).await.remove(0);
        if record.status == NotifyStatus::Dead {
            dead = Some(record);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let dead = dead.expect("the record became a dead letter");
    assert!(dead.attempts >= 2, "retried before giving up: {dead:?}");
    assert!(
        dead.last_error.as_deref().unwrap().contains("500"),
        "{dead:?}"
    );
    let listed = h.app.store.notifications_with(NotifyStatus::Dead, 10).await;
    assert_eq!(listed.unwrap().len(), 1);
    let tries = s.telegram().len();
    h.settle().await;
    assert_eq!(s.telegram().len(), tries, "a dead letter is not retried");

    s.telegram_always(None);
    let resend = |force| Resend {
        delivery: &id,
        destination: None,
        force,
        force_to: &[],
    };
    assert_eq!(
        h.app
            .store
            .resend_notifications(&resend(false))
            .await
            .unwrap(),
        1
    );
    h.settle().await;
    assert_eq!(s.telegram_delivered().len(), 1);
    assert_eq!(
        h.app
            .store
            .resend_notifications(&resend(false))
            .await
            .unwrap(),
        0,
        "without --force a delivered notification is not sent again"
    );
    assert_eq!(
        h.app
            .store
            .resend_notifications(&resend(true))
            .await
            .unwrap(),
        1
    );
    h.settle().await;
    assert_eq!(s.telegram_delivered().len(), 2, "--force sends again");
    assert_eq!(h.records(&id).await[0].send_count, 2);
}

async fn forward_is_signed_and_keeps_its_webhook_id_across_retries(db: TestDb) {
    let s = StandIn::start().await;
    let h = harness(db, &s.forward_env(), None).await;
    s.plan_forward([Plan::Status(503), Plan::TooMany(0)]);
    let body = delivery("BOOKING_RESCHEDULED");
    let id = h.post(&body).await;
    h.settle_until("the forward goes through", || {
        s.forward_delivered().len() == 1
    })
    .await;

    let all = s.forward();
    assert_eq!(all.len(), 3, "503, 429, then 200");
    assert!(
        all.iter().all(|r| r.verified),
        "standardwebhooks verifies every attempt"
    );
    let record = h.records(&id).await.remove(0);
    assert!(
        all.iter().all(|r| r.webhook_id == record.id),
        "one webhook-id"
    );
    let sent = &all[2].body;
    assert_eq!(sent["type"], "booking.rescheduled");
    let data = &sent["data"];
    assert_eq!(data["schema"], "bookme.booking-event.v1");
    assert_eq!(data["trigger"], "BOOKING_RESCHEDULED");
    assert_eq!(data["delivery_id"], id.as_str());
    assert_eq!(data["booking"]["uid"], "Qm3TtY7aPw2ZcK9rLx5VnB");
    assert_eq!(data["booking"]["start"], "2025-03-20T14:30:00Z");
    assert_eq!(
        data["booking"]["rescheduled_from"]["start"],
        "2025-03-13T14:30:00Z"
    );
    assert_eq!(data["booking"]["attendee"]["name"], "Bob Sample");
    let original: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(data["original"], original, "the Cal.com body rides along");
}

async fn forward_410_disables_the_destination_and_spares_the_others(db: TestDb) {
    let s = StandIn::start().await;
    let h = harness(db, &env(&[s.telegram_env(), s.forward_env()]), None).await;
    s.plan_forward([Plan::Status(410)]);
    let created = h.post(&delivery("BOOKING_CREATED")).await;
    h.settle().await;
    let cancelled = h.post(&delivery("BOOKING_CANCELLED")).await;
    h.settle().await;

    assert_eq!(s.forward().len(), 1, "nothing is sent after a 410");
    let fw = |records: Vec<Notification>| records.into_iter().find(|r| r.destination == "forward");
    let gone = fw(h.records(&created).await).unwrap();
    assert_eq!(gone.status, NotifyStatus::Dead);
    assert!(gone.last_error.unwrap().contains("410"));
    let waiting = fw(h.records(&cancelled).await).unwrap();
    assert_eq!(
        waiting.status,
        NotifyStatus::Pending,
        "kept for after a restart"
    );
    assert_eq!(s.telegram_delivered().len(), 2, "Telegram is not affected");
}

async fn trigger_filters_choose_what_each_destination_gets(db: TestDb) {
    let s = StandIn::start().await;
    let mut vars = env(&[s.telegram_env(), s.forward_env()]);
    vars.push(("BOOKME_FORWARD_TRIGGERS", "cancelled".into()));
    let h = harness(db, &vars, None).await;
    let created = h.post(&delivery("BOOKING_CREATED")).await;
    let cancelled = h.post(&delivery("BOOKING_CANCELLED")).await;
    let ping = h.post(&delivery("PING")).await;
    let ended = h.post(&delivery("MEETING_ENDED")).await;
    h.settle().await;
    let names = |r: Vec<Notification>| r.into_iter().map(|r| r.destination).collect::<Vec<_>>();
    assert_eq!(names(h.records(&created).await), ["telegram"]);
    assert_eq!(names(h.records(&cancelled).await), ["forward", "telegram"]);
    assert!(h.records(&ping).await.is_empty());
    assert!(h.records(&ended).await.is_empty());
    assert_eq!(s.forward_delivered().len(), 1);
    assert_eq!(s.telegram_delivered().len(), 2);
}

async fn email_arrives_with_cyrillic_subject_and_body_intact(db: TestDb) {
    let Some(sink) = SmtpSink::start().await else {
        return;
    };
    let vars = vec![
        ("BOOKME_SMTP_URL", sink.url()),
        (
            "BOOKME_EMAIL_FROM",
            "bookme <bookme@example.com>".to_owned(),
        ),
        ("BOOKME_EMAIL_TO", "owner@example.com".to_owned()),
    ];
    let h = harness(db, &vars, None).await;
    let body = delivery("BOOKING_CREATED");
    let id = h.post(&body).await;
    h.post(&reserialized(&body)).await;
    h.settle().await;

    let messages = sink.messages();
    let records = h.records(&id).await;
    assert_eq!(messages.len(), 1, "{messages:#?} {records:#?}");
    let m = &messages[0];
    assert_eq!(
        m["subject"],
        "Новая запись: Консультация между Анна Пример и Иван Образцов"
    );
    assert_eq!(m["rcpt_tos"], serde_json::json!(["owner@example.com"]));
    assert_eq!(m["content_type"], "multipart/alternative");
    assert_eq!(m["text_charset"], "utf-8");
    let head = m["raw_head"].as_str().unwrap();
    let subject = head.lines().find(|l| l.starts_with("Subject:")).unwrap();
    assert!(
        subject.is_ascii(),
        "the subject is RFC 2047 encoded: {subject}"
    );
    let text = m["text"].as_str().unwrap();
    assert!(
        text.contains("Кто: Иван Образцов <ivan@example.com>"),
        "{text}"
    );
    assert!(
        text.contains("Когда: пт, 14 мар., 12:00–12:30 (Europe/Moscow)"),
        "{text}"
    );
    assert!(text.contains("«Срочно», но не очень."), "{text}");
    let html = m["html"].as_str().unwrap();
    assert!(
        html.contains("Иван Образцов &lt;ivan@example.com&gt;"),
        "{html}"
    );
    assert!(html.contains("<html lang=\"ru\">"), "{html}");
    let record = h.records(&id).await.remove(0);
    assert_eq!(
        (record.destination.as_str(), record.status),
        ("email", NotifyStatus::Sent)
    );
}
