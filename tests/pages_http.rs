//! HTTP tests of the booking pages against a real server: routes,
//! redirects, 404s, headers, caching, compression and rendered content.

mod pages_support;

use std::io::Read;

use pages_support::{TestSite, raw_client};
use reqwest::StatusCode;
use reqwest::header::{self, HeaderMap};

const CONFIGURED: &[(&str, &str)] = &[
    ("CAL_LINK", "ann-example/30min"),
    ("BOOKME_OWNER_NAME", "Ann Example"),
];

async fn get(site: &TestSite, path: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut request = raw_client().get(site.url(path));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.expect("the request is answered")
}

async fn page(site: &TestSite, path: &str) -> (HeaderMap, String) {
    let response = get(site, path, &[]).await;
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    let headers = response.headers().clone();
    (headers, response.text().await.unwrap())
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers.get(name).map_or("", |v| v.to_str().unwrap())
}

#[tokio::test]
async fn both_booking_pages_are_served_in_their_language() {
    let site = TestSite::spawn(CONFIGURED).await;
    for (path, lang, heading) in [
        ("/en/bookme", "en", "Book a meeting with Ann Example"),
        ("/ru/bookme", "ru", "Запись на встречу: Ann Example"),
    ] {
        let (headers, html) = page(&site, path).await;
        assert_eq!(header(&headers, "content-type"), "text/html; charset=utf-8");
        assert_eq!(header(&headers, "content-language"), lang);
        assert!(
            html.starts_with("<!doctype html>\n<html lang=\"")
                && html.contains(&format!("<html lang=\"{lang}\""))
        );
        assert!(html.contains(&format!("<h1>{heading}</h1>")), "{html}");
        assert!(
            html.contains(
                r#"<meta name="viewport" content="width=device-width, initial-scale=1">"#
            )
        );
        assert!(html.contains(r#"<meta name="description" content=""#));
        assert!(html.contains(&format!(
            r#"<meta property="og:title" content="{heading}">"#
        )));
        assert!(html.contains(r#"<meta property="og:description" content=""#));
    }
}

#[tokio::test]
async fn root_and_bookme_redirect_by_accept_language() {
    let site = TestSite::spawn(CONFIGURED).await;
    let cases = [
        ("ru-RU,ru;q=0.9,en;q=0.8", "/ru/bookme"),
        ("de-DE,ru;q=0.5", "/ru/bookme"),
        ("en-US,en;q=0.9", "/en/bookme"),
        ("de-DE,fr;q=0.8", "/en/bookme"),
        ("", "/en/bookme"),
    ];
    for path in ["/", "/bookme"] {
        for (accept, location) in cases {
            let response = get(&site, path, &[("accept-language", accept)]).await;
            assert_eq!(response.status(), StatusCode::FOUND, "{path} {accept}");
            assert_eq!(
                header(response.headers(), "location"),
                location,
                "{path} {accept}"
            );
            assert_eq!(header(response.headers(), "vary"), "accept-language");
        }
    }
}

#[tokio::test]
async fn unknown_paths_get_a_404_in_the_suggested_language() {
    let site = TestSite::spawn(CONFIGURED).await;
    let cases = [
        ("/ru/nothing", "", "ru", "Страница не найдена"),
        ("/en/nothing", "ru", "en", "Page not found"),
        ("/nothing", "ru-RU,ru;q=0.9", "ru", "Страница не найдена"),
        ("/nothing", "fr", "en", "Page not found"),
        ("/assets/bookme-0000.css", "", "en", "Page not found"),
    ];
    for (path, accept, lang, title) in cases {
        let response = get(&site, path, &[("accept-language", accept)]).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        let headers = response.headers().clone();
        assert!(header(&headers, "content-security-policy").contains("default-src 'none'"));
        let html = response.text().await.unwrap();
        assert!(html.contains(&format!("<html lang=\"{lang}\"")), "{path}");
        assert!(html.contains(&format!("<h1>{title}</h1>")), "{path}");
        assert!(html.contains(r#"<meta name="robots" content="noindex">"#));
    }
}

#[tokio::test]
async fn webhook_get_without_debug_is_any_other_404() {
    let site = TestSite::spawn(CONFIGURED).await;
    let headers = [("accept-language", "ru"), ("accept-encoding", "gzip, br")];
    let webhook = get(&site, "/api/cal/webhook", &headers).await;
    let other = get(&site, "/api/cal/nothing", &headers).await;
    assert_eq!(webhook.status(), StatusCode::NOT_FOUND);
    assert_eq!(webhook.status(), other.status());
    let names = |h: &HeaderMap| {
        let mut pairs: Vec<(String, Vec<u8>)> = h
            .iter()
            .filter(|(name, _)| *name != header::DATE)
            .map(|(n, v)| (n.to_string(), v.as_bytes().to_vec()))
            .collect();
        pairs.sort();
        pairs
    };
    assert_eq!(names(webhook.headers()), names(other.headers()));
    assert_eq!(webhook.bytes().await.unwrap(), other.bytes().await.unwrap());
}

#[tokio::test]
async fn pages_carry_a_strict_policy_and_no_inline_script() {
    let origin = "https://cal.example.org";
    let site = TestSite::spawn(&[("CAL_LINK", "ann/30min"), ("CAL_ORIGIN", origin)]).await;
    let (headers, html) = page(&site, "/en/bookme").await;
    let csp = header(&headers, "content-security-policy");
    for directive in [
        "default-src 'none'",
        "script-src 'self' https://cal.example.org",
        "frame-src https://cal.example.org",
        "connect-src 'self' https://cal.example.org",
        "frame-ancestors 'none'",
    ] {
        assert!(
            csp.split("; ").any(|d| d == directive),
            "{directive} in {csp}"
        );
    }
    let external: Vec<&str> = csp
        .split_whitespace()
        .filter(|w| w.contains("://"))
        .collect();
    assert!(
        external.iter().all(|w| w.trim_end_matches(';') == origin),
        "{csp}"
    );
    assert_eq!(header(&headers, "x-content-type-options"), "nosniff");
    assert_eq!(
        header(&headers, "referrer-policy"),
        "strict-origin-when-cross-origin"
    );
    // Every script is a file of ours: no inline code for the CSP to allow.
    assert_eq!(
        html.matches("<script").count(),
        html.matches("<script src=\"/assets/").count()
    );
    assert!(!html.contains("Cal(\"init\""));
}

#[tokio::test]
async fn pages_and_assets_revalidate_with_etags() {
    let site = TestSite::spawn(CONFIGURED).await;
    let (headers, html) = page(&site, "/en/bookme").await;
    let etag = header(&headers, "etag").to_owned();
    assert!(etag.starts_with('"') && etag.ends_with('"'), "{etag}");
    assert_eq!(header(&headers, "cache-control"), "no-cache");
    let again = get(&site, "/en/bookme", &[("if-none-match", &etag)]).await;
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(header(again.headers(), "etag"), etag);
    assert!(again.bytes().await.unwrap().is_empty());
    let stale = get(&site, "/en/bookme", &[("if-none-match", "\"stale\"")]).await;
    assert_eq!(stale.status(), StatusCode::OK);

    let css = asset_href(&html, ".css");
    let response = get(&site, &css, &[]).await;
    assert_eq!(response.status(), StatusCode::OK);
    let headers = response.headers().clone();
    assert_eq!(header(&headers, "content-type"), "text/css; charset=utf-8");
    assert_eq!(
        header(&headers, "cache-control"),
        "public, max-age=31536000, immutable"
    );
    let etag = header(&headers, "etag");
    let again = get(&site, &css, &[("if-none-match", etag)]).await;
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
}

#[tokio::test]
async fn pages_and_assets_are_compressed_once() {
    let site = TestSite::spawn(CONFIGURED).await;
    let (_, identity) = page(&site, "/ru/bookme").await;
    let js = asset_href(&identity, ".js");
    for path in ["/ru/bookme", js.as_str()] {
        for (accept, coding) in [("br", "br"), ("gzip", "gzip"), ("gzip, deflate, br", "br")] {
            let response = get(&site, path, &[("accept-encoding", accept)]).await;
            assert_eq!(response.status(), StatusCode::OK);
            let headers = response.headers().clone();
            assert_eq!(
                header(&headers, "content-encoding"),
                coding,
                "{path} {accept}"
            );
            assert!(header(&headers, "vary").contains("accept-encoding"));
            let body = decode(coding, &response.bytes().await.unwrap());
            if path.starts_with("/ru") {
                assert_eq!(body, identity, "one decoding gives the page back");
            } else {
                assert!(body.contains("Cal(\"init\""), "{path}");
            }
        }
        let plain = get(&site, path, &[("accept-encoding", "identity")]).await;
        assert!(plain.headers().get("content-encoding").is_none());
    }
}

#[tokio::test]
async fn hreflang_and_canonical_use_the_tunnel_origin() {
    let vars = [
        ("CAL_LINK", "ann/30min"),
        ("CAL_TUNNEL_ORIGIN", "https://book.example.com/"),
    ];
    let site = TestSite::spawn(&vars).await;
    let (_, html) = page(&site, "/ru/bookme").await;
    for tag in [
        r#"<link rel="canonical" href="https://book.example.com/ru/bookme">"#,
        r#"<link rel="alternate" hreflang="en" href="https://book.example.com/en/bookme">"#,
        r#"<link rel="alternate" hreflang="ru" href="https://book.example.com/ru/bookme">"#,
        r#"<link rel="alternate" hreflang="x-default" href="https://book.example.com/">"#,
        r#"<meta property="og:url" content="https://book.example.com/ru/bookme">"#,
    ] {
        assert!(html.contains(tag), "{tag}");
    }

    let site = TestSite::spawn(&[("CAL_LINK", "ann/30min")]).await;
    let (_, html) = page(&site, "/en/bookme").await;
    assert!(html.contains(r#"<link rel="alternate" hreflang="ru" href="/ru/bookme">"#));
    assert!(!html.contains("rel=\"canonical\""));
}

#[tokio::test]
async fn the_switcher_links_to_the_same_page_in_the_other_language() {
    let site = TestSite::spawn(CONFIGURED).await;
    let (_, en) = page(&site, "/en/bookme").await;
    assert!(en.contains(r#"<a href="/ru/bookme" hreflang="ru" lang="ru">Русский</a>"#));
    let (_, ru) = page(&site, "/ru/bookme").await;
    assert!(ru.contains(r#"<a href="/en/bookme" hreflang="en" lang="en">English</a>"#));
}

#[tokio::test]
async fn the_embed_is_built_from_the_configuration() {
    let vars = [
        ("CAL_ORIGIN", "https://cal.example.org"),
        ("CAL_LINK", "ann/30min"),
        ("CAL_LINK_RU", "ann/30min-ru"),
        ("BOOKME_CAL_LAYOUT", "week_view"),
        ("BOOKME_CAL_THEME", "dark"),
        ("BOOKME_BRAND_COLOR", "#0a7d5a"),
    ];
    let site = TestSite::spawn(&vars).await;
    for (path, lang, link) in [
        ("/en/bookme", "en", "ann/30min"),
        ("/ru/bookme", "ru", "ann/30min-ru"),
    ] {
        let (_, html) = page(&site, path).await;
        let container = [
            r#"<div id="cal-embed" class="embed""#,
            r#" data-cal-origin="https://cal.example.org""#,
            &format!(r#" data-cal-link="{link}" data-cal-layout="week_view""#),
            &format!(r#" data-cal-theme="dark" data-cal-lang="{lang}""#),
            r##" data-cal-brand="#0a7d5a"></div>"##,
        ]
        .concat();
        assert!(html.contains(&container), "{path}: {html}");
        let fallback = format!(r#"<a class="button" href="https://cal.example.org/{link}">"#);
        assert!(html.contains(&fallback), "{path}");
        // Visible in the markup itself, so it works with JavaScript off.
        assert!(
            html.contains(r#"<div id="cal-fallback" class="fallback">"#),
            "{path}"
        );
        assert!(html.contains(r#"<script src="/assets/bookme-"#));
        assert!(html.contains(r#"data-theme="dark""#));
        assert!(html.contains("--brand:#0a7d5a;--brand-text:#ffffff"));
        assert!(!html.contains("not-configured"));
    }
    // The script reads those attributes and passes the page's language as
    // booking metadata, which comes back in the webhook.
    let (_, html) = page(&site, "/en/bookme").await;
    let js = get(&site, &asset_href(&html, ".js"), &[])
        .await
        .text()
        .await
        .unwrap();
    assert!(js.contains(r#"config["metadata[lang]"] = data.calLang;"#));
    assert!(js.contains(r#"installCal(origin + "/embed/embed.js")"#));
    assert!(js.contains(r#"Cal("init", NAMESPACE, { origin: origin })"#));
}

#[tokio::test]
async fn without_cal_link_the_page_says_booking_is_not_configured() {
    let site = TestSite::spawn(&[]).await;
    for (path, notice) in [
        ("/en/bookme", "Booking is not set up yet"),
        ("/ru/bookme", "Запись пока не настроена"),
    ] {
        let (_, html) = page(&site, path).await;
        assert!(html.contains(r#"id="not-configured""#), "{path}");
        assert!(html.contains(notice), "{path}");
        assert!(
            !html.contains("cal-embed") && !html.contains("<script"),
            "{path}"
        );
    }
    // Only the Russian page is configured here; the English one says so.
    let site = TestSite::spawn(&[("CAL_LINK_RU", "ann/30min-ru")]).await;
    assert!(
        page(&site, "/en/bookme")
            .await
            .1
            .contains("Booking is not set up yet")
    );
    assert!(
        page(&site, "/ru/bookme")
            .await
            .1
            .contains("data-cal-link=\"ann/30min-ru\"")
    );
}

#[tokio::test]
async fn the_meeting_length_takes_the_right_plural_form() {
    let cases = [
        ("1", "1 minute", "1 минута"),
        ("2", "2 minutes", "2 минуты"),
        ("5", "5 minutes", "5 минут"),
        ("21", "21 minutes", "21 минута"),
        ("24", "24 minutes", "24 минуты"),
        ("45", "45 minutes", "45 минут"),
    ];
    for (minutes, en, ru) in cases {
        let vars = [
            ("CAL_LINK", "ann/30min"),
            ("BOOKME_MEETING_MINUTES", minutes),
        ];
        let site = TestSite::spawn(&vars).await;
        let value = |text: &str| format!(r#"<span class="length-value">{text}</span>"#);
        assert!(
            page(&site, "/en/bookme").await.1.contains(&value(en)),
            "{en}"
        );
        assert!(
            page(&site, "/ru/bookme").await.1.contains(&value(ru)),
            "{ru}"
        );
    }
}

#[tokio::test]
async fn head_requests_get_headers_only() {
    let site = TestSite::spawn(CONFIGURED).await;
    let response = raw_client()
        .head(site.url("/ru/bookme"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers().contains_key("etag"));
    assert!(response.bytes().await.unwrap().is_empty());
}

/// The first `/assets/` URL in the page that ends with `ext`.
fn asset_href(html: &str, ext: &str) -> String {
    html.split('"')
        .find(|s| s.starts_with("/assets/") && s.ends_with(ext))
        .unwrap_or_else(|| panic!("no {ext} asset in the page"))
        .to_owned()
}

fn decode(coding: &str, body: &[u8]) -> String {
    let mut text = String::new();
    match coding {
        "gzip" => flate2::read::GzDecoder::new(body).read_to_string(&mut text),
        "br" => brotli::Decompressor::new(body, 4096).read_to_string(&mut text),
        other => panic!("unexpected coding {other}"),
    }
    .expect("the body decodes");
    text
}
