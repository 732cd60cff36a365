//! Notifications through the real `bookme` binary: a SIGKILL while a send
//! is in flight, `bookme notify test`, and what reaches the logs.

#[macro_use]
mod common;

on_both_stores!(
    sigkill_mid_send_resends_only_the_send_that_was_in_flight,
    dead_letters_are_listed_and_resent_from_the_command_line,
);

use std::collections::HashMap;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use bookme::calcom::signature::sign;
use bookme::notify::{Dispatcher, DispatcherOptions, Outbox};
use bookme::store::NotifyStatus;
use common::standins::{Plan, StandIn};
use common::{TestDb, unique_booking};
use tokio::process::{Child, Command};

/// Canaries: if these bytes show up in a log, a secret leaked.
const TOKEN_SECRET: &str = "canary-bot-secret-5d1e";

fn bookme(db_url: &str, dir: &Path, env: &[(&str, String)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_bookme"));
    cmd.env_clear()
        .env("CAL_WEBHOOK_SECRET", "test-secret")
        .env("DATABASE_URL", db_url)
        .current_dir(dir)
        .kill_on_drop(true);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

/// Starts `bookme serve` on port 0 and returns it with the port it bound,
/// read from its log. Port 0 avoids racing other tests for a free port.
async fn serve(db: &TestDb, env: &[(&str, String)], log: &Path) -> (Child, u16) {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .unwrap();
    let seen = file.metadata().unwrap().len() as usize;
    let mut child = bookme(&db.url, db.dir.path(), env)
        .arg("serve")
        .env("PORT", "0")
        .stdout(Stdio::from(file.try_clone().unwrap()))
        .stderr(Stdio::from(file))
        .spawn()
        .expect("bookme starts");
    for _ in 0..400 {
        let text = std::fs::read(log).unwrap();
        let text = String::from_utf8_lossy(&text[seen.min(text.len())..]).into_owned();
        if let Some(port) = bound_port(&text) {
            return (child, port);
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("bookme exited at start ({status}):\n{text}");
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("bookme did not listen within 10 s");
}

fn bound_port(log: &str) -> Option<u16> {
    let at = log.find("listening on http://127.0.0.1:")? + "listening on http://127.0.0.1:".len();
    let digits: String = log[at..].chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

async fn post(port: u16, body: &[u8]) {
    let resp = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{port}/api/cal/webhook"))
        .header("content-type", "application/json")
        .header("x-cal-signature-256", sign(b"test-secret", body))
        .body(body.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
}

async fn terminate(mut child: Child) {
    let pid = child.id().unwrap().to_string();
    Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .await
        .unwrap();
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .expect("bookme stops after SIGTERM")
        .unwrap();
    assert!(status.success(), "{status}");
}

/// The booking uid a message or a forward is about.
fn uid_in_text(text: &str) -> String {
    let start = text.find("crash").expect("the message names the booking");
    text[start..start + 22].to_owned()
}

/// The Telegram stand-in holds its third request forever, so the kill
/// lands while bookme waits for Telegram's answer. That message did reach
/// Telegram, but bookme never learned it; Telegram has no idempotency key,
/// so after the restart it is sent again. That one resend is the whole
/// at-least-once window, and the test pins it down exactly: every other
/// event reaches Telegram once. Forwards carry a stable `webhook-id`, so a
/// receiver sees each event under one id however often it arrives.
async fn sigkill_mid_send_resends_only_the_send_that_was_in_flight(db: TestDb) {
    const EVENTS: usize = 5;
    let s = StandIn::start().await;
    s.plan_telegram([Plan::Status(200), Plan::Status(200), Plan::Hold]);
    let env = [s.telegram_env(), s.forward_env()].concat();
    let log = db.dir.path().join("bookme.log");
    let (mut first, port) = serve(&db, &env, &log).await;
    for n in 0..EVENTS {
        post(port, &unique_booking(n)).await;
    }
    s.wait_for_telegram(3).await;
    first.kill().await.unwrap(); // SIGKILL while the third send is in flight
    let held = uid_in_text(s.telegram()[2].body["text"].as_str().unwrap());

    let (second, _) = serve(&db, &env, &log).await;
    let store = db.store().await;
    wait_until_all_sent(&store, EVENTS * 2).await;
    terminate(second).await;

    let mut telegram: HashMap<String, Vec<Option<u16>>> = HashMap::new();
    for r in s.telegram() {
        let uid = uid_in_text(r.body["text"].as_str().unwrap());
        telegram.entry(uid).or_default().push(r.answered);
    }
    assert_eq!(telegram.len(), EVENTS, "{telegram:?}");
    for (uid, answers) in &telegram {
        if *uid == held {
            assert_eq!(
                answers,
                &[None, Some(200)],
                "the in-flight send, resent once"
            );
        } else {
            assert_eq!(answers, &[Some(200)], "{uid}: exactly once");
        }
    }
    let mut forward: HashMap<String, Vec<String>> = HashMap::new();
    for r in s.forward() {
        assert!(r.verified);
        let uid = r.body["data"]["booking"]["uid"]
            .as_str()
            .unwrap()
            .to_owned();
        forward.entry(uid).or_default().push(r.webhook_id);
    }
    assert_eq!(forward.len(), EVENTS);
    for (uid, ids) in &forward {
        assert!(
            ids.iter().all(|id| *id == ids[0]),
            "{uid}: one webhook-id: {ids:?}"
        );
    }
    let resent_forwards = s.forward().len() - EVENTS;
    eprintln!(
        "notify crash test ({}): 1 Telegram send in flight at SIGKILL was resent; \
         {resent_forwards} forward(s) resent under the same webhook-id",
        db.kind
    );
}

async fn wait_until_all_sent(store: &bookme::store::Store, expected: usize) {
    for _ in 0..600 {
        let sent = store
            .notifications_with(NotifyStatus::Sent, 100)
            .await
            .unwrap();
        if sent.len() == expected {
            assert!(sent.iter().all(|r| r.send_count == 1), "{sent:#?}");
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("notifications still unsent 30 s after the restart");
}

#[tokio::test]
async fn notify_test_sends_to_each_destination_and_prints_the_outcome() {
    let s = StandIn::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut env = [s.telegram_env(), s.forward_env()].concat();
    env.push(("BOOKME_OWNER_LOCALE", "ru".into()));
    let out = bookme("sqlite://unused.db", dir.path(), &env)
        .args(["notify", "test"])
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("telegram (telegram): sent"), "{stdout}");
    assert!(stdout.contains("forward (forward): sent"), "{stdout}");
    let text = s.telegram()[0].body["text"].as_str().unwrap().to_owned();
    assert!(text.contains("Проверка bookme"), "{text}");
    assert_eq!(s.forward()[0].body["type"], "bookme.test");
    assert!(s.forward()[0].verified);

    s.telegram_always(Some(500));
    let out = bookme("sqlite://unused.db", dir.path(), &env)
        .args(["notify", "test", "telegram"])
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success());
    assert!(
        stdout.contains("telegram (telegram): failed: Telegram answered 500"),
        "{stdout}"
    );
    assert_eq!(s.forward().len(), 1, "only the named destination");
}

#[tokio::test]
async fn no_log_line_holds_the_bot_token_or_forward_secret_even_at_trace() {
    let s = StandIn::start().await;
    s.plan_telegram([Plan::Status(500)]);
    let db = TestDb::sqlite();
    let mut env = [s.telegram_env(), s.forward_env()].concat();
    env[0].1 = format!("123456:{TOKEN_SECRET}");
    env.push(("RUST_LOG", "trace".into()));
    let log = db.dir.path().join("bookme.log");
    let (child, port) = serve(&db, &env, &log).await;
    post(port, &unique_booking(7)).await;
    let store = db.store().await;
    wait_until_all_sent(&store, 2).await;
    terminate(child).await;
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains("notification sent"),
        "the run logged nothing useful"
    );
    assert!(text.contains("TRACE"), "the run did not log at trace");
    assert!(
        text.contains("Telegram answered 500"),
        "the failure was logged"
    );
    assert_eq!(
        s.telegram_delivered()[0].token,
        format!("123456:{TOKEN_SECRET}")
    );
    assert!(
        !text.contains(TOKEN_SECRET),
        "the bot token reached the log"
    );
    let forward_key = common::standins::FORWARD_SECRET.trim_start_matches("whsec_");
    assert!(
        !text.contains(forward_key),
        "the forward secret reached the log"
    );
}

/// A dead letter made in-process, then found and resent with the CLI.
async fn dead_letters_are_listed_and_resent_from_the_command_line(db: TestDb) {
    let s = StandIn::start().await;
    s.telegram_always(Some(500));
    let url = db.url.clone();
    let mut env = s.telegram_env();
    env.push(("BOOKME_NOTIFY_GIVE_UP", "0s".into()));
    let vars: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let app = common::spawn_app(db, &vars).await;
    let reply = app.post_signed(&unique_booking(3)).await;
    let id = reply.json()["id"].as_str().unwrap().to_owned();
    app.worker.drain().await.unwrap();
    let config = common::test_config(&url, &vars);
    let dispatcher = app_dispatcher(&app, &config);
    dispatcher.drain().await.unwrap();

    let out = bookme(&url, app.db.dir.path(), &env)
        .args(["notify", "list"])
        .output()
        .await
        .unwrap();
    let listed = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{listed}");
    assert!(
        listed.contains(&format!("{id} telegram BOOKING_CREATED dead")),
        "{listed}"
    );
    assert!(listed.contains("Telegram answered 500"), "{listed}");

    s.telegram_always(None);
    let out = bookme(&url, app.db.dir.path(), &env)
        .args(["notify", "resend", &id])
        .output()
        .await
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success() && said.contains("1 notification(s) queued"),
        "{said}"
    );
    dispatcher.drain().await.unwrap();
    assert_eq!(s.telegram_delivered().len(), 1);

    let out = bookme(&url, app.db.dir.path(), &env)
        .args(["notify", "resend", &id])
        .output()
        .await
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(said.contains("0 notification(s) queued"), "{said}");
    assert!(said.contains("--force"), "{said}");
}

fn app_dispatcher(app: &common::TestApp, config: &bookme::config::Config) -> Dispatcher {
    let options = DispatcherOptions::from_config(&config.notify);
    let outbox = Outbox::from_config(&config.notify);
    Dispatcher::new(app.store.clone(), config.notify.clone(), outbox, options)
}
