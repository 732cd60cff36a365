//! The operator's command line, run as the real binary against a database
//! that an in-process server and worker filled: `bookme events ...` and
//! `bookme bookings ...`, as tables and as JSON, plus their errors.

#[macro_use]
mod common;

on_both_stores!(
    events_list_filters_and_prints_json_and_a_table,
    events_show_prints_headers_state_and_a_readable_body,
    events_show_prints_a_body_that_is_not_json_as_text,
    replay_of_one_id_requeues_it_and_leaves_the_ledger_unchanged,
    replay_dead_requeues_only_dead_letters,
    replay_since_takes_a_time_or_a_duration_ago,
    bookings_list_all_or_only_upcoming,
    bookings_show_lists_the_deliveries_that_shaped_it,
    unknown_ids_and_bad_values_fail_with_a_clear_message,
    short_commands_are_quiet_and_keep_logs_off_stdout,
);

use std::process::Stdio;

use bookme::calcom::signature::sign;
use bookme::store::{BookingFilter, Status};
use common::{SECRET, TestApp, TestDb, deliveries, spawn_app};
use serde_json::Value;
use tokio::process::Command;

/// What one run of the binary did.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs `bookme ARGS` against `db` with a clean environment (no RUST_LOG,
/// so the CLI's own quiet default applies).
async fn bookme(db: &TestDb, args: &[&str]) -> Run {
    bookme_with(db, args, &[]).await
}

async fn bookme_with(db: &TestDb, args: &[&str], vars: &[(&str, &str)]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_bookme"))
        .args(args)
        .env_clear()
        .envs(vars.iter().copied())
        .env("DATABASE_URL", &db.url)
        .current_dir(db.dir.path())
        .stdin(Stdio::null())
        .output()
        .await
        .expect("bookme runs");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs a command that must succeed and returns its stdout. Short commands
/// log nothing at info, so stderr holds no info lines.
async fn ok(db: &TestDb, args: &[&str]) -> String {
    let run = bookme(db, args).await;
    assert_eq!(run.code, 0, "{args:?} failed: {}", run.stderr);
    assert!(
        !run.stderr.contains("INFO"),
        "{args:?} logged: {}",
        run.stderr
    );
    run.stdout
}

/// Runs a `--json` command and parses its one document.
async fn json(db: &TestDb, args: &[&str]) -> Value {
    let stdout = ok(db, args).await;
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {stdout}"))
}

/// Posts a fixture from `tests/fixtures/deliveries` and returns its id.
async fn post(app: &TestApp, body: &[u8]) -> String {
    let reply = app.post_signed(body).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    reply.json()["id"].as_str().unwrap().to_owned()
}

fn fixture(trigger: &str) -> Vec<u8> {
    deliveries()
        .into_iter()
        .find(|(name, _)| name == trigger)
        .unwrap_or_else(|| panic!("no fixture {trigger}"))
        .1
}

/// Every booking in the ledger, as JSON, to compare before and after.
async fn ledger(app: &TestApp) -> Value {
    let all = BookingFilter {
        limit: 1000,
        ..BookingFilter::default()
    };
    serde_json::to_value(app.store.bookings_latest_first(&all).await.unwrap()).unwrap()
}

fn ids(list: &Value) -> Vec<&str> {
    let items = list.as_array().expect("a JSON array");
    items.iter().map(|d| d["id"].as_str().unwrap()).collect()
}

async fn events_list_filters_and_prints_json_and_a_table(db: TestDb) {
    let app = spawn_app(db, &[]).await;
    let mut posted = Vec::new();
    for (_, body) in deliveries() {
        posted.push(post(&app, &body).await);
    }
    let not_an_object = post(&app, b"false").await;
    app.worker.drain().await.unwrap();

    let all = json(&app.db, &["events", "list", "--json"]).await;
    assert_eq!(all.as_array().unwrap().len(), posted.len() + 1);
    assert_eq!(ids(&all)[0], not_an_object, "newest first");
    for item in all.as_array().unwrap() {
        for key in [
            "id",
            "receivedAt",
            "trigger",
            "bookingUid",
            "shape",
            "status",
            "attempts",
            "size",
        ] {
            assert!(item.get(key).is_some(), "{key} missing in {item}");
        }
        assert!(item["receivedAt"].as_str().unwrap().ends_with('Z'));
    }

    let quarantined = json(
        &app.db,
        &["events", "list", "--status", "quarantined", "--json"],
    )
    .await;
    assert_eq!(ids(&quarantined), [not_an_object.as_str()]);
    assert_eq!(quarantined[0]["shape"], "not_object");
    assert_eq!(quarantined[0]["trigger"], Value::Null);
    assert_eq!(quarantined[0]["size"], 5);

    let args = ["events", "list", "--trigger", "BOOKING_CREATED", "--json"];
    let created = json(&app.db, &args).await;
    assert_eq!(created.as_array().unwrap().len(), 1);
    assert_eq!(created[0]["bookingUid"], "8sXq2LmTz4VbN1cR6yWkPd");
    assert_eq!(created[0]["status"], "processed");
    assert_eq!(created[0]["size"], fixture("BOOKING_CREATED").len());

    let two = json(&app.db, &["events", "list", "--limit", "2", "--json"]).await;
    assert_eq!(ids(&two), ids(&all)[..2]);

    let table = ok(&app.db, &["events", "list"]).await;
    let mut lines = table.lines();
    let header = lines.next().unwrap();
    assert!(header.starts_with("ID "), "{header}");
    assert!(
        header.contains("BOOKING UID") && header.ends_with("SIZE"),
        "{header}"
    );
    assert_eq!(lines.count(), posted.len() + 1);
    for id in &posted {
        assert!(table.contains(id.as_str()), "{id} not in {table}");
    }
}

async fn events_show_prints_headers_state_and_a_readable_body(db: TestDb) {
    let app = spawn_app(db, &[]).await;
    let id = post(&app, &fixture("BOOKING_CREATED")).await;
    app.worker.drain().await.unwrap();

    let text = ok(&app.db, &["events", "show", &id]).await;
    for expected in [
        "content type:",
        "application/json",
        "webhook version:",
        "2021-10-20",
        "remote addr:",
        "127.0.0.1",
        "shape:",
        "envelope",
        "processed",
        "process count:",
        "next attempt:",
        "last error:",
        "\"triggerEvent\": \"BOOKING_CREATED\"",
        "Иван Образцов",
    ] {
        assert!(text.contains(expected), "{expected:?} not in:\n{text}");
    }
    assert!(!text.contains("\\u04"), "Cyrillic was escaped:\n{text}");

    let detail = json(&app.db, &["events", "show", &id, "--json"]).await;
    assert_eq!(detail["id"], id.as_str());
    assert_eq!(detail["contentType"], "application/json");
    assert_eq!(detail["webhookVersion"], "2021-10-20");
    assert_eq!(detail["remoteAddr"], "127.0.0.1");
    assert_eq!(detail["status"], "processed");
    assert_eq!(detail["processCount"], 1);
    assert_eq!(detail["attempts"], 0);
    assert_eq!(detail["bodyIsJson"], true);
    assert_eq!(detail["body"]["triggerEvent"], "BOOKING_CREATED");
    assert_eq!(detail["body"]["payload"]["uid"], "8sXq2LmTz4VbN1cR6yWkPd");
}

async fn events_show_prints_a_body_that_is_not_json_as_text(db: TestDb) {
    let app = spawn_app(db, &[]).await;
    let body = "имя=Иван&start=2025-03-14T09:00:00Z".as_bytes();
    let signature = sign(SECRET.as_bytes(), body);
    let headers = [
        ("content-type", "application/x-www-form-urlencoded"),
        ("x-cal-signature-256", signature.as_str()),
    ];
    let reply = app.post("/api/cal/webhook", body, &headers).await;
    let id = reply.json()["id"].as_str().unwrap().to_owned();
    app.worker.drain().await.unwrap();

    let text = ok(&app.db, &["events", "show", &id]).await;
    assert!(
        text.contains("имя=Иван&start=2025-03-14T09:00:00Z"),
        "{text}"
    );
    assert!(text.contains("quarantined"), "{text}");
    assert!(text.contains("application/x-www-form-urlencoded"), "{text}");

    let detail = json(&app.db, &["events", "show", &id, "--json"]).await;
    assert_eq!(detail["bodyIsJson"], false);
    assert_eq!(detail["body"], "имя=Иван&start=2025-03-14T09:00:00Z");
    assert_eq!(detail["shape"], "not_json");
    assert!(detail["note"].as_str().is_some(), "{detail}");
}

async fn replay_of_one_id_requeues_it_and_leaves_the_ledger_unchanged(db: TestDb) {
    let app = spawn_app(db, &[]).await;
    let created = post(&app, &fixture("BOOKING_CREATED")).await;
    let ended = post(&app, &fixture("MEETING_ENDED")).await;
    app.worker.drain().await.unwrap();
    let before = ledger(&app).await;

    let out = ok(&app.db, &["events", "replay", &created]).await;
    assert!(out.contains("queued 1 delivery for replay"), "{out}");
    let row = app.store.get(&created).await.unwrap().unwrap();
    assert_eq!((row.status, row.attempts), (Status::Pending, 0));
    let other = app.store.get(&ended).await.unwrap().unwrap();
    assert_eq!(
        other.status,
        Status::Processed,
        "only the named id is queued"
    );

    assert_eq!(app.worker.drain().await.unwrap(), 1);
    let row = app.store.get(&created).await.unwrap().unwrap();
    assert_eq!((row.status, row.process_count), (Status::Processed, 2));
    assert_eq!(
        ledger(&app).await,
        before,
        "a replay must not change the ledger"
    );

    let queued = json(&app.db, &["events", "replay", &ended, "--json"]).await;
    assert_eq!(queued, serde_json::json!({ "queued": 1 }));
    assert_eq!(app.worker.drain().await.unwrap(), 1);
    assert_eq!(ledger(&app).await, before);
}

async fn replay_dead_requeues_only_dead_letters(db: TestDb) {
    let app = spawn_app(db, &[("BOOKME_MAX_ATTEMPTS", "1")]).await;
    let created = post(&app, &fixture("BOOKING_CREATED")).await;
    app.worker.drain().await.unwrap();
    // Writes to the ledger fail, so the cancel dies on its only attempt.
    app.db.sabotage("INSERT ON bookings").await;
    let cancelled = post(&app, &fixture("BOOKING_CANCELLED")).await;
    app.worker.drain().await.unwrap();
    let dead = app.store.get(&cancelled).await.unwrap().unwrap();
    assert_eq!(dead.status, Status::Dead);
    let listed = json(&app.db, &["events", "list", "--status", "dead", "--json"]).await;
    assert_eq!(ids(&listed), [cancelled.as_str()]);
    app.db.heal("bookings").await;

    let out = ok(&app.db, &["events", "replay", "--dead"]).await;
    assert!(out.contains("queued 1 delivery for replay"), "{out}");
    let row = app.store.get(&cancelled).await.unwrap().unwrap();
    assert_eq!((row.status, row.attempts), (Status::Pending, 0));
    let untouched = app.store.get(&created).await.unwrap().unwrap();
    assert_eq!(untouched.status, Status::Processed);

    assert_eq!(app.worker.drain().await.unwrap(), 1);
    let row = app.store.get(&cancelled).await.unwrap().unwrap();
    assert_eq!((row.status, row.process_count), (Status::Processed, 1));
    let booking = app.store.booking("Qm3TtY7aPw2ZcK9rLx5VnB").await.unwrap();
    assert!(booking.is_some(), "the replayed cancel reached the ledger");
    let untouched = app.store.get(&created).await.unwrap().unwrap();
    assert_eq!(untouched.process_count, 1, "--dead replays nothing else");
}

async fn replay_since_takes_a_time_or_a_duration_ago(db: TestDb) {
    let app = spawn_app(db, &[]).await;
    let mut posted = Vec::new();
    for trigger in [
        "BOOKING_CREATED",
        "BOOKING_RESCHEDULED",
        "BOOKING_CANCELLED",
    ] {
        posted.push(post(&app, &fixture(trigger)).await);
    }
    app.worker.drain().await.unwrap();
    let before = ledger(&app).await;

    let future = [
        "events",
        "replay",
        "--since",
        "2999-01-01T00:00:00Z",
        "--json",
    ];
    assert_eq!(json(&app.db, &future).await["queued"], 0);

    let out = ok(&app.db, &["events", "replay", "--since", "1h"]).await;
    assert!(out.contains("queued 3 deliveries for replay"), "{out}");
    for id in &posted {
        let row = app.store.get(id).await.unwrap().unwrap();
        assert_eq!(row.status, Status::Pending, "{id}");
    }
    assert_eq!(app.worker.drain().await.unwrap(), 3);

    let past = [
        "events",
        "replay",
        "--since",
        "2025-03-10T00:00:00Z",
        "--json",
    ];
    assert_eq!(json(&app.db, &past).await["queued"], 3);
    assert_eq!(app.worker.drain().await.unwrap(), 3);
    for id in &posted {
        let row = app.store.get(id).await.unwrap().unwrap();
        assert_eq!((row.status, row.process_count), (Status::Processed, 3));
    }
    assert_eq!(
        ledger(&app).await,
        before,
        "replays must not change the ledger"
    );
}

/// The BOOKING_CREATED sample moved to 2099 under a new uid.
fn future_booking() -> Vec<u8> {
    String::from_utf8(fixture("BOOKING_CREATED"))
        .unwrap()
        .replace("8sXq2LmTz4VbN1cR6yWkPd", "FutureUid000000000000001")
        .replace("2025-03-14T09:", "2099-03-14T09:")
        .into_bytes()
}

async fn bookings_list_all_or_only_upcoming(db: TestDb) {
    let app = spawn_app(db, &[]).await;
    post(&app, &fixture("BOOKING_CREATED")).await;
    post(&app, &fixture("BOOKING_CANCELLED")).await;
    post(&app, &future_booking()).await;
    app.worker.drain().await.unwrap();

    let all = json(&app.db, &["bookings", "list", "--json"]).await;
    let uids: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["uid"].as_str().unwrap())
        .collect();
    let expected = [
        "FutureUid000000000000001",
        "Qm3TtY7aPw2ZcK9rLx5VnB",
        "8sXq2LmTz4VbN1cR6yWkPd",
    ];
    assert_eq!(uids, expected, "latest start first");
    assert_eq!(all[2]["start"], "2025-03-14T09:00:00Z");
    assert_eq!(all[2]["end"], "2025-03-14T09:30:00Z");
    assert_eq!(all[2]["status"], "accepted");
    assert_eq!(all[2]["attendeeName"], "Иван Образцов");
    for key in ["eventType", "lang"] {
        assert!(all[2].get(key).is_some(), "{key} missing in {}", all[2]);
    }

    let upcoming = json(&app.db, &["bookings", "list", "--upcoming", "--json"]).await;
    assert_eq!(upcoming.as_array().unwrap().len(), 1, "{upcoming}");
    assert_eq!(upcoming[0]["uid"], "FutureUid000000000000001");
    assert_eq!(upcoming[0]["start"], "2099-03-14T09:00:00Z");

    let args = ["bookings", "list", "--status", "cancelled", "--json"];
    let cancelled = json(&app.db, &args).await;
    assert_eq!(cancelled.as_array().unwrap().len(), 1, "{cancelled}");
    assert_eq!(cancelled[0]["uid"], "Qm3TtY7aPw2ZcK9rLx5VnB");

    let one = json(&app.db, &["bookings", "list", "--limit", "1", "--json"]).await;
    assert_eq!(one.as_array().unwrap().len(), 1);

    let table = ok(&app.db, &["bookings", "list"]).await;
    assert!(table.starts_with("UID "), "{table}");
    assert!(table.contains("Иван Образцов"), "{table}");
    assert_eq!(table.lines().count(), 4, "{table}");
}

async fn bookings_show_lists_the_deliveries_that_shaped_it(db: TestDb) {
    let app = spawn_app(db, &[]).await;
    let created = post(&app, &fixture("BOOKING_CREATED")).await;
    let ended = post(&app, &fixture("MEETING_ENDED")).await;
    let ping = post(&app, &fixture("PING")).await;
    app.worker.drain().await.unwrap();

    let args = ["bookings", "show", "8sXq2LmTz4VbN1cR6yWkPd", "--json"];
    let detail = json(&app.db, &args).await;
    assert_eq!(detail["uid"], "8sXq2LmTz4VbN1cR6yWkPd");
    assert_eq!(detail["status"], "accepted");
    assert_eq!(detail["start"], "2025-03-14T09:00:00Z");
    assert_eq!(detail["attendeeName"], "Иван Образцов");
    assert!(detail["meetingEnded"].is_string(), "{detail}");
    assert_eq!(detail["paid"], false);
    let shaping = detail["deliveries"].as_array().unwrap();
    let mut shaping_ids: Vec<&str> = shaping.iter().map(|d| d["id"].as_str().unwrap()).collect();
    shaping_ids.sort();
    let mut expected = [created.as_str(), ended.as_str()];
    expected.sort();
    assert_eq!(shaping_ids, expected, "{detail}");
    for d in shaping {
        assert_eq!(d["status"], "processed");
        assert!(d["receivedAt"].as_str().unwrap().ends_with('Z'));
    }
    let triggers: Vec<&str> = shaping
        .iter()
        .map(|d| d["trigger"].as_str().unwrap())
        .collect();
    assert!(triggers.contains(&"BOOKING_CREATED") && triggers.contains(&"MEETING_ENDED"));

    let text = ok(&app.db, &["bookings", "show", "8sXq2LmTz4VbN1cR6yWkPd"]).await;
    for expected in [
        "status:",
        "accepted",
        "attendee email:",
        "organizer time zone:",
        "meeting ended:",
        "Иван Образцов",
        created.as_str(),
        ended.as_str(),
        "MEETING_ENDED",
    ] {
        assert!(text.contains(expected), "{expected:?} not in:\n{text}");
    }
    assert!(!text.contains(ping.as_str()), "PING shapes no booking");
}

async fn unknown_ids_and_bad_values_fail_with_a_clear_message(db: TestDb) {
    let failures = [
        (
            vec!["events", "show", "nope"],
            1,
            "no delivery with id nope",
        ),
        (
            vec!["events", "replay", "nope"],
            1,
            "no delivery with id nope",
        ),
        (
            vec!["bookings", "show", "nope"],
            1,
            "no booking with uid nope",
        ),
        (
            vec!["events", "list", "--status", "bogus"],
            2,
            "quarantined",
        ),
        (
            vec!["bookings", "list", "--status", "bogus"],
            2,
            "rescheduled",
        ),
        (vec!["events", "list", "--limit", "0"], 2, "--limit"),
        (vec!["events", "replay"], 2, "required"),
        (
            vec!["events", "replay", "x", "--dead"],
            2,
            "cannot be used with",
        ),
        (
            vec!["events", "replay", "--since", "yesterday"],
            2,
            "RFC 3339",
        ),
    ];
    for (args, code, message) in failures {
        let run = bookme(&db, &args).await;
        assert_eq!(run.code, code, "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains(message), "{args:?}: {}", run.stderr);
        assert!(run.stdout.is_empty(), "{args:?} printed: {}", run.stdout);
    }
}

async fn short_commands_are_quiet_and_keep_logs_off_stdout(db: TestDb) {
    // `migrate` used to report at info; now the report is its output and
    // the quiet default filter keeps info lines off stderr too.
    let out = ok(&db, &["migrate"]).await;
    assert_eq!(out, format!("migrations applied ({} store)\n", db.kind));
    let report = json(&db, &["migrate", "--json"]).await;
    assert_eq!(
        report,
        serde_json::json!({ "store": db.kind, "migrated": true })
    );

    // RUST_LOG still turns logging up, and the logs stay on stderr.
    let args = ["events", "list", "--json"];
    let run = bookme_with(&db, &args, &[("RUST_LOG", "debug")]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("DEBUG"),
        "RUST_LOG=debug logged nothing"
    );
    assert_eq!(
        serde_json::from_str::<Value>(&run.stdout).unwrap(),
        serde_json::json!([])
    );
}

/// `--help` needs no database: clap answers before anything is opened.
#[test]
fn help_of_each_subcommand_mentions_its_options() {
    let cases: [(&[&str], &[&str]); 7] = [
        (
            &["events", "list"],
            &["--status", "--trigger", "--limit", "--json", "dead"],
        ),
        (&["events", "show"], &["<ID>", "--json"]),
        (
            &["events", "replay"],
            &["[ID]", "--dead", "--since", "24h", "--json"],
        ),
        (
            &["bookings", "list"],
            &["--upcoming", "--status", "--limit", "--json"],
        ),
        (&["bookings", "show"], &["<UID>", "--json"]),
        (&["events"], &["list", "show", "replay"]),
        (&["bookings"], &["list", "show"]),
    ];
    for (command, options) in cases {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_bookme"))
            .args(command)
            .arg("--help")
            .env_clear()
            .output()
            .unwrap();
        assert!(out.status.success(), "{command:?} --help failed");
        let help = String::from_utf8(out.stdout).unwrap();
        for option in options {
            assert!(
                help.contains(option),
                "{command:?} --help lacks {option}:\n{help}"
            );
        }
    }
}
