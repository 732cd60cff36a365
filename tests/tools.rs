//! The operator's command-line tools, run as the real binary: `send-test`,
//! `sign`, `verify`, `doctor` and `purge`.

#[macro_use]
mod common;

use std::process::Stdio;

use bookme::calcom::booking::BookingStatus;
use bookme::store::{BookingFilter, Status};
use common::{Case, TestDb, cases, delivery, spawn_app};
use tokio::io::AsyncWriteExt;
use tokio::process::Command;

on_both_stores!(
    send_test_delivers_every_built_in_trigger_into_the_ledger,
    send_test_with_edits_and_a_body_file,
    doctor_passes_a_good_configuration,
    doctor_fails_a_broken_configuration_without_printing_secrets,
    purge_older_than_keeps_the_ledger_without_personal_data,
    purge_by_email_touches_only_that_attendee,
    purge_asks_before_deleting,
    doctor_probes_each_notification_destination,
);

async fn doctor_probes_each_notification_destination(db: TestDb) {
    db.store().await;
    let standin = common::standins::StandIn::start().await;
    let mut vars = good_vars(&db);
    vars.extend(standin.telegram_env());
    vars.extend(standin.forward_env());
    let as_refs = |v: &Vec<(&'static str, String)>| -> Vec<(&'static str, String)> { v.clone() };
    let up: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let run = bookme(&["doctor"], &up, b"").await;
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("✓ telegram destination"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("✓ forward destination"),
        "{}",
        run.stdout
    );
    assert!(standin.telegram().is_empty(), "a probe sends no message");

    let mut down = as_refs(&vars);
    let closed = format!("http://127.0.0.1:{}/hook", common::free_port());
    down.retain(|(k, _)| *k != "BOOKME_FORWARD_URL");
    down.push(("BOOKME_FORWARD_URL", closed));
    let down: Vec<(&str, &str)> = down.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let run = bookme(&["doctor"], &down, b"").await;
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.stdout.contains("✗ forward destination"),
        "{}",
        run.stdout
    );
    let all = format!("{}{}", run.stdout, run.stderr);
    assert!(!all.contains("test-bot-token"), "the bot token was printed");
    let offline = bookme(&["doctor", "--offline"], &down, b"").await;
    assert_eq!(offline.code, 0, "{}", offline.stdout);
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs `bookme ARGS` with exactly `vars` and `stdin`.
async fn bookme(args: &[&str], vars: &[(&str, &str)], stdin: &[u8]) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_bookme"))
        .args(args)
        .env_clear()
        .envs(vars.iter().copied())
        .current_dir(std::env::temp_dir())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("bookme runs");
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin).await.unwrap();
    drop(input);
    let out = child.wait_with_output().await.unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[tokio::test]
async fn sign_and_verify_agree_with_every_shared_case() {
    for case in cases() {
        let raw = case.raw.as_bytes();
        let header = case
            .headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("x-cal-signature-256"));
        let Some((_, signature)) = header else {
            continue;
        };
        let signed = bookme(&["sign", "--secret", "test-secret"], &[], raw).await;
        let verify = ["verify", "--signature", signature.as_str()];
        let verified = bookme(&verify, &[("CAL_WEBHOOK_SECRET", "test-secret")], raw).await;
        let genuine = signed.stdout.trim() == signature;
        match &case.name[..3] {
            "R02" | "R03" => assert!(!genuine, "{}", case.name),
            _ => assert!(genuine, "{}: {}", case.name, signed.stdout),
        }
        assert_eq!(
            verified.code,
            if genuine { 0 } else { 1 },
            "{}: {}",
            case.name,
            verified.stdout
        );
    }
    let none = bookme(&["sign"], &[], b"{}").await;
    assert_eq!(none.code, 1);
    assert!(none.stderr.contains("no secret"), "{}", none.stderr);
}

async fn send_test_delivers_every_built_in_trigger_into_the_ledger(db: TestDb) {
    let app = spawn_app(db, &[]).await;
    let url = app.url("/api/cal/webhook");
    let triggers = [
        ("BOOKING_CREATED", Some(BookingStatus::Accepted)),
        ("BOOKING_RESCHEDULED", Some(BookingStatus::Accepted)),
        ("BOOKING_CANCELLED", Some(BookingStatus::Cancelled)),
        ("BOOKING_REQUESTED", Some(BookingStatus::Pending)),
        ("BOOKING_REJECTED", Some(BookingStatus::Rejected)),
        ("MEETING_ENDED", None),
        ("PING", None),
    ];
    for (trigger, status) in triggers {
        let run = bookme(
            &[
                "send-test",
                trigger,
                "--url",
                &url,
                "--secret",
                "test-secret",
            ],
            &[],
            b"",
        )
        .await;
        assert_eq!(run.code, 0, "{trigger}: {}{}", run.stdout, run.stderr);
        assert!(run.stdout.contains("200 OK"), "{}", run.stdout);
        let id = run
            .stdout
            .split("\"id\":\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        app.worker.drain().await.unwrap();
        let row = app.store.get(id).await.unwrap().expect("stored");
        assert_eq!(
            (row.trigger.as_deref(), row.status),
            (Some(trigger), Status::Processed)
        );
        if let Some(status) = status {
            let uid = row.booking_uid.expect("a uid");
            let booking = app
                .store
                .booking(&uid)
                .await
                .unwrap()
                .expect("in the ledger");
            assert_eq!(booking.current_status(), Some(status), "{trigger}");
        }
    }
    let wrong = bookme(
        &["send-test", "PING", "--url", &url, "--secret", "wrong"],
        &[],
        b"",
    )
    .await;
    assert_eq!(wrong.code, 1);
    assert!(wrong.stdout.contains("401"), "{}", wrong.stdout);
}

async fn send_test_with_edits_and_a_body_file(db: TestDb) {
    let app = spawn_app(db, &[]).await;
    let port = app.addr.port().to_string();
    // Defaults come from the same configuration as `serve`.
    let vars = [
        ("CAL_WEBHOOK_SECRET", "test-secret"),
        ("PORT", port.as_str()),
    ];
    let edits = [
        "send-test",
        "BOOKING_CREATED",
        "--set",
        "payload.attendees.0.name=Пётр Тест",
    ];
    let run = bookme(&edits, &vars, b"").await;
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    app.worker.drain().await.unwrap();
    let uid = app.store.all().await.unwrap()[0]
        .booking_uid
        .clone()
        .unwrap();
    let booking = app.store.booking(&uid).await.unwrap().unwrap();
    assert_eq!(
        booking.personal.attendee_name.get().map(String::as_str),
        Some("Пётр Тест")
    );

    let file = app.db.dir.path().join("body.json");
    std::fs::write(&file, Case::load("R01").raw).unwrap();
    let run = bookme(
        &["send-test", "X", "--body", file.to_str().unwrap()],
        &vars,
        b"",
    )
    .await;
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let rows = app.store.all().await.unwrap();
    assert_eq!(
        rows[1].body,
        Case::load("R01").raw.into_bytes(),
        "the file is sent as it is"
    );
}

fn good_vars(db: &TestDb) -> Vec<(&'static str, String)> {
    vec![
        ("CAL_WEBHOOK_SECRET", "a-secret-of-decent-length".to_owned()),
        ("CAL_LINK", "ann-example/30min".to_owned()),
        ("CAL_TUNNEL_ORIGIN", "https://book.example.com".to_owned()),
        ("DATABASE_URL", db.url.clone()),
    ]
}

async fn doctor_passes_a_good_configuration(db: TestDb) {
    db.store().await; // Migrated, as `bookme migrate` leaves it.
    let vars = good_vars(&db);
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let run = bookme(&["doctor", "--offline"], &vars, b"").await;
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        !run.stdout.contains('✗') && run.stdout.matches('✓').count() >= 5,
        "{}",
        run.stdout
    );
}

async fn doctor_fails_a_broken_configuration_without_printing_secrets(db: TestDb) {
    // The store exists but was never migrated, the secret is short, the
    // public origin is http in production and CAL_LINK is missing.
    let vars = [
        ("CAL_WEBHOOK_SECRET", "tiny-secret"),
        ("CAL_TUNNEL_ORIGIN", "http://book.example.com"),
        ("DATABASE_URL", db.url.as_str()),
    ];
    let run = bookme(&["doctor", "--offline"], &vars, b"").await;
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert_eq!(run.stdout.matches('✗').count(), 4, "{}", run.stdout);
    assert!(!run.stdout.contains("tiny-secret") && !run.stderr.contains("tiny-secret"));
    let unreachable = [("DATABASE_URL", "postgres://bookme:hunter2@127.0.0.1:1/none")];
    let run = bookme(&["doctor", "--offline"], &unreachable, b"").await;
    assert!(run.stdout.contains("unreachable"), "{}", run.stdout);
    assert!(!format!("{}{}", run.stdout, run.stderr).contains("hunter2"));
}

async fn post_all(app: &common::TestApp, bodies: &[Vec<u8>]) {
    for body in bodies {
        assert_eq!(app.post_signed(body).await.status, 200);
    }
    app.worker.drain().await.unwrap();
}

fn all() -> BookingFilter {
    BookingFilter {
        limit: 100,
        ..Default::default()
    }
}

async fn purge_older_than_keeps_the_ledger_without_personal_data(db: TestDb) {
    let app = spawn_app(db, &[]).await;
    post_all(
        &app,
        &[delivery("BOOKING_CREATED"), delivery("BOOKING_CANCELLED")],
    )
    .await;
    let vars = [("DATABASE_URL", app.db.url.as_str())];
    let run = bookme(&["purge", "--older-than", "0s", "--yes"], &vars, b"").await;
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("purged 2 deliveries"), "{}", run.stdout);
    assert!(app.store.all().await.unwrap().is_empty());
    let bookings = app.store.bookings(&all()).await.unwrap();
    assert_eq!(bookings.len(), 2, "the ledger keeps its bookings");
    for b in &bookings {
        assert!(b.personal.purged && b.personal.attendee_email.get().is_none());
        assert!(b.current_status().is_some() && b.start.get().is_some());
    }
    let again = bookme(&["purge", "--older-than", "0s", "--yes"], &vars, b"").await;
    assert!(
        again.stdout.contains("nothing to purge"),
        "{}",
        again.stdout
    );
}

async fn purge_by_email_touches_only_that_attendee(db: TestDb) {
    let app = spawn_app(db, &[]).await;
    // Ivan's booking (created, then a no-show) and Bob's (rescheduled).
    let r18 = Case::load("R18").raw.into_bytes();
    post_all(
        &app,
        &[
            delivery("BOOKING_CREATED"),
            r18,
            delivery("BOOKING_RESCHEDULED"),
        ],
    )
    .await;
    let vars = [("DATABASE_URL", app.db.url.as_str())];
    let run = bookme(
        &["purge", "--email", "IVAN@example.com", "--yes"],
        &vars,
        b"",
    )
    .await;
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let ivan = app
        .store
        .booking(common::CREATED_UID)
        .await
        .unwrap()
        .unwrap();
    assert!(ivan.personal.purged);
    let bob = app
        .store
        .booking(common::RESCHEDULED_UID)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        bob.personal.attendee_email.get().map(String::as_str),
        Some("bob@example.com")
    );
    let left = app.store.all().await.unwrap();
    assert_eq!(left.len(), 1, "only Ivan's two deliveries went");
    assert_eq!(left[0].trigger.as_deref(), Some("BOOKING_RESCHEDULED"));
}

async fn purge_asks_before_deleting(db: TestDb) {
    let app = spawn_app(db, &[]).await;
    post_all(&app, &[delivery("BOOKING_CREATED")]).await;
    let vars = [("DATABASE_URL", app.db.url.as_str())];
    let run = bookme(&["purge", "--older-than", "0s"], &vars, b"y\n").await;
    assert_eq!(run.code, 1, "no terminal, no --yes: nothing is deleted");
    assert!(run.stderr.contains("--yes"), "{}", run.stderr);
    assert_eq!(app.store.all().await.unwrap().len(), 1);
    let neither = bookme(&["purge", "--yes"], &vars, b"").await;
    assert_eq!(neither.code, 2, "{}", neither.stderr);
}
