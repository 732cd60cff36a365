//! The booking pages: `/en/bookme` and `/ru/bookme` with Cal.com's inline
//! embed, the language redirect at `/`, static assets and the localized 404.
//!
//! Everything is rendered once at start into a [`Site`]: each page and file
//! as identity, gzip and brotli bytes with ETags. A request only negotiates
//! a variant and writes headers. The embed is started by a static script
//! that reads its settings from `data-*` attributes, so the CSP allows no
//! inline script and the rendered bytes never change per request.
//!
//! - [`config`]: the `CAL_*` and `BOOKME_*` page settings.
//! - [`locale`]: the two languages and `Accept-Language` negotiation.
//! - [`i18n`]: Fluent translations from `locales/`.
//! - [`render`]: askama templates from `templates/`.
//! - [`encoded`]: pre-compressed bodies, ETags and conditional requests.
//! - [`assets`]: embedded, fingerprinted static files from `assets/`.

pub mod assets;
pub mod config;
pub mod encoded;
pub mod i18n;
pub mod locale;
pub mod render;

use std::sync::Arc;

use axum::Router;
use axum::extract::{FromRef, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::Response;
use axum::routing::get;

pub use self::config::{PagesConfig, parse};
pub use self::locale::Locale;
pub use self::render::RenderError;

use self::assets::Assets;
use self::encoded::{Encoded, empty, header_map};
use self::i18n::Translations;
use self::render::Context;
use crate::config::Config;

/// The whole public site, rendered and compressed.
pub struct Site {
    booking: [Encoded; 2],
    not_found: [Encoded; 2],
    assets: Assets,
    page_headers: [HeaderMap; 2],
    not_found_headers: [HeaderMap; 2],
    asset_headers: HeaderMap,
}

impl Site {
    /// Renders every page in both languages. Fails only on a defect in a
    /// template or translation file, which the unit tests render too.
    pub fn build(config: &Config) -> Result<Self, RenderError> {
        let pages = &config.pages;
        warn_if_incomplete(pages);
        let assets = Assets::load();
        let texts = Translations::load()?;
        let context = Context {
            config: pages,
            public_origin: config.tunnel_origin.as_ref(),
            assets: &assets,
            texts: &texts,
        };
        let html = |body: String| Encoded::new("text/html; charset=utf-8", body);
        let booking = [
            html(context.booking(Locale::En)?),
            html(context.booking(Locale::Ru)?),
        ];
        let not_found = [
            html(context.not_found(Locale::En)?),
            html(context.not_found(Locale::Ru)?),
        ];
        let csp = content_security_policy(pages);
        Ok(Self {
            booking,
            not_found,
            assets,
            page_headers: Locale::ALL.map(|l| page_headers(&csp, l, "accept-encoding")),
            not_found_headers: Locale::ALL
                .map(|l| page_headers(&csp, l, "accept-encoding, accept-language")),
            asset_headers: header_map(&[
                (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            ]),
        })
    }

    /// `GET /<locale>/bookme`.
    pub fn booking(&self, locale: Locale, request: &HeaderMap) -> Response {
        let i = locale.index();
        self.booking[i].respond(request, StatusCode::OK, &self.page_headers[i])
    }

    /// The 404 for any path: in the language of the path's first segment,
    /// else the one the browser prefers.
    pub fn not_found(&self, uri: &Uri, request: &HeaderMap) -> Response {
        let locale = Locale::from_path(uri.path()).unwrap_or_else(|| Locale::negotiate(request));
        let i = locale.index();
        self.not_found[i].respond(request, StatusCode::NOT_FOUND, &self.not_found_headers[i])
    }

    /// `GET /assets/<name>`, or the 404 for a name we do not hold.
    pub fn asset(&self, name: &str, uri: &Uri, request: &HeaderMap) -> Response {
        match self.assets.get(name) {
            Some(file) => file.respond(request, StatusCode::OK, &self.asset_headers),
            None => self.not_found(uri, request),
        }
    }
}

/// The page routes. The state only has to yield the shared [`Site`].
pub fn routes<S>() -> Router<S>
where
    Arc<Site>: FromRef<S>,
    S: Clone + Send + Sync + 'static,
{
    Router::new()
        .route("/", get(to_preferred))
        .route("/bookme", get(to_preferred))
        .route(Locale::En.booking_path(), get(booking_en))
        .route(Locale::Ru.booking_path(), get(booking_ru))
        .route("/en", get(|| redirect(Locale::En.booking_path())))
        .route("/en/", get(|| redirect(Locale::En.booking_path())))
        .route("/en/bookme/", get(|| redirect(Locale::En.booking_path())))
        .route("/ru", get(|| redirect(Locale::Ru.booking_path())))
        .route("/ru/", get(|| redirect(Locale::Ru.booking_path())))
        .route("/ru/bookme/", get(|| redirect(Locale::Ru.booking_path())))
        .route("/assets/{name}", get(asset))
}

async fn booking_en(State(site): State<Arc<Site>>, request: HeaderMap) -> Response {
    site.booking(Locale::En, &request)
}

async fn booking_ru(State(site): State<Arc<Site>>, request: HeaderMap) -> Response {
    site.booking(Locale::Ru, &request)
}

async fn asset(
    State(site): State<Arc<Site>>,
    Path(name): Path<String>,
    uri: Uri,
    request: HeaderMap,
) -> Response {
    site.asset(&name, &uri, &request)
}

/// `GET /` and `GET /bookme`: 302 to the page in the browser's language.
async fn to_preferred(request: HeaderMap) -> Response {
    let mut response = redirect(Locale::negotiate(&request).booking_path()).await;
    let headers = response.headers_mut();
    headers.insert(header::VARY, HeaderValue::from_static("accept-language"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// A 302 to one of our own paths.
async fn redirect(path: &'static str) -> Response {
    let mut response = empty(StatusCode::FOUND);
    let location = HeaderValue::from_static(path);
    response.headers_mut().insert(header::LOCATION, location);
    response
}

/// Scripts, frames and connections may come from us and from Cal.com's
/// origin, nothing else. Styles allow inline because Cal.com's embed
/// script styles the elements it inserts; scripts never do.
fn content_security_policy(pages: &PagesConfig) -> String {
    let cal = pages.cal_origin.as_str();
    [
        "default-src 'none'".to_owned(),
        format!("script-src 'self' {cal}"),
        format!("frame-src {cal}"),
        format!("connect-src 'self' {cal}"),
        "style-src 'self' 'unsafe-inline'".to_owned(),
        "img-src 'self' data:".to_owned(),
        "base-uri 'none'".to_owned(),
        "form-action 'self'".to_owned(),
        "frame-ancestors 'none'".to_owned(),
    ]
    .join("; ")
}

/// Headers on every HTML page: revalidate with the ETag on each visit, and
/// the security headers.
fn page_headers(csp: &str, locale: Locale, vary: &str) -> HeaderMap {
    header_map(&[
        (header::CACHE_CONTROL, "no-cache"),
        (header::VARY, vary),
        (header::CONTENT_LANGUAGE, locale.as_str()),
        (header::CONTENT_SECURITY_POLICY, csp),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "strict-origin-when-cross-origin"),
        (header::X_FRAME_OPTIONS, "DENY"),
    ])
}

fn warn_if_incomplete(pages: &PagesConfig) {
    for locale in Locale::ALL {
        if pages.link_for(locale).is_none() {
            let specific = format!("CAL_LINK_{}", locale.as_str().to_ascii_uppercase());
            tracing::warn!(
                page = locale.booking_path(),
                "neither CAL_LINK nor {specific} is set: the page says booking is not \
                 configured yet"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn site(vars: &[(&str, &str)]) -> Site {
        let map: HashMap<&str, &str> = vars.iter().copied().collect();
        let config = Config::from_lookup(|n| map.get(n).map(|v| v.to_string())).unwrap();
        Site::build(&config).unwrap()
    }

    fn html(encoded: &Encoded) -> String {
        String::from_utf8(encoded.identity().to_vec()).unwrap()
    }

    #[test]
    fn every_variant_renders_in_both_languages() {
        let configured = [("CAL_LINK", "ann/30min"), ("BOOKME_OWNER_NAME", "Ann")];
        for vars in [&configured[..], &[]] {
            let site = site(vars);
            for locale in Locale::ALL {
                let page = html(&site.booking[locale.index()]);
                assert!(page.contains(&format!("<html lang=\"{}\"", locale.as_str())));
                assert!(html(&site.not_found[locale.index()]).contains("404"));
            }
        }
    }

    #[test]
    fn owner_names_are_escaped() {
        let site = site(&[("BOOKME_OWNER_NAME", "<b>Ann</b> & Co")]);
        let page = html(&site.booking[0]);
        assert!(page.contains("Ann&#60;/b&#62; &#38; Co") || page.contains("&lt;b&gt;Ann"));
        assert!(!page.contains("<b>Ann"));
    }

    #[test]
    fn the_policy_names_only_the_cal_origin() {
        let config =
            parse(&|n: &str| (n == "CAL_ORIGIN").then(|| "https://cal.example.org".into()));
        let csp = content_security_policy(&config.unwrap());
        assert!(csp.contains("script-src 'self' https://cal.example.org;"));
        assert!(csp.contains("frame-src https://cal.example.org;"));
        assert!(!csp.contains("script-src 'self' 'unsafe-inline'"));
    }
}
