//! Browser tests of the booking pages in Debian's headless Chromium,
//! driven over WebDriver by a chromedriver each test starts on a free port.
//!
//! Without `chromium` and `chromedriver` the tests print `SKIP` and pass,
//! unless `CI` is set: in CI a missing browser fails them. All traffic stays
//! on 127.0.0.1: Chromium resolves no other host, and "Cal.com" is either a
//! closed local port or a local stand-in serving a tiny `embed/embed.js`.

mod pages_support;

use fantoccini::Locator;
use pages_support::browser::{Browser, PATIENCE, screenshot_dir};
use pages_support::{TestSite, closed_origin};
use serde_json::{Value, json};

/// One browser at a time: the machines that run these have few cores.
static ONE_BROWSER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A stand-in for Cal.com's `embed.js`: it replays the queued `inline` call
/// the way the real script does, filling the container with a marked element.
/// For a link containing `broken` it then reports `linkFailed`, as the real
/// embed does after inserting its frame for an event that does not exist.
const STAND_IN_EMBED_JS: &str = r#"(function () {
  var Cal = window.Cal;
  Object.keys(Cal.ns).forEach(function (name) {
    var calls = Cal.ns[name].q;
    var listeners = calls.filter(function (args) {
      return args[0] === "on" && args[1].action === "linkFailed";
    });
    calls.forEach(function (args) {
      if (args[0] !== "inline") { return; }
      var options = args[1];
      var target = typeof options.elementOrSelector === "string"
        ? document.querySelector(options.elementOrSelector) : options.elementOrSelector;
      var booker = document.createElement("div");
      booker.className = "stand-in-booker";
      booker.setAttribute("data-link", options.calLink);
      booker.setAttribute("data-lang", options.config["metadata[lang]"]);
      booker.setAttribute("data-layout", options.config.layout);
      booker.textContent = "Stand-in booker for " + options.calLink;
      target.appendChild(booker);
      if (options.calLink.indexOf("broken") !== -1) {
        var detail = { type: "linkFailed", namespace: name, data: { code: 404 } };
        listeners.forEach(function (on) { on[1].callback({ detail: detail }); });
      }
    });
  });
})();
"#;

#[tokio::test]
async fn both_pages_load_without_console_errors_from_bookme() {
    let _one = ONE_BROWSER.lock().await;
    let cal = closed_origin();
    let site = TestSite::spawn(&[("CAL_LINK", "ann/30min"), ("CAL_ORIGIN", &cal)]).await;
    let Some(browser) = Browser::start().await else {
        return;
    };
    for (path, lang) in [("/en/bookme", "en"), ("/ru/bookme", "ru")] {
        browser.client.goto(&site.url(path)).await.unwrap();
        assert_eq!(
            browser.eval("document.documentElement.lang").await,
            json!(lang)
        );
        // bookme.js ran (the CSP let it) and queued the embed for Cal.com.
        browser
            .wait_for("window.Cal && window.Cal.loaded === true")
            .await;
        browser
            .wait_for("!document.getElementById('cal-fallback').hidden")
            .await;
    }
    let errors = browser.severe_log_entries().await;
    let ours: Vec<&Value> = errors
        .iter()
        .filter(|e| !(e["source"] == "network" && text(e, "message").contains(&cal)))
        .collect();
    assert!(
        ours.is_empty(),
        "console errors besides the unreachable Cal.com: {ours:#?}"
    );
    browser.finish().await;
}

#[tokio::test]
async fn the_switcher_moves_between_languages() {
    let _one = ONE_BROWSER.lock().await;
    let cal = closed_origin();
    let site = TestSite::spawn(&[("CAL_LINK", "ann/30min"), ("CAL_ORIGIN", &cal)]).await;
    let Some(browser) = Browser::start().await else {
        return;
    };
    browser.client.goto(&site.url("/en/bookme")).await.unwrap();
    for (to, lang) in [("/ru/bookme", "ru"), ("/en/bookme", "en")] {
        let switch = browser
            .client
            .find(Locator::Css(".switcher a"))
            .await
            .unwrap();
        switch.click().await.unwrap();
        browser
            .wait_for(&format!("location.pathname === '{to}'"))
            .await;
        browser
            .wait_for(&format!("document.documentElement.lang === '{lang}'"))
            .await;
    }
    browser.finish().await;
}

#[tokio::test]
async fn the_fallback_link_shows_when_cal_com_is_unreachable() {
    let _one = ONE_BROWSER.lock().await;
    let cal = closed_origin();
    let site = TestSite::spawn(&[("CAL_LINK", "ann/30min"), ("CAL_ORIGIN", &cal)]).await;
    let Some(browser) = Browser::start().await else {
        return;
    };
    browser.client.goto(&site.url("/ru/bookme")).await.unwrap();
    // The loader's failure must have been seen, not merely raced.
    browser
        .wait_for("document.getElementById('cal-embed').dataset.state === 'failed'")
        .await;
    let link = browser
        .client
        .find(Locator::Css("#cal-fallback a"))
        .await
        .unwrap();
    assert!(link.is_displayed().await.unwrap());
    assert_eq!(
        link.attr("href").await.unwrap(),
        Some(format!("{cal}/ann/30min"))
    );
    assert_eq!(
        browser
            .eval("document.getElementById('cal-embed').childElementCount")
            .await,
        0
    );
    browser.finish().await;
}

#[tokio::test]
async fn a_reachable_embed_fills_the_container_and_hides_the_fallback() {
    let _one = ONE_BROWSER.lock().await;
    let cal = stand_in_cal().await;
    let vars = [
        ("CAL_LINK", "ann/30min"),
        ("CAL_LINK_RU", "ann/30min-ru"),
        ("CAL_ORIGIN", &cal),
    ];
    let site = TestSite::spawn(&vars).await;
    let Some(browser) = Browser::start().await else {
        return;
    };
    for (path, lang, link) in [
        ("/en/bookme", "en", "ann/30min"),
        ("/ru/bookme", "ru", "ann/30min-ru"),
    ] {
        browser.client.goto(&site.url(path)).await.unwrap();
        let booker = browser.client.wait().at_most(PATIENCE);
        let booker = booker
            .for_element(Locator::Css("#cal-embed .stand-in-booker"))
            .await;
        let booker = booker.expect("the stand-in embed fills the container");
        assert_eq!(
            booker.attr("data-link").await.unwrap().as_deref(),
            Some(link)
        );
        assert_eq!(
            booker.attr("data-lang").await.unwrap().as_deref(),
            Some(lang)
        );
        browser
            .wait_for("document.getElementById('cal-embed').dataset.state === 'ready'")
            .await;
        let fallback = browser
            .client
            .find(Locator::Id("cal-fallback"))
            .await
            .unwrap();
        assert!(!fallback.is_displayed().await.unwrap());
    }
    assert!(browser.severe_log_entries().await.is_empty());
    browser.finish().await;
}

#[tokio::test]
async fn a_link_failure_reported_by_the_embed_shows_the_fallback() {
    let _one = ONE_BROWSER.lock().await;
    let cal = stand_in_cal().await;
    let site = TestSite::spawn(&[("CAL_LINK", "ann/broken"), ("CAL_ORIGIN", &cal)]).await;
    let Some(browser) = Browser::start().await else {
        return;
    };
    browser.client.goto(&site.url("/en/bookme")).await.unwrap();
    browser
        .wait_for("document.getElementById('cal-embed').dataset.state === 'failed'")
        .await;
    // The embed did insert its element before failing; the fallback wins.
    assert_eq!(
        browser
            .eval("document.getElementById('cal-embed').childElementCount")
            .await,
        1
    );
    let link = browser
        .client
        .find(Locator::Css("#cal-fallback a"))
        .await
        .unwrap();
    assert!(link.is_displayed().await.unwrap());
    assert_eq!(
        link.attr("href").await.unwrap(),
        Some(format!("{cal}/ann/broken"))
    );
    browser.finish().await;
}

#[tokio::test]
async fn screenshots_at_desktop_and_phone_widths() {
    let _one = ONE_BROWSER.lock().await;
    let vars = [
        ("CAL_LINK", "ann-example/30min"),
        ("CAL_ORIGIN", &closed_origin()),
        ("BOOKME_OWNER_NAME", "Ann Example"),
    ];
    let site = TestSite::spawn(&vars).await;
    let Some(browser) = Browser::start().await else {
        return;
    };
    let dir = screenshot_dir();
    std::fs::create_dir_all(&dir).unwrap();
    for (width, height) in [(1280, 900), (360, 780)] {
        browser.set_viewport(width, height).await;
        for lang in ["en", "ru"] {
            browser
                .client
                .goto(&site.url(&format!("/{lang}/bookme")))
                .await
                .unwrap();
            browser.wait_for("document.readyState === 'complete'").await;
            assert_eq!(browser.eval("window.innerWidth").await, json!(width));
            let overflow = "document.documentElement.scrollWidth <= window.innerWidth";
            assert_eq!(
                browser.eval(overflow).await,
                json!(true),
                "{lang} at {width}px"
            );
            let png = browser.client.screenshot().await.unwrap();
            assert!(png.starts_with(b"\x89PNG") && png.len() > 5_000);
            let path = dir.join(format!("booking-page-{lang}-{width}.png"));
            std::fs::write(&path, png).unwrap();
            eprintln!("wrote {}", path.display());
        }
    }
    browser.finish().await;
}

/// Serves the stand-in `embed/embed.js` on a local port; returns its origin.
async fn stand_in_cal() -> String {
    use axum::http::header;
    let app = axum::Router::new().route(
        "/embed/embed.js",
        axum::routing::get(|| async {
            (
                [(header::CONTENT_TYPE, "text/javascript")],
                STAND_IN_EMBED_JS,
            )
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

fn text<'a>(entry: &'a Value, key: &str) -> &'a str {
    entry[key].as_str().unwrap_or_default()
}
