//! The operator's dashboard at `/admin`, present only when
//! `BOOKME_ADMIN_TOKEN` is set. Without the token [`routes`] adds nothing,
//! so every `/admin` path gets the site's ordinary 404.
//!
//! - [`auth`]: the token check, signed session cookies, CSRF tokens and
//!   the failed-login limit.
//! - [`views`]: the pages (overview, deliveries, bookings, dead letters)
//!   and the replay actions, rendered with askama in English and Russian.
//! - [`chart`]: the overview's server-side SVG chart.
//!
//! Every route but the login form and the stylesheet sits behind
//! [`require_session`], which also checks the CSRF token of every POST
//! before a handler sees it.

pub mod auth;
pub mod chart;
mod views;

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Body;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use secrecy::SecretString;

use self::auth::{FailedLogins, Keys, VerifiedSession};
use crate::config::Mode;
use crate::http::AppState;
use crate::pages::encoded::{Encoded, header_map};
use crate::pages::i18n::Translations;
use crate::pages::{Locale, RenderError};

const EN: &str = include_str!("../../locales/en/admin.ftl");
const RU: &str = include_str!("../../locales/ru/admin.ftl");

/// The session cookie; scoped to `/admin` so the public site never sees it.
const SESSION_COOKIE: &str = "bookme_admin";
/// The login form's CSRF cookie.
const LOGIN_COOKIE: &str = "bookme_admin_login";
/// The dashboard language chosen with `?lang=`.
const LANG_COOKIE: &str = "bookme_admin_lang";

/// The largest form body an admin POST may carry.
const MAX_FORM: usize = 16 * 1024;

/// No script, no external origin, no framing; inline SVG needs none of them.
const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; \
     form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// The admin routes when the token is set, else an empty router.
pub fn routes(app: &AppState) -> Router<AppState> {
    let Some(token) = app.config().admin_token.as_ref() else {
        return Router::new();
    };
    let admin = Admin::new(app.clone(), token);
    let css_path = admin.inner.css_href.clone();
    let signed_in = Router::new()
        .route("/admin", get(views::overview))
        .route("/admin/deliveries", get(views::deliveries))
        .route("/admin/deliveries/{id}", get(views::delivery))
        .route("/admin/deliveries/{id}/replay", post(views::replay_one))
        .route("/admin/bookings", get(views::bookings))
        .route("/admin/bookings/{uid}", get(views::booking))
        .route("/admin/dead", get(views::dead))
        .route("/admin/dead/replay", post(views::replay_dead))
        .route("/admin/logout", post(views::logout))
        .route_layer(middleware::from_fn_with_state(
            admin.clone(),
            require_session,
        ));
    Router::new()
        .route("/admin/login", get(views::login_form).post(views::login))
        .route(&css_path, get(stylesheet))
        .merge(signed_in)
        .layer(middleware::from_fn(security_headers))
        .with_state(admin)
}

/// The dashboard's state: the application's, plus its own keys and texts.
#[derive(Clone)]
pub struct Admin {
    app: AppState,
    inner: Arc<Inner>,
}

struct Inner {
    keys: Keys,
    failures: FailedLogins,
    texts: Translations,
    css: Encoded,
    css_href: String,
    secure_cookies: bool,
}

impl Admin {
    fn new(app: AppState, token: &SecretString) -> Self {
        // The files are compiled in and the unit tests load them, so this
        // fails only on a defect that the tests catch first.
        let texts = Translations::from_sources("admin", EN, RU).expect("admin.ftl parses");
        let css = Encoded::new(
            "text/css; charset=utf-8",
            &include_bytes!("../../assets/admin.css")[..],
        );
        let css_href = format!("/admin/admin-{}.css", css.hash());
        let secure_cookies = app.config().mode != Mode::Development;
        let inner = Inner {
            keys: Keys::derive(token),
            failures: FailedLogins::default(),
            texts,
            css,
            css_href,
            secure_cookies,
        };
        Self {
            app,
            inner: Arc::new(inner),
        }
    }

    fn keys(&self) -> &Keys {
        &self.inner.keys
    }

    /// A `Set-Cookie` value scoped to `/admin`; `max_age` 0 deletes it.
    fn cookie(&self, name: &str, value: &str, max_age: u64) -> HeaderValue {
        let secure = if self.inner.secure_cookies {
            "; Secure"
        } else {
            ""
        };
        let text = format!(
            "{name}={value}; Path=/admin; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}"
        );
        HeaderValue::try_from(text).expect("cookie values are ASCII")
    }
}

/// The signed-in session, put in the request by [`require_session`].
#[derive(Clone)]
pub struct Session {
    verified: VerifiedSession,
    csrf: String,
}

/// Lets only signed-in requests through. A GET without a session is sent
/// to the login form; any other method is refused. A POST must carry the
/// session's CSRF token in its form and must not come from another site.
async fn require_session(State(admin): State<Admin>, req: Request, next: Next) -> Response {
    let now = unix_now();
    let cookie = cookie_value(req.headers(), SESSION_COOKIE);
    let verified = cookie.and_then(|c| admin.keys().verify_session(c, now));
    let Some(verified) = verified else {
        return match *req.method() {
            Method::GET | Method::HEAD => Redirect::to("/admin/login").into_response(),
            _ => forbidden(),
        };
    };
    let session = Session {
        csrf: admin.keys().csrf_token(&verified),
        verified,
    };
    let mut req = if req.method() == Method::POST {
        match check_csrf(&admin, &session, req).await {
            Ok(req) => req,
            Err(refusal) => return refusal,
        }
    } else {
        req
    };
    req.extensions_mut().insert(session);
    next.run(req).await
}

/// Reads the form, checks its `csrf` field, and hands back an equivalent
/// request for the handler.
async fn check_csrf(admin: &Admin, session: &Session, req: Request) -> Result<Request, Response> {
    if !same_origin(req.headers()) {
        tracing::warn!("admin POST from another site refused");
        return Err(forbidden());
    }
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, MAX_FORM)
        .await
        .map_err(|_| StatusCode::PAYLOAD_TOO_LARGE.into_response())?;
    let submitted = form_field(&bytes, "csrf").unwrap_or_default();
    if !admin.keys().csrf_matches(&session.verified, &submitted) {
        tracing::warn!("admin POST without a valid CSRF token refused");
        return Err(forbidden());
    }
    Ok(Request::from_parts(parts, Body::from(bytes)))
}

/// A second layer under the CSRF token: browsers say where a request came
/// from, and a cross-site one is refused. Clients that send neither header
/// (curl, old browsers) rely on the token alone. Under our
/// `Referrer-Policy: no-referrer` browsers send `Origin: null` on POSTs, so
/// `null` says nothing and `Sec-Fetch-Site` decides.
fn same_origin(headers: &HeaderMap) -> bool {
    let text = |name| {
        headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    if let Some(site) = text(header::HeaderName::from_static("sec-fetch-site")) {
        if !matches!(site, "same-origin" | "none") {
            return false;
        }
    }
    let origin = text(header::ORIGIN).filter(|o| *o != "null");
    match (origin, text(header::HOST)) {
        (Some(origin), Some(host)) => {
            let bare = origin.split_once("://").map_or(origin, |(_, rest)| rest);
            bare.eq_ignore_ascii_case(host)
        }
        (Some(_), None) => false,
        (None, _) => true,
    }
}

/// Security headers on every admin response; a route that set its own
/// caching (the stylesheet) keeps it.
async fn security_headers(req: Request, next: Next) -> Response {
    let mut response = next.run(req).await;
    let headers = response.headers_mut();
    let fixed = [
        (header::CONTENT_SECURITY_POLICY, CSP),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
    ];
    for (name, value) in fixed {
        headers.insert(name, HeaderValue::from_static(value));
    }
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}

async fn stylesheet(State(admin): State<Admin>, request: HeaderMap) -> Response {
    let headers = header_map(&[(header::CACHE_CONTROL, "public, max-age=31536000, immutable")]);
    admin.inner.css.respond(&request, StatusCode::OK, &headers)
}

/// The dashboard language: `?lang=` (remembered in a cookie), else the
/// cookie, else the browser's preference.
#[derive(Debug, Clone, Copy)]
pub struct Lang {
    locale: Locale,
    chosen: bool,
}

impl<S: Send + Sync> FromRequestParts<S> for Lang {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        let asked = form_field(query.as_bytes(), "lang").and_then(|l| Locale::from_path(&l));
        if let Some(locale) = asked {
            return Ok(Self {
                locale,
                chosen: true,
            });
        }
        let remembered = cookie_value(&parts.headers, LANG_COOKIE).and_then(Locale::from_path);
        let locale = remembered.unwrap_or_else(|| Locale::negotiate(&parts.headers));
        Ok(Self {
            locale,
            chosen: false,
        })
    }
}

/// Turns a rendered page into a response with the page headers, and
/// remembers a language chosen with `?lang=`.
fn html_page(
    admin: &Admin,
    lang: Lang,
    status: StatusCode,
    page: Result<String, RenderError>,
) -> Response {
    let body = match page {
        Ok(body) => body,
        Err(e) => {
            tracing::error!(error = %e, "an admin page failed to render");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    let html = HeaderValue::from_static("text/html; charset=utf-8");
    headers.insert(header::CONTENT_TYPE, html);
    let language = HeaderValue::from_static(lang.locale.as_str());
    headers.insert(header::CONTENT_LANGUAGE, language);
    if lang.chosen {
        let cookie = admin.cookie(LANG_COOKIE, lang.locale.as_str(), 365 * 86_400);
        headers.append(header::SET_COOKIE, cookie);
    }
    response
}

fn forbidden() -> Response {
    (StatusCode::FORBIDDEN, "forbidden\n").into_response()
}

/// The value of cookie `name` in the request's `Cookie` headers.
fn cookie_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// One field of an `application/x-www-form-urlencoded` body or query.
fn form_field(encoded: &[u8], name: &str) -> Option<String> {
    url::form_urlencoded::parse(encoded)
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_admin_files_define_the_same_messages() {
        let texts = Translations::from_sources("admin", EN, RU).unwrap();
        for source in [EN, RU] {
            for id in message_ids(source) {
                for locale in Locale::ALL {
                    assert!(texts.has(locale, &id), "{id} in {locale:?}");
                }
            }
        }
    }

    #[test]
    fn every_text_the_templates_use_exists() {
        let texts = Translations::from_sources("admin", EN, RU).unwrap();
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates/admin");
        for entry in std::fs::read_dir(dir).unwrap() {
            let source = std::fs::read_to_string(entry.unwrap().path()).unwrap();
            for piece in source.split("t.get(\"").skip(1) {
                let id = piece.split('"').next().unwrap();
                assert!(texts.has(Locale::En, id), "{id} is not in admin.ftl");
            }
        }
    }

    #[test]
    fn cross_site_posts_are_refused() {
        let headers = |pairs: &[(&'static str, &'static str)]| {
            let mut map = HeaderMap::new();
            for (k, v) in pairs {
                map.insert(*k, HeaderValue::from_static(v));
            }
            map
        };
        assert!(same_origin(&headers(&[])));
        assert!(same_origin(&headers(&[
            ("origin", "http://a.example:8080"),
            ("host", "a.example:8080")
        ])));
        assert!(!same_origin(&headers(&[
            ("origin", "https://evil.example"),
            ("host", "a.example")
        ])));
        assert!(!same_origin(&headers(&[("sec-fetch-site", "cross-site")])));
        assert!(same_origin(&headers(&[
            ("origin", "null"),
            ("sec-fetch-site", "same-origin")
        ])));
        assert!(!same_origin(&headers(&[
            ("origin", "null"),
            ("sec-fetch-site", "cross-site")
        ])));
    }

    fn message_ids(source: &str) -> Vec<String> {
        source
            .lines()
            .filter(|l| l.starts_with(|c: char| c.is_ascii_lowercase()))
            .filter_map(|l| l.split_once(" =").map(|(id, _)| id.to_owned()))
            .collect()
    }
}
