//! The dashboard's pages and actions. Handlers read the store, turn rows
//! into plain view models and render an askama template from
//! `templates/admin/`; templates never touch the store.

use std::net::SocketAddr;
use std::time::Instant;

use askama::Template;
use axum::Extension;
use axum::Form;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Redirect, Response};
use fluent_bundle::FluentArgs;
use serde::Deserialize;
use time::OffsetDateTime;

use super::chart::{self, ChartTexts};
use super::{
    Admin, LOGIN_COOKIE, Lang, SESSION_COOKIE, Session, cookie_value, html_page, same_origin,
    unix_now,
};
use crate::ledger::Booking;
use crate::pages::i18n::Translations;
use crate::pages::{Locale, RenderError};
use crate::store::{
    AdminCounts, BookingCursor, BookingView, DeliveryPage, DeliverySummary, Replay, Status,
    StoreError, StoredDelivery,
};

/// Rows per page unless `?limit=` asks otherwise.
const PAGE_SIZE: i64 = 50;
const MAX_PAGE_SIZE: i64 = 200;

/// Days in the overview's chart.
const CHART_DAYS: u16 = 30;

/// Triggers offered by the deliveries filter.
const TRIGGERS: [&str; 11] = [
    "BOOKING_CREATED",
    "BOOKING_RESCHEDULED",
    "BOOKING_CANCELLED",
    "BOOKING_REQUESTED",
    "BOOKING_REJECTED",
    "BOOKING_PAID",
    "BOOKING_PAYMENT_INITIATED",
    "BOOKING_NO_SHOW_UPDATED",
    "MEETING_STARTED",
    "MEETING_ENDED",
    "PING",
];

/// Translated text for templates: `{{ t.get("id") }}`.
pub struct Texts<'a> {
    texts: &'a Translations,
    locale: Locale,
}

impl Texts<'_> {
    /// A message; a missing one shows its id (the unit tests prevent that).
    pub fn get(&self, id: &str) -> String {
        self.with(id, None)
    }

    /// A message with a `$count` argument, for plural forms.
    pub fn count(&self, id: &str, count: impl std::borrow::Borrow<i64>) -> String {
        let mut args = FluentArgs::new();
        args.set("count", *count.borrow());
        self.with(id, Some(&args))
    }

    fn with(&self, id: &str, args: Option<&FluentArgs<'_>>) -> String {
        self.texts.text(self.locale, id, args).unwrap_or_else(|e| {
            tracing::warn!(error = %e, "admin text missing");
            id.to_owned()
        })
    }
}

/// What every page's frame shows.
pub struct Layout<'a> {
    pub lang: &'static str,
    pub t: Texts<'a>,
    pub section: &'static str,
    pub css_href: &'a str,
    pub csrf: String,
    pub switch_href: String,
    pub switch_label: String,
    pub flash: Option<String>,
}

impl Admin {
    fn layout(&self, lang: Lang, section: &'static str, uri: &Uri, csrf: String) -> Layout<'_> {
        let t = Texts {
            texts: &self.inner.texts,
            locale: lang.locale,
        };
        let other = lang.locale.other();
        let flash = flash_text(&t, uri);
        Layout {
            lang: lang.locale.as_str(),
            switch_label: Texts {
                texts: &self.inner.texts,
                locale: other,
            }
            .get("language-name"),
            t,
            section,
            css_href: &self.inner.css_href,
            csrf,
            switch_href: format!("{}?lang={}", uri.path(), other.as_str()),
            flash,
        }
    }
}

/// Flash messages come as a fixed key (and a number) in the query after a
/// redirect, so nothing a link carries is ever shown as text.
fn flash_text(t: &Texts<'_>, uri: &Uri) -> Option<String> {
    let query = uri.query().unwrap_or_default().as_bytes();
    let key = super::form_field(query, "flash")?;
    let count = super::form_field(query, "count").and_then(|c| c.parse::<i64>().ok());
    match key.as_str() {
        "replayed" => Some(t.get("flash-replayed")),
        "replayed-dead" => Some(t.count("flash-replayed-dead", count.unwrap_or(0))),
        _ => None,
    }
}

/// A store failure on a page: 503, with the cause in the log only.
pub struct Unavailable(StoreError);

impl From<StoreError> for Unavailable {
    fn from(e: StoreError) -> Self {
        Self(e)
    }
}

impl IntoResponse for Unavailable {
    fn into_response(self) -> Response {
        tracing::error!(error = %self.0, "the admin dashboard could not use the store");
        let text = "the store is unavailable\n";
        (StatusCode::SERVICE_UNAVAILABLE, text).into_response()
    }
}

/// What a handler that uses the store returns.
type Page = Result<Response, Unavailable>;

impl Admin {
    /// A 200 page with the page headers.
    fn render(&self, lang: Lang, page: &impl Template) -> Response {
        html_page(
            self,
            lang,
            StatusCode::OK,
            page.render().map_err(Into::into),
        )
    }
}

// ---------------------------------------------------------------- login

#[derive(Template)]
#[template(path = "admin/login.html")]
struct LoginPage<'a> {
    layout: Layout<'a>,
    error: Option<String>,
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    csrf: String,
}

/// `GET /admin/login`: the form, with a fresh login cookie and its token.
/// Someone already signed in goes straight to the overview.
pub async fn login_form(
    State(admin): State<Admin>,
    lang: Lang,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let session = cookie_value(&headers, SESSION_COOKIE);
    if session.is_some_and(|s| admin.keys().verify_session(s, unix_now()).is_some()) {
        return Redirect::to("/admin").into_response();
    }
    render_login(&admin, lang, &uri, StatusCode::OK, None)
}

fn render_login(
    admin: &Admin,
    lang: Lang,
    uri: &Uri,
    status: StatusCode,
    error: Option<&str>,
) -> Response {
    let nonce = admin.keys().new_login_nonce(unix_now());
    let csrf = admin.keys().login_csrf_token(&nonce);
    let layout = admin.layout(lang, "login", uri, csrf);
    let error = error.map(|id| layout.t.get(id));
    let page = LoginPage { layout, error }.render();
    let mut response = html_page(admin, lang, status, page.map_err(RenderError::from));
    let max_age = super::auth::LOGIN_FORM_LIFETIME.as_secs();
    let cookie = admin.cookie(LOGIN_COOKIE, &nonce, max_age);
    response.headers_mut().append(header::SET_COOKIE, cookie);
    response
}

/// `POST /admin/login`: limit, CSRF, then the token. A wrong token counts
/// against the client's address; enough of them answer 429 for a while.
pub async fn login(
    State(admin): State<Admin>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    lang: Lang,
    uri: Uri,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let now = Instant::now();
    if let Some(wait) = admin.inner.failures.blocked_for(peer.ip(), now) {
        return too_many_attempts(wait.as_secs().max(1));
    }
    let login_cookie = cookie_value(&headers, LOGIN_COOKIE).unwrap_or_default();
    let csrf_ok = admin
        .keys()
        .login_csrf_matches(login_cookie, &form.csrf, unix_now());
    if !csrf_ok || !same_origin(&headers) {
        tracing::warn!("admin login without a valid form token refused");
        return render_login(
            &admin,
            lang,
            &uri,
            StatusCode::FORBIDDEN,
            Some("login-expired"),
        );
    }
    if !admin.keys().token_matches(&form.token) {
        admin.inner.failures.record(peer.ip(), now);
        tracing::warn!(peer = %peer.ip(), "admin login with a wrong token");
        let status = StatusCode::UNAUTHORIZED;
        return render_login(&admin, lang, &uri, status, Some("login-wrong-token"));
    }
    admin.inner.failures.clear(peer.ip());
    tracing::info!("admin signed in");
    let session = admin.keys().new_session(unix_now());
    let lifetime = super::auth::SESSION_LIFETIME.as_secs();
    let mut response = Redirect::to("/admin").into_response();
    let cookies = response.headers_mut();
    cookies.append(
        header::SET_COOKIE,
        admin.cookie(SESSION_COOKIE, &session, lifetime),
    );
    cookies.append(header::SET_COOKIE, admin.cookie(LOGIN_COOKIE, "", 0));
    response
}

fn too_many_attempts(retry_after: u64) -> Response {
    let mut response = (
        StatusCode::TOO_MANY_REQUESTS,
        "too many failed logins; try again later\n",
    )
        .into_response();
    let value = HeaderValue::from(retry_after);
    response.headers_mut().insert(header::RETRY_AFTER, value);
    response
}

/// `POST /admin/logout`: forgets the cookie in this browser. The session
/// itself stays valid until it expires; rotating the token ends them all.
pub async fn logout(State(admin): State<Admin>) -> Response {
    let mut response = Redirect::to("/admin/login").into_response();
    let cookie = admin.cookie(SESSION_COOKIE, "", 0);
    response.headers_mut().append(header::SET_COOKIE, cookie);
    response
}

// ---------------------------------------------------------------- overview

#[derive(Template)]
#[template(path = "admin/overview.html")]
struct OverviewPage<'a> {
    layout: Layout<'a>,
    tiles: Vec<Tile>,
    last_received: String,
    chart: String,
    recent: Vec<DeliveryRow>,
}

struct Tile {
    label: String,
    value: i64,
    href: String,
    tone: &'static str,
}

/// `GET /admin`: counts, the 30-day chart and the latest deliveries.
pub async fn overview(
    State(admin): State<Admin>,
    Extension(session): Extension<Session>,
    lang: Lang,
    uri: Uri,
) -> Page {
    let store = admin.app.store();
    let now = OffsetDateTime::now_utc();
    let counts = store.admin_counts(now).await?;
    let days = store.bookings_per_day(now.date(), CHART_DAYS).await?;
    let recent = DeliveryPage {
        limit: 8,
        ..DeliveryPage::default()
    };
    let recent = store.delivery_page(&recent).await?;
    let layout = admin.layout(lang, "overview", &uri, session.csrf);
    let t = &layout.t;
    let chart_texts = ChartTexts {
        title: t.get("chart-title"),
        description: t.get("chart-description"),
        created: t.get("chart-created"),
        cancelled: t.get("chart-cancelled"),
    };
    let page = OverviewPage {
        tiles: tiles(&counts, t),
        last_received: counts.last_received_at.map_or_else(|| t.get("never"), when),
        chart: chart::render(&days, lang.locale, &chart_texts),
        recent: recent.iter().map(|d| DeliveryRow::new(d, t)).collect(),
        layout,
    };
    Ok(admin.render(lang, &page))
}

/// All deliveries, one tile per status, and the upcoming bookings.
fn tiles(counts: &AdminCounts, t: &Texts<'_>) -> Vec<Tile> {
    let count_of = |s: Status| {
        let found = counts.by_status.iter().find(|(status, _)| *status == s);
        found.map_or(0, |(_, n)| *n)
    };
    let total = Tile {
        label: t.get("tile-deliveries"),
        value: counts.deliveries,
        href: "/admin/deliveries".into(),
        tone: "neutral",
    };
    let by_status = Status::ALL.map(|status| Tile {
        label: t.get(&format!("status-{}", status.as_str())),
        value: count_of(status),
        href: format!("/admin/deliveries?status={}", status.as_str()),
        tone: status.as_str(),
    });
    let upcoming = Tile {
        label: t.get("tile-upcoming"),
        value: counts.upcoming_bookings,
        href: "/admin/bookings".into(),
        tone: "neutral",
    };
    std::iter::once(total)
        .chain(by_status)
        .chain([upcoming])
        .collect()
}

// ---------------------------------------------------------------- deliveries

/// A delivery as a table row.
struct DeliveryRow {
    id: String,
    seq: i64,
    received: String,
    trigger: String,
    status: &'static str,
    status_label: String,
    attempts: i64,
    booking_uid: Option<String>,
    error: Option<String>,
}

impl DeliveryRow {
    fn new(d: &DeliverySummary, t: &Texts<'_>) -> Self {
        Self {
            id: d.id.clone(),
            seq: d.seq,
            received: when(d.received_at),
            trigger: d.trigger.clone().unwrap_or_else(|| "—".into()),
            status: d.status.as_str(),
            status_label: t.get(&format!("status-{}", d.status.as_str())),
            attempts: d.attempts,
            booking_uid: d.booking_uid.clone(),
            error: d.last_error.as_deref().map(|e| shorten(e, 90)),
        }
    }
}

#[derive(Template)]
#[template(path = "admin/deliveries.html")]
struct DeliveriesPage<'a> {
    layout: Layout<'a>,
    rows: Vec<DeliveryRow>,
    statuses: Vec<Choice>,
    triggers: Vec<Choice>,
    next: Option<String>,
    first: Option<String>,
}

/// One option of a filter's `<select>`.
struct Choice {
    value: &'static str,
    label: String,
    selected: bool,
}

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    status: String,
    #[serde(default)]
    trigger: String,
    before: Option<i64>,
    limit: Option<i64>,
}

impl ListQuery {
    fn page(&self) -> DeliveryPage {
        DeliveryPage {
            status: Status::parse(&self.status),
            trigger: TRIGGERS
                .contains(&self.trigger.as_str())
                .then(|| self.trigger.clone()),
            before: self.before,
            limit: page_size(self.limit) + 1,
        }
    }

    /// The query for the page after one that ended at `seq`.
    fn after(&self, path: &str, page: &DeliveryPage, seq: Option<i64>) -> String {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        if let Some(status) = page.status {
            q.append_pair("status", status.as_str());
        }
        if let Some(trigger) = &page.trigger {
            q.append_pair("trigger", trigger);
        }
        if let Some(seq) = seq {
            q.append_pair("before", &seq.to_string());
        }
        if let Some(limit) = self.limit {
            q.append_pair("limit", &limit.to_string());
        }
        format!("{path}?{}", q.finish())
    }
}

/// `GET /admin/deliveries`: newest first, filtered, paged by seq.
pub async fn deliveries(
    State(admin): State<Admin>,
    Extension(session): Extension<Session>,
    lang: Lang,
    uri: Uri,
    Query(query): Query<ListQuery>,
) -> Page {
    let page = query.page();
    let mut rows = admin.app.store().delivery_page(&page).await?;
    let next = next_seq(&mut rows, page.limit);
    let layout = admin.layout(lang, "deliveries", &uri, session.csrf);
    let statuses = Status::ALL
        .map(|s| Choice {
            value: s.as_str(),
            label: layout.t.get(&format!("status-{}", s.as_str())),
            selected: page.status == Some(s),
        })
        .into();
    let triggers = TRIGGERS
        .map(|name| Choice {
            value: name,
            label: name.to_owned(),
            selected: page.trigger.as_deref() == Some(name),
        })
        .into();
    let rows = rows
        .iter()
        .map(|d| DeliveryRow::new(d, &layout.t))
        .collect();
    let path = "/admin/deliveries";
    let page = DeliveriesPage {
        rows,
        statuses,
        triggers,
        next: next.map(|seq| query.after(path, &page, Some(seq))),
        first: query.before.map(|_| query.after(path, &page, None)),
        layout,
    };
    Ok(admin.render(lang, &page))
}

/// Trims the look-ahead row and returns the key of the next page, if any.
fn next_seq(rows: &mut Vec<DeliverySummary>, fetched: i64) -> Option<i64> {
    if rows.len() as i64 == fetched {
        rows.pop();
        rows.last().map(|d| d.seq)
    } else {
        None
    }
}

fn page_size(asked: Option<i64>) -> i64 {
    asked.unwrap_or(PAGE_SIZE).clamp(1, MAX_PAGE_SIZE)
}

#[derive(Template)]
#[template(path = "admin/delivery.html")]
struct DeliveryDetailPage<'a> {
    layout: Layout<'a>,
    row: DeliveryRow,
    headers: Vec<(&'static str, String)>,
    facts: Vec<(String, String)>,
    body: String,
    body_bytes: usize,
    note: Option<String>,
    error: Option<String>,
}

/// `GET /admin/deliveries/{id}`: headers, body, attempts and errors.
pub async fn delivery(
    State(admin): State<Admin>,
    Extension(session): Extension<Session>,
    lang: Lang,
    uri: Uri,
    request: HeaderMap,
    Path(id): Path<String>,
) -> Page {
    let found = admin.app.store().get(&id).await?;
    let Some(d) = found else {
        return Ok(admin.app.not_found_page(&uri, &request));
    };
    let layout = admin.layout(lang, "deliveries", &uri, session.csrf);
    let t = &layout.t;
    let row = DeliveryRow::new(&summary_of(&d), t);
    let facts = delivery_facts(&d, t);
    let page = DeliveryDetailPage {
        row,
        headers: vec![
            ("Content-Type", d.content_type.clone().unwrap_or_default()),
            (
                "X-Cal-Webhook-Version",
                d.webhook_version.clone().unwrap_or_default(),
            ),
            ("Remote-Addr", d.remote_addr.clone().unwrap_or_default()),
        ],
        facts,
        body: pretty_body(&d.body),
        body_bytes: d.body.len(),
        note: d.note.clone(),
        error: d.last_error.clone(),
        layout,
    };
    Ok(admin.render(lang, &page))
}

fn delivery_facts(d: &StoredDelivery, t: &Texts<'_>) -> Vec<(String, String)> {
    let optional = |time: Option<OffsetDateTime>| time.map_or_else(|| "—".to_owned(), when);
    vec![
        (t.get("field-id"), d.id.to_string()),
        (t.get("field-received"), when(d.received_at)),
        (t.get("field-shape"), d.shape.as_str().to_owned()),
        (t.get("field-attempts"), d.attempts.to_string()),
        (t.get("field-processed-times"), d.process_count.to_string()),
        (t.get("field-processed-at"), optional(d.processed_at)),
        (t.get("field-next-attempt"), optional(d.next_attempt_at)),
    ]
}

fn summary_of(d: &StoredDelivery) -> DeliverySummary {
    DeliverySummary {
        seq: d.seq,
        id: d.id.to_string(),
        received_at: d.received_at,
        trigger: d.trigger.clone(),
        booking_uid: d.booking_uid.clone(),
        status: d.status,
        attempts: d.attempts,
        last_error: d.last_error.clone(),
    }
}

/// JSON bodies indented; anything else as text, invalid UTF-8 replaced.
fn pretty_body(body: &[u8]) -> String {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| String::from_utf8_lossy(body).into_owned())
}

/// `POST /admin/deliveries/{id}/replay`: back to pending, wake the worker.
pub async fn replay_one(
    State(admin): State<Admin>,
    uri: Uri,
    request: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    match admin.app.store().replay(&Replay::One(id.clone())).await {
        Ok(0) => admin.app.not_found_page(&uri, &request),
        Ok(_) => {
            tracing::info!(delivery = %id, "delivery replayed from the dashboard");
            admin.app.waker().wake();
            let back = format!("/admin/deliveries/{}?flash=replayed", encode_path(&id));
            Redirect::to(&back).into_response()
        }
        Err(e) => Unavailable(e).into_response(),
    }
}

// ---------------------------------------------------------------- dead letters

#[derive(Template)]
#[template(path = "admin/dead.html")]
struct DeadPage<'a> {
    layout: Layout<'a>,
    rows: Vec<DeliveryRow>,
    next: Option<String>,
    first: Option<String>,
}

/// `GET /admin/dead`: deliveries that failed every attempt.
pub async fn dead(
    State(admin): State<Admin>,
    Extension(session): Extension<Session>,
    lang: Lang,
    uri: Uri,
    Query(query): Query<ListQuery>,
) -> Page {
    let page = DeliveryPage {
        status: Some(Status::Dead),
        trigger: None,
        ..query.page()
    };
    let mut rows = admin.app.store().delivery_page(&page).await?;
    let next = next_seq(&mut rows, page.limit);
    let layout = admin.layout(lang, "dead", &uri, session.csrf);
    let rows = rows
        .iter()
        .map(|d| DeliveryRow::new(d, &layout.t))
        .collect();
    let bare = DeliveryPage {
        status: None,
        ..page.clone()
    };
    let page = DeadPage {
        rows,
        next: next.map(|seq| query.after("/admin/dead", &bare, Some(seq))),
        first: query
            .before
            .map(|_| query.after("/admin/dead", &bare, None)),
        layout,
    };
    Ok(admin.render(lang, &page))
}

/// `POST /admin/dead/replay`: every dead delivery back to pending.
pub async fn replay_dead(State(admin): State<Admin>) -> Response {
    match admin.app.store().replay(&Replay::Dead).await {
        Ok(n) => {
            tracing::info!(count = n, "dead deliveries replayed from the dashboard");
            admin.app.waker().wake();
            Redirect::to(&format!("/admin/dead?flash=replayed-dead&count={n}")).into_response()
        }
        Err(e) => Unavailable(e).into_response(),
    }
}

// ---------------------------------------------------------------- bookings

/// A booking as a table row, with the chain of deliveries that shaped it.
struct BookingRow {
    uid: String,
    start: String,
    event_type: String,
    attendee: String,
    email: String,
    status: &'static str,
    status_label: String,
    chain: Vec<ChainLink>,
}

struct ChainLink {
    id: String,
    trigger: String,
    status: &'static str,
    status_label: String,
    received: String,
}

#[derive(Template)]
#[template(path = "admin/bookings.html")]
struct BookingsPage<'a> {
    layout: Layout<'a>,
    view: &'static str,
    views: Vec<(&'static str, String)>,
    rows: Vec<BookingRow>,
    next: Option<String>,
    first: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct BookingQuery {
    #[serde(default)]
    view: String,
    after: Option<String>,
    limit: Option<i64>,
}

impl BookingQuery {
    /// A link to the same view, starting after `after` or at the start.
    fn link(&self, view: &str, after: Option<String>) -> String {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        q.append_pair("view", view);
        if let Some(after) = after {
            q.append_pair("after", &after);
        }
        if let Some(limit) = self.limit {
            q.append_pair("limit", &limit.to_string());
        }
        format!("/admin/bookings?{}", q.finish())
    }
}

const VIEWS: [(&str, BookingView); 3] = [
    ("upcoming", BookingView::Upcoming),
    ("past", BookingView::Past),
    ("cancelled", BookingView::Cancelled),
];

/// `GET /admin/bookings?view=upcoming|past|cancelled`, paged by start time.
pub async fn bookings(
    State(admin): State<Admin>,
    Extension(session): Extension<Session>,
    lang: Lang,
    uri: Uri,
    Query(query): Query<BookingQuery>,
) -> Page {
    let (view_name, view) = VIEWS
        .into_iter()
        .find(|(name, _)| *name == query.view)
        .unwrap_or(VIEWS[0]);
    let cursor = query.after.as_deref().and_then(parse_cursor);
    let limit = page_size(query.limit);
    let store = admin.app.store();
    let now = OffsetDateTime::now_utc();
    let mut found = store
        .booking_page(view, cursor.as_ref(), now, limit + 1)
        .await?;
    let more = found.len() as i64 > limit;
    found.truncate(limit as usize);
    let layout = admin.layout(lang, "bookings", &uri, session.csrf);
    let rows = booking_rows(&admin, &found, &layout.t).await?;
    let link = |after: Option<String>| query.link(view_name, after);
    let next = found.last().filter(|_| more).and_then(cursor_of);
    let next = next.map(|c| link(Some(c)));
    let views = VIEWS
        .iter()
        .map(|(name, _)| (*name, layout.t.get(&format!("view-{name}"))))
        .collect();
    let page = BookingsPage {
        view: view_name,
        views,
        rows,
        next,
        first: cursor.map(|_| link(None)),
        layout,
    };
    Ok(admin.render(lang, &page))
}

/// Builds rows for a page of bookings, with one query for all the chains.
async fn booking_rows(
    admin: &Admin,
    bookings: &[Booking],
    t: &Texts<'_>,
) -> Result<Vec<BookingRow>, StoreError> {
    let ids: Vec<&str> = bookings
        .iter()
        .flat_map(|b| b.deliveries.iter().map(String::as_str))
        .collect();
    let summaries = admin.app.store().delivery_summaries(&ids).await?;
    Ok(bookings
        .iter()
        .map(|b| booking_row(b, &summaries, t))
        .collect())
}

fn booking_row(b: &Booking, summaries: &[DeliverySummary], t: &Texts<'_>) -> BookingRow {
    let status = b.current_status().map_or("unknown", |s| s.as_str());
    let chain = summaries
        .iter()
        .filter(|d| b.deliveries.contains(&d.id))
        .map(|d| ChainLink {
            id: d.id.clone(),
            trigger: d.trigger.clone().unwrap_or_else(|| "—".into()),
            status: d.status.as_str(),
            status_label: t.get(&format!("status-{}", d.status.as_str())),
            received: when(d.received_at),
        })
        .collect();
    let text = |reg: &crate::ledger::Reg<String>| reg.get().cloned().unwrap_or_default();
    BookingRow {
        uid: b.uid.as_str().to_owned(),
        start: b.start.get().map_or_else(|| "—".into(), |s| when(s.get())),
        event_type: text(&b.event_type),
        attendee: text(&b.personal.attendee_name),
        email: text(&b.personal.attendee_email),
        status,
        status_label: t.get(&format!("booking-{status}")),
        chain,
    }
}

/// A cursor is `<start micros>.<uid>`; anything else starts over.
fn parse_cursor(raw: &str) -> Option<BookingCursor> {
    let (start, uid) = raw.split_once('.')?;
    Some(BookingCursor {
        start_at: start.parse().ok()?,
        uid: uid.to_owned(),
    })
}

fn cursor_of(b: &Booking) -> Option<String> {
    let start = crate::store::to_micros(b.start.get()?.get());
    Some(format!("{start}.{}", b.uid.as_str()))
}

#[derive(Template)]
#[template(path = "admin/booking.html")]
struct BookingDetailPage<'a> {
    layout: Layout<'a>,
    row: BookingRow,
    facts: Vec<(String, String)>,
}

/// `GET /admin/bookings/{uid}`: the record and its chain of deliveries.
pub async fn booking(
    State(admin): State<Admin>,
    Extension(session): Extension<Session>,
    lang: Lang,
    uri: Uri,
    request: HeaderMap,
    Path(uid): Path<String>,
) -> Page {
    let found = admin.app.store().booking(&uid).await?;
    let Some(b) = found else {
        return Ok(admin.app.not_found_page(&uri, &request));
    };
    let layout = admin.layout(lang, "bookings", &uri, session.csrf);
    let ids: Vec<&str> = b.deliveries.iter().map(String::as_str).collect();
    let summaries = admin.app.store().delivery_summaries(&ids).await?;
    let row = booking_row(&b, &summaries, &layout.t);
    let facts = booking_facts(&b, &layout.t);
    let page = BookingDetailPage { layout, row, facts };
    Ok(admin.render(lang, &page))
}

fn booking_facts(b: &Booking, t: &Texts<'_>) -> Vec<(String, String)> {
    let text = |reg: &crate::ledger::Reg<String>| reg.get().cloned().unwrap_or_else(|| "—".into());
    let time = |reg: &crate::ledger::Reg<crate::ledger::UtcTime>| {
        reg.get().map_or_else(|| "—".into(), |v| when(v.get()))
    };
    let uid = |reg: &crate::ledger::Reg<crate::calcom::event::BookingUid>| {
        reg.get()
            .map_or_else(|| "—".into(), |v| v.as_str().to_owned())
    };
    vec![
        (t.get("field-title"), text(&b.personal.title)),
        (t.get("field-start"), time(&b.start)),
        (t.get("field-end"), time(&b.end)),
        (t.get("field-event-type"), text(&b.event_type)),
        (t.get("field-attendee"), text(&b.personal.attendee_name)),
        (t.get("field-email"), text(&b.personal.attendee_email)),
        (
            t.get("field-time-zone"),
            text(&b.personal.attendee_time_zone),
        ),
        (t.get("field-location"), text(&b.personal.location)),
        (
            t.get("field-cancellation-reason"),
            text(&b.personal.cancellation_reason),
        ),
        (t.get("field-rescheduled-from"), uid(&b.rescheduled_from)),
        (t.get("field-rescheduled-to"), uid(&b.rescheduled_to)),
    ]
}

// ---------------------------------------------------------------- helpers

/// A time as the dashboard shows it: UTC to the second.
fn when(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

fn shorten(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

/// Delivery ids are UUIDs, but a replayed id comes from the path, so it is
/// encoded before it goes back into a `Location`.
fn encode_path(segment: &str) -> String {
    url::form_urlencoded::byte_serialize(segment.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_has_a_label_in_both_languages() {
        let texts = Translations::from_sources("admin", super::super::EN, super::super::RU);
        let texts = texts.unwrap();
        let statuses = Status::ALL.map(|s| format!("status-{}", s.as_str()));
        let bookings = [
            "pending",
            "accepted",
            "cancelled",
            "rejected",
            "rescheduled",
            "unknown",
        ]
        .map(|s| format!("booking-{s}"));
        let views = VIEWS.map(|(name, _)| format!("view-{name}"));
        let ids = statuses.iter().chain(&bookings).chain(&views);
        for id in ids {
            for locale in Locale::ALL {
                assert!(texts.has(locale, id), "{id} in {locale:?}");
            }
        }
    }

    #[test]
    fn cursors_round_trip_and_garbage_starts_over() {
        let c = parse_cursor("1700000000000000.abc.def").unwrap();
        assert_eq!(
            (c.start_at, c.uid.as_str()),
            (1_700_000_000_000_000, "abc.def")
        );
        assert!(parse_cursor("soon.abc").is_none());
        assert!(parse_cursor("").is_none());
    }

    #[test]
    fn bodies_are_pretty_printed_when_json() {
        assert_eq!(pretty_body(br#"{"a":1}"#), "{\n  \"a\": 1\n}");
        assert_eq!(pretty_body(b"not json"), "not json");
    }
}
