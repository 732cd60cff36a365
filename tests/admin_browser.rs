//! The admin dashboard in Debian's headless Chromium: sign in, open a
//! delivery, replay it, and keep screenshots of the overview, a delivery
//! page and the Russian bookings page in `target/screenshots/` (under
//! `CARGO_TARGET_DIR` when set).
//!
//! Without `chromium` and `chromedriver` the test prints `SKIP` and passes,
//! unless `CI` is set. All traffic stays on 127.0.0.1.

#[macro_use]
mod common;
mod pages_support;

use bookme::store::Status;
use common::{CREATED_UID, RESCHEDULED_UID, TestApp, TestDb, delivery, edit, spawn_app};
use fantoccini::Locator;
use pages_support::browser::{Browser, screenshot_dir};
use serde_json::json;
use time::{Duration, OffsetDateTime};

const TOKEN: &str = "browser-admin-token-0123456789";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_open_a_delivery_and_replay_it() {
    let vars = [
        ("BOOKME_ADMIN_TOKEN", TOKEN),
        ("BOOKME_MODE", "development"),
    ];
    let app = spawn_app(TestDb::sqlite(), &vars).await;
    let replayed = fill_with_a_month_of_bookings(&app).await;
    let Some(browser) = Browser::start().await else {
        return;
    };
    let dir = screenshot_dir();
    std::fs::create_dir_all(&dir).unwrap();
    browser.set_viewport(1280, 1180).await;

    browser.client.goto(&app.url("/admin")).await.unwrap();
    browser
        .wait_for("location.pathname === '/admin/login'")
        .await;
    let field = browser.client.find(Locator::Id("token")).await.unwrap();
    field.send_keys(TOKEN).await.unwrap();
    browser
        .client
        .find(Locator::Css("form button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser.wait_for("location.pathname === '/admin'").await;
    browser.wait_for("document.readyState === 'complete'").await;
    let bars = "document.querySelectorAll('svg.chart g.day').length";
    assert_eq!(browser.eval(bars).await, json!(30));
    save_screenshot(&browser, &dir.join("admin-overview.png")).await;

    let path = format!("/admin/deliveries/{replayed}");
    let link = format!("a[href='{path}']");
    browser
        .client
        .find(Locator::Css(&link))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser
        .wait_for(&format!("location.pathname === '{path}'"))
        .await;
    let status = "document.querySelector('[data-status]').dataset.status";
    assert_eq!(browser.eval(status).await, json!("processed"));
    save_screenshot(&browser, &dir.join("admin-delivery.png")).await;

    browser
        .client
        .find(Locator::Id("replay"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser
        .wait_for("document.querySelector('.flash') !== null")
        .await;
    assert_eq!(browser.eval(status).await, json!("pending"));
    assert_eq!(app.worker.drain().await.unwrap(), 1);
    browser.client.refresh().await.unwrap();
    browser.wait_for("document.readyState === 'complete'").await;
    assert_eq!(browser.eval(status).await, json!("processed"));
    let stored = app.store.get(&replayed).await.unwrap().unwrap();
    assert_eq!(
        (stored.status, stored.process_count),
        (Status::Processed, 2)
    );

    // The Russian bookings page, for a look at the longer labels.
    browser
        .client
        .goto(&app.url("/admin/bookings?lang=ru"))
        .await
        .unwrap();
    browser
        .wait_for("document.documentElement.lang === 'ru'")
        .await;
    let rows = "document.querySelectorAll('tr[data-booking]').length";
    assert!(browser.eval(rows).await.as_u64().unwrap() > 0);
    save_screenshot(&browser, &dir.join("admin-bookings-ru.png")).await;

    let blocked: Vec<_> = browser
        .severe_log_entries()
        .await
        .into_iter()
        .filter(|e| {
            e["message"]
                .as_str()
                .unwrap_or_default()
                .contains("Content Security")
        })
        .collect();
    assert!(blocked.is_empty(), "the CSP blocked something: {blocked:?}");
    browser.finish().await;
}

async fn save_screenshot(browser: &Browser, path: &std::path::Path) {
    let png = browser.client.screenshot().await.unwrap();
    assert!(png.starts_with(b"\x89PNG") && png.len() > 10_000);
    std::fs::write(path, png).unwrap();
    eprintln!("wrote {}", path.display());
}

/// Bookings created over the last 30 days, some cancelled, one delivery
/// dead: what a month of real traffic looks like, posted oldest first.
/// Returns the id of the newest delivery, which the test replays.
async fn fill_with_a_month_of_bookings(app: &TestApp) -> String {
    let mut moves = Vec::new();
    let mut n = 0usize;
    for days_ago in (0..30i64).rev() {
        for _ in 0..1 + (days_ago * 7 + 3) % 5 {
            n += 1;
            let uid = format!("demo{n:04}");
            let at = format!("2025-03-10T07:{:02}:{:02}.000Z", n / 60, n % 60);
            // Bookings made in the last week are for the weeks ahead.
            let start = OffsetDateTime::now_utc() + Duration::days(10 - days_ago + n as i64 % 4);
            let (start, end) = match days_ago < 7 {
                true => (
                    format!("{}T09:00:00Z", start.date()),
                    format!("{}T09:30:00Z", start.date()),
                ),
                false => ("2025-03-14T09:00:00Z".into(), "2025-03-14T09:30:00Z".into()),
            };
            let body = edit(
                &delivery("BOOKING_CREATED"),
                &[
                    (CREATED_UID, &uid),
                    ("2025-03-10T07:15:42.318Z", &at),
                    ("2025-03-14T09:00:00Z", &start),
                    ("2025-03-14T09:30:00Z", &end),
                ],
            );
            moves.push((post(app, &body).await, days_ago));
            if n % 3 == 1 {
                let body = edit(
                    &delivery("BOOKING_CANCELLED"),
                    &[(RESCHEDULED_UID, &uid), ("2025-03-13T08:44:19.066Z", &at)],
                );
                moves.push((post(app, &body).await, days_ago));
            }
        }
    }
    app.worker.drain().await.unwrap();
    let day = 86_400_000_000i64;
    for (id, days_ago) in &moves {
        let sql = format!(
            "UPDATE deliveries SET received_at = received_at - {} WHERE id = '{id}'",
            days_ago * day
        );
        app.db.execute(&sql).await;
    }
    let dead = &moves[moves.len() - 2].0;
    let sql = format!(
        "UPDATE deliveries SET status = 'dead', attempts = 10, \
         last_error = 'forwarding answered 502 Bad Gateway' WHERE id = '{dead}'"
    );
    app.db.execute(&sql).await;
    moves.last().expect("deliveries were posted").0.clone()
}

async fn post(app: &TestApp, body: &[u8]) -> String {
    let reply = app.post_signed(body).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    reply.json()["id"].as_str().unwrap().to_owned()
}
