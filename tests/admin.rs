//! The admin dashboard over HTTP, on both stores: it exists only with a
//! token, it needs a login, every POST needs its CSRF token, and what it
//! shows and replays is what the store holds.

#[macro_use]
mod common;

use std::collections::HashSet;

use bookme::store::Status;
use common::{
    CREATED_UID, RESCHEDULED_UID, TestApp, TestDb, delivery, edit, spawn_app, unique_booking,
};
use time::{Duration, OffsetDateTime};

const TOKEN: &str = "admin-token-for-tests-0123456789";

on_both_stores!(
    admin_is_the_sites_404_when_no_token_is_set,
    pages_require_a_login,
    a_wrong_token_is_refused,
    failed_logins_are_limited_per_address,
    the_session_cookie_is_http_only_strict_and_secure,
    posts_without_the_csrf_token_are_refused,
    replay_from_a_delivery_page_requeues_and_processes_it,
    dead_letters_are_replayed_in_bulk,
    delivery_pages_list_every_row_exactly_once,
    the_chart_reflects_the_ledger,
    bookings_are_split_into_views_with_their_chains,
    booking_pages_list_every_booking_exactly_once,
    the_language_switch_renders_russian,
    admin_pages_send_strict_security_headers,
    logging_out_ends_the_session_in_the_browser,
);

async fn admin_is_the_sites_404_when_no_token_is_set(db: TestDb) {
    let app = spawn_app(db, &[]).await;
    let reference = app.get("/no-such-page").await;
    assert_eq!(reference.status, 404);
    for path in ["/admin", "/admin/login", "/admin/deliveries", "/admin/dead"] {
        let reply = app.get(path).await;
        assert_eq!(reply.status, 404, "{path}");
        assert_eq!(reply.body, reference.body, "{path}");
    }
    let post = app.post("/admin/login", b"token=x", &[]).await;
    assert_eq!((post.status, &post.body), (404, &reference.body));
}

async fn pages_require_a_login(db: TestDb) {
    let app = spawn_admin(db).await;
    for path in [
        "/admin",
        "/admin/deliveries",
        "/admin/bookings",
        "/admin/dead",
    ] {
        let reply = app.get(path).await;
        assert_eq!(reply.status, 303, "{path}");
        assert_eq!(location(&reply), "/admin/login", "{path}");
    }
    let post = app.post("/admin/dead/replay", b"csrf=x", &[]).await;
    assert_eq!(post.status, 403);
    // With a token set, unknown admin paths are still the site's 404.
    assert_eq!(app.get("/admin/nothing-here").await.status, 404);
}

async fn a_wrong_token_is_refused(db: TestDb) {
    let app = spawn_admin(db).await;
    let client = cookie_client();
    let reply = submit_login(&app, &client, "not-the-token").await;
    assert_eq!(reply.status().as_u16(), 401);
    let cookies = set_cookies(reply.headers());
    assert!(
        !cookies.iter().any(|c| c.starts_with("bookme_admin=")),
        "{cookies:?}"
    );
    assert!(
        reply
            .text()
            .await
            .unwrap()
            .contains("That token is not right.")
    );
    let overview = client.get(app.url("/admin")).send().await.unwrap();
    assert_eq!(overview.status().as_u16(), 303);
    // The right token's prefix or the token with a suffix are wrong too.
    for near in [&TOKEN[..TOKEN.len() - 1], &format!("{TOKEN}x")] {
        let reply = submit_login(&app, &client, near).await;
        assert_eq!(reply.status().as_u16(), 401);
    }
}

async fn failed_logins_are_limited_per_address(db: TestDb) {
    let app = spawn_admin(db).await;
    let client = cookie_client();
    for _ in 0..5 {
        let reply = submit_login(&app, &client, "guess").await;
        assert_eq!(reply.status().as_u16(), 401);
    }
    let reply = submit_login(&app, &client, "guess").await;
    assert_eq!(reply.status().as_u16(), 429);
    let retry: u64 = reply.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=900).contains(&retry), "{retry}");
    // While limited, even the right token is not tried.
    let reply = submit_login(&app, &client, TOKEN).await;
    assert_eq!(reply.status().as_u16(), 429);
}

async fn the_session_cookie_is_http_only_strict_and_secure(db: TestDb) {
    // Production mode: the cookie must be Secure (the test client only
    // reads the header, it does not need to send it back).
    let app = spawn_app(db, &[("BOOKME_ADMIN_TOKEN", TOKEN)]).await;
    let client = cookie_client();
    let reply = submit_login(&app, &client, TOKEN).await;
    assert_eq!(reply.status().as_u16(), 303);
    let cookies = set_cookies(reply.headers());
    let session = cookies
        .iter()
        .find(|c| c.starts_with("bookme_admin="))
        .expect("a session cookie");
    for attribute in [
        "HttpOnly",
        "SameSite=Strict",
        "Secure",
        "Path=/admin",
        "Max-Age=43200",
    ] {
        assert!(session.contains(attribute), "{attribute} in {session}");
    }
}

async fn posts_without_the_csrf_token_are_refused(db: TestDb) {
    let app = spawn_admin(db).await;
    let client = login(&app).await;
    let id = post_and_process(&app, &unique_booking(1)).await;
    let path = format!("/admin/deliveries/{id}/replay");
    let no_token = client.post(app.url(&path)).form(&[("x", "1")]);
    assert_eq!(no_token.send().await.unwrap().status().as_u16(), 403);
    let wrong = client.post(app.url(&path)).form(&[("csrf", "00ff")]);
    assert_eq!(wrong.send().await.unwrap().status().as_u16(), 403);
    // Another session's token does not fit this one.
    let other = login(&app).await;
    let other_token = csrf_of(&page(&other, &app, "/admin").await);
    let foreign = client
        .post(app.url(&path))
        .form(&[("csrf", other_token.as_str())]);
    assert_eq!(foreign.send().await.unwrap().status().as_u16(), 403);
    let bulk = client
        .post(app.url("/admin/dead/replay"))
        .form(&[("csrf", "")]);
    assert_eq!(bulk.send().await.unwrap().status().as_u16(), 403);
    let stored = app.store.get(&id).await.unwrap().unwrap();
    assert_eq!(
        (stored.status, stored.process_count),
        (Status::Processed, 1)
    );
    // A right token from another site is refused by the Origin check.
    let token = csrf_of(&page(&client, &app, "/admin").await);
    let cross = client
        .post(app.url(&path))
        .header("origin", "https://evil.example")
        .form(&[("csrf", token.as_str())]);
    assert_eq!(cross.send().await.unwrap().status().as_u16(), 403);
    // The login form has its own token.
    let login = client
        .post(app.url("/admin/login"))
        .form(&[("token", TOKEN)]);
    assert_eq!(login.send().await.unwrap().status().as_u16(), 403);
}

async fn replay_from_a_delivery_page_requeues_and_processes_it(db: TestDb) {
    let app = spawn_admin(db).await;
    let client = login(&app).await;
    let id = post_and_process(&app, &unique_booking(2)).await;
    let detail = page(&client, &app, &format!("/admin/deliveries/{id}")).await;
    assert!(detail.contains("BOOKING_CREATED"));
    assert!(detail.contains("triggerEvent"));
    assert!(detail.contains("data-status=\"processed\""));
    let replay = client
        .post(app.url(&format!("/admin/deliveries/{id}/replay")))
        .form(&[("csrf", csrf_of(&detail).as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status().as_u16(), 303);
    let back = replay.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(back, format!("/admin/deliveries/{id}?flash=replayed"));
    let stored = app.store.get(&id).await.unwrap().unwrap();
    assert_eq!(stored.status, Status::Pending);
    let landing = page(&client, &app, &back).await;
    assert!(landing.contains("queued again"));
    assert_eq!(app.worker.drain().await.unwrap(), 1);
    let stored = app.store.get(&id).await.unwrap().unwrap();
    assert_eq!(
        (stored.status, stored.process_count),
        (Status::Processed, 2)
    );
    // Replaying an id that does not exist is a 404, not a silent success.
    let token = csrf_of(&landing);
    let missing = client
        .post(app.url("/admin/deliveries/no-such-id/replay"))
        .form(&[("csrf", token.as_str())]);
    assert_eq!(missing.send().await.unwrap().status().as_u16(), 404);
}

async fn dead_letters_are_replayed_in_bulk(db: TestDb) {
    let app = spawn_admin(db).await;
    let client = login(&app).await;
    let dead_a = post_and_process(&app, &unique_booking(3)).await;
    let dead_b = post_and_process(&app, &unique_booking(4)).await;
    let alive = post_and_process(&app, &unique_booking(5)).await;
    app.db
        .execute(&format!(
            "UPDATE deliveries SET status = 'dead', attempts = 10, \
             last_error = 'forwarding refused: 502' WHERE id IN ('{dead_a}', '{dead_b}')"
        ))
        .await;
    let dead = page(&client, &app, "/admin/dead").await;
    assert_eq!(
        ids_on(&dead),
        HashSet::from([dead_a.clone(), dead_b.clone()])
    );
    assert!(dead.contains("forwarding refused: 502"));
    let replay = client
        .post(app.url("/admin/dead/replay"))
        .form(&[("csrf", csrf_of(&dead).as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status().as_u16(), 303);
    let back = replay.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(back, "/admin/dead?flash=replayed-dead&count=2");
    assert!(
        page(&client, &app, &back)
            .await
            .contains("Replayed 2 dead deliveries.")
    );
    for id in [&dead_a, &dead_b] {
        assert_eq!(
            app.store.get(id).await.unwrap().unwrap().status,
            Status::Pending
        );
    }
    assert_eq!(app.worker.drain().await.unwrap(), 2);
    assert!(ids_on(&page(&client, &app, "/admin/dead").await).is_empty());
    let untouched = app.store.get(&alive).await.unwrap().unwrap();
    assert_eq!(untouched.process_count, 1);
}

async fn delivery_pages_list_every_row_exactly_once(db: TestDb) {
    let app = spawn_admin(db).await;
    let client = login(&app).await;
    let mut posted = HashSet::new();
    for n in 0..23 {
        let reply = app.post_signed(&unique_booking(100 + n)).await;
        posted.insert(reply.json()["id"].as_str().unwrap().to_owned());
    }
    let mut seen = Vec::new();
    let mut next = Some("/admin/deliveries?limit=5".to_owned());
    let mut pages = 0;
    while let Some(path) = next {
        let html = page(&client, &app, &path).await;
        let ids = ids_in_order(&html);
        assert!(ids.len() <= 5, "{path}");
        seen.extend(ids);
        next = next_link(&html);
        pages += 1;
        assert!(pages <= 10, "the pager does not end");
    }
    assert_eq!(pages, 5);
    assert_eq!(seen.len(), 23);
    assert_eq!(seen.iter().cloned().collect::<HashSet<_>>(), posted);
    // Filters apply on every page: nothing is processed yet.
    let processed = page(&client, &app, "/admin/deliveries?status=processed").await;
    assert!(ids_in_order(&processed).is_empty());
    let pending = page(&client, &app, "/admin/deliveries?status=pending&limit=200").await;
    assert_eq!(ids_in_order(&pending).len(), 23);
}

async fn the_chart_reflects_the_ledger(db: TestDb) {
    let app = spawn_admin(db).await;
    let client = login(&app).await;
    for (n, uid) in ["chartA", "chartB", "chartC"].iter().enumerate() {
        app.post_signed(&created(uid, n)).await;
    }
    // A second BOOKING_CREATED for the same booking counts once.
    app.post_signed(&created("chartA", 9)).await;
    app.post_signed(&cancelled("chartB", 1)).await;
    let old: Vec<String> = ["chartOld1", "chartOld2"]
        .iter()
        .enumerate()
        .map(|(n, uid)| created(uid, 20 + n))
        .map(|body| String::from_utf8(body).unwrap())
        .collect();
    let mut old_ids = Vec::new();
    for body in &old {
        old_ids.push(
            app.post_signed(body.as_bytes()).await.json()["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    app.worker.drain().await.unwrap();
    let three_days = Duration::days(3).whole_microseconds() as i64;
    app.db
        .execute(&format!(
            "UPDATE deliveries SET received_at = received_at - {three_days} \
             WHERE id IN ('{}', '{}')",
            old_ids[0], old_ids[1]
        ))
        .await;
    let today = OffsetDateTime::now_utc().date();
    let html = page(&client, &app, "/admin").await;
    let days = chart_days(&html);
    assert_eq!(days.len(), 30);
    assert_eq!(days.last().unwrap().0, today.to_string());
    for (day, created, cancelled) in &days {
        let expected = if *day == today.to_string() {
            (3, 1)
        } else if *day == (today - Duration::days(3)).to_string() {
            (2, 0)
        } else {
            (0, 0)
        };
        assert_eq!((*created, *cancelled), expected, "{day}");
    }
    assert!(html.contains("<svg class=\"chart\""));
    assert!(html.contains("<title id=\"chart-title\">Bookings per day, last 30 days</title>"));
}

async fn bookings_are_split_into_views_with_their_chains(db: TestDb) {
    let app = spawn_admin(db).await;
    let client = login(&app).await;
    let future = edit(
        &created("soonUid", 1),
        &[("2025-03-14T09:00:00Z", "2099-01-02T10:00:00Z")],
    );
    app.post_signed(&future).await;
    app.post_signed(&created("pastUid", 2)).await;
    let create = app.post_signed(&created("goneUid", 3)).await.json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let cancel = app.post_signed(&cancelled("goneUid", 4)).await.json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.worker.drain().await.unwrap();
    let view = |name: &'static str| {
        let client = client.clone();
        let url = app.url(&format!("/admin/bookings?view={name}"));
        async move { client.get(url).send().await.unwrap().text().await.unwrap() }
    };
    assert_eq!(bookings_on(&view("upcoming").await), vec!["soonUid"]);
    assert_eq!(bookings_on(&view("past").await), vec!["pastUid"]);
    let gone = view("cancelled").await;
    assert_eq!(bookings_on(&gone), vec!["goneUid"]);
    assert!(gone.contains(&format!("/admin/deliveries/{create}")));
    assert!(gone.contains(&format!("/admin/deliveries/{cancel}")));
    let detail = page(&client, &app, "/admin/bookings/goneUid").await;
    assert!(detail.contains("BOOKING_CANCELLED") && detail.contains("BOOKING_CREATED"));
    let missing = client
        .get(app.url("/admin/bookings/nobody"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status().as_u16(), 404);
}

async fn booking_pages_list_every_booking_exactly_once(db: TestDb) {
    let app = spawn_admin(db).await;
    let client = login(&app).await;
    let mut posted = Vec::new();
    for n in 0..11 {
        // Pairs share a start time, so the uid must break the tie.
        let start = format!("2025-03-{:02}T09:00:00Z", 1 + n / 2);
        let uid = format!("paged{n:02}");
        let body = edit(&created(&uid, n), &[("2025-03-14T09:00:00Z", &start)]);
        app.post_signed(&body).await;
        posted.push(uid);
    }
    app.worker.drain().await.unwrap();
    let mut seen = Vec::new();
    let mut next = Some("/admin/bookings?view=past&limit=3".to_owned());
    while let Some(path) = next {
        let html = page(&client, &app, &path).await;
        seen.extend(bookings_on(&html));
        next = next_link(&html);
        assert!(seen.len() <= posted.len(), "the pager repeats rows");
    }
    // Latest start first, so the reverse of the order they were posted in.
    posted.reverse();
    assert_eq!(seen, posted);
}

async fn the_language_switch_renders_russian(db: TestDb) {
    let app = spawn_admin(db).await;
    let client = login(&app).await;
    let english = page(&client, &app, "/admin").await;
    assert!(english.contains("<html lang=\"en\">") && english.contains("Overview"));
    assert!(english.contains("href=\"/admin?lang=ru\""));
    let russian = page(&client, &app, "/admin?lang=ru").await;
    assert!(russian.contains("<html lang=\"ru\">"));
    assert!(russian.contains("Обзор") && russian.contains("Бронирования по дням"));
    // The choice is remembered for the next page.
    let next = page(&client, &app, "/admin/deliveries").await;
    assert!(next.contains("<html lang=\"ru\">") && next.contains("Доставки"));
    // Without a choice the browser's language decides, on the login form too.
    let form = reqwest::Client::new()
        .get(app.url("/admin/login"))
        .header("accept-language", "ru-RU,ru;q=0.9")
        .send()
        .await
        .unwrap();
    assert!(form.text().await.unwrap().contains("Токен администратора"));
}

async fn admin_pages_send_strict_security_headers(db: TestDb) {
    let app = spawn_admin(db).await;
    let client = login(&app).await;
    for path in ["/admin/login", "/admin"] {
        let reply = client.get(app.url(path)).send().await.unwrap();
        let h = reply.headers();
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"));
        assert!(
            !csp.contains("script-src") && !csp.contains("http"),
            "{csp}"
        );
        assert_eq!(h["x-frame-options"], "DENY");
        assert_eq!(h["cache-control"], "no-store");
        assert_eq!(h["referrer-policy"], "no-referrer");
        let html = reply.text().await.unwrap();
        assert!(!html.contains("<script"), "{path} has a script");
    }
}

async fn logging_out_ends_the_session_in_the_browser(db: TestDb) {
    let app = spawn_admin(db).await;
    let client = login(&app).await;
    let token = csrf_of(&page(&client, &app, "/admin").await);
    let out = client
        .post(app.url("/admin/logout"))
        .form(&[("csrf", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(out.status().as_u16(), 303);
    let after = client.get(app.url("/admin")).send().await.unwrap();
    assert_eq!(after.status().as_u16(), 303);
}

// ---------------------------------------------------------------- helpers

async fn spawn_admin(db: TestDb) -> TestApp {
    // Development mode: the session cookie is not Secure, so the test
    // client sends it back over plain HTTP.
    spawn_app(
        db,
        &[
            ("BOOKME_ADMIN_TOKEN", TOKEN),
            ("BOOKME_MODE", "development"),
        ],
    )
    .await
}

/// A client that keeps cookies, as a browser does, and follows no redirects.
fn cookie_client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Loads the login form, then submits `token` with the form's CSRF token.
async fn submit_login(app: &TestApp, client: &reqwest::Client, token: &str) -> reqwest::Response {
    let form = client.get(app.url("/admin/login")).send().await.unwrap();
    assert_eq!(form.status().as_u16(), 200);
    let csrf = csrf_of(&form.text().await.unwrap());
    client
        .post(app.url("/admin/login"))
        .form(&[("token", token), ("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap()
}

/// A client with a fresh session.
async fn login(app: &TestApp) -> reqwest::Client {
    let client = cookie_client();
    let reply = submit_login(app, &client, TOKEN).await;
    assert_eq!(reply.status().as_u16(), 303);
    assert_eq!(reply.headers()["location"], "/admin");
    client
}

/// A page that must answer 200.
async fn page(client: &reqwest::Client, app: &TestApp, path: &str) -> String {
    let reply = client.get(app.url(path)).send().await.unwrap();
    assert_eq!(reply.status().as_u16(), 200, "{path}");
    reply.text().await.unwrap()
}

async fn post_and_process(app: &TestApp, body: &[u8]) -> String {
    let reply = app.post_signed(body).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    app.worker.drain().await.unwrap();
    reply.json()["id"].as_str().unwrap().to_owned()
}

fn created(uid: &str, n: usize) -> Vec<u8> {
    edit(
        &delivery("BOOKING_CREATED"),
        &[
            (CREATED_UID, uid),
            (
                "2025-03-10T07:15:42.318Z",
                &format!("2025-03-10T07:15:{n:02}.000Z"),
            ),
        ],
    )
}

fn cancelled(uid: &str, n: usize) -> Vec<u8> {
    edit(
        &delivery("BOOKING_CANCELLED"),
        &[
            (RESCHEDULED_UID, uid),
            (
                "2025-03-13T08:44:19.066Z",
                &format!("2025-03-13T08:44:{n:02}.000Z"),
            ),
        ],
    )
}

fn csrf_of(html: &str) -> String {
    attribute_values(html, "name=\"csrf\" value=\"")
        .into_iter()
        .next()
        .expect("a CSRF field")
}

fn ids_in_order(html: &str) -> Vec<String> {
    attribute_values(html, "data-delivery=\"")
}

fn ids_on(html: &str) -> HashSet<String> {
    ids_in_order(html).into_iter().collect()
}

fn bookings_on(html: &str) -> Vec<String> {
    attribute_values(html, "data-booking=\"")
}

fn next_link(html: &str) -> Option<String> {
    attribute_values(html, "rel=\"next\" href=\"")
        .into_iter()
        .next()
        .map(|href| href.replace("&amp;", "&").replace("&#38;", "&"))
}

/// `(day, created, cancelled)` for each day group of the chart.
fn chart_days(html: &str) -> Vec<(String, i64, i64)> {
    html.split("<g class=\"day\" ")
        .skip(1)
        .map(|group| {
            let value = |name: &str| attribute_values(group, &format!("{name}=\"")).remove(0);
            let number = |name: &str| value(name).parse::<i64>().unwrap();
            (
                value("data-day"),
                number("data-created"),
                number("data-cancelled"),
            )
        })
        .collect()
}

/// Every value that follows `prefix` up to the next quote.
fn attribute_values(html: &str, prefix: &str) -> Vec<String> {
    html.split(prefix)
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap().to_owned())
        .collect()
}

fn location(reply: &common::Reply) -> String {
    reply.headers["location"].to_str().unwrap().to_owned()
}

fn set_cookies(headers: &reqwest::header::HeaderMap) -> Vec<String> {
    headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}
