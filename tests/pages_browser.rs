//! Browser tests of the booking pages in Debian's headless Chromium,
//! driven over WebDriver by a chromedriver each test starts on a free port.
//!
//! Without `chromium` and `chromedriver` the tests print `SKIP` and pass,
//! unless `CI` is set: in CI a missing browser fails them. All traffic stays
//! on 127.0.0.1: Chromium resolves no other host, and "Cal.com" is either a
//! closed local port or a local stand-in serving a tiny `embed/embed.js`.

mod pages_support;

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use axum::http::Method;
use fantoccini::wd::{Capabilities, WebDriverCompatibleCommand};
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use pages_support::{TestSite, closed_origin};
use serde_json::{Value, json};
use tempfile::TempDir;

/// One browser at a time: the machines that run these have few cores.
static ONE_BROWSER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// How long to wait for a page to reach an expected state.
const PATIENCE: Duration = Duration::from_secs(15);

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

/// A Chromium session with the chromedriver that runs it.
struct Browser {
    client: Client,
    driver: Child,
    _profile: TempDir,
}

impl Browser {
    /// Starts chromedriver and a headless Chromium, or returns `None` after
    /// a visible SKIP notice when they are not installed and `CI` is unset.
    async fn start() -> Option<Self> {
        let driver = find_program(&["chromedriver"]);
        let chromium = find_program(&["chromium", "chromium-browser"]);
        let (Some(driver), Some(chromium)) = (driver, chromium) else {
            let missing = "chromium and chromedriver are not installed";
            assert!(
                std::env::var_os("CI").is_none(),
                "{missing}, and CI needs them"
            );
            eprintln!("SKIP: {missing} (apt-get install chromium chromium-driver)");
            return None;
        };
        let port = free_port();
        let driver = Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        wait_for_port(port).await;
        let profile = tempfile::tempdir().unwrap();
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities(&chromium, profile.path()))
            .connect(&format!("http://127.0.0.1:{port}/"))
            .await
            .expect("a Chromium session");
        Some(Self {
            client,
            driver,
            _profile: profile,
        })
    }

    /// Evaluates a JavaScript expression in the page.
    async fn eval(&self, expression: &str) -> Value {
        let script = format!("return ({expression});");
        self.client.execute(&script, Vec::new()).await.unwrap()
    }

    /// Polls `condition` until it is true; panics with it after [`PATIENCE`].
    async fn wait_for(&self, condition: &str) {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        while self.eval(condition).await != json!(true) {
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out waiting for {condition}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The console's error entries since the last call.
    async fn severe_log_entries(&self) -> Vec<Value> {
        let entries = self.post("se/log", json!({ "type": "browser" })).await;
        let entries = entries.as_array().cloned().unwrap_or_default();
        entries
            .into_iter()
            .filter(|e| e["level"] == "SEVERE")
            .collect()
    }

    /// Emulates a viewport of exactly this size, as a phone would have.
    async fn set_viewport(&self, width: u32, height: u32) {
        let params = json!({
            "width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600
        });
        let cmd = json!({ "cmd": "Emulation.setDeviceMetricsOverride", "params": params });
        self.post("goog/cdp/execute", cmd).await;
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        let cmd = SessionPost {
            path: path.to_owned(),
            body: body.to_string(),
        };
        self.client
            .issue_cmd(cmd)
            .await
            .expect("chromedriver answers")
    }

    async fn finish(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
    }
}

/// A chromedriver extension command: `POST /session/{id}/<path>`.
#[derive(Debug)]
struct SessionPost {
    path: String,
    body: String,
}

impl WebDriverCompatibleCommand for SessionPost {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!(
            "session/{}/{}",
            session.unwrap_or_default(),
            self.path
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (Method, Option<String>) {
        (Method::POST, Some(self.body.clone()))
    }
}

/// Headless Chromium as the developers' guide requires, resolving no host
/// but 127.0.0.1 so that no test traffic leaves the machine.
fn capabilities(chromium: &Path, profile: &Path) -> Capabilities {
    let args = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--lang=en-US",
        "--window-size=1280,900",
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost",
    ]
    .map(String::from)
    .into_iter()
    .chain([format!("--user-data-dir={}", profile.display())])
    .collect::<Vec<_>>();
    let caps = json!({
        "browserName": "chrome",
        "goog:chromeOptions": { "binary": chromium, "args": args },
        "goog:loggingPrefs": { "browser": "ALL" },
    });
    caps.as_object().cloned().expect("an object")
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

fn find_program(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let dirs = std::env::split_paths(&path).chain([PathBuf::from("/usr/bin")]);
    dirs.flat_map(|dir| names.iter().map(move |name| dir.join(name)))
        .find(|candidate| candidate.is_file())
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

async fn wait_for_port(port: u16) {
    for _ in 0..200 {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("chromedriver did not listen on port {port}");
}

/// `target/screenshots`, under `CARGO_TARGET_DIR` when that is set.
fn screenshot_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    target.join("screenshots")
}

fn text<'a>(entry: &'a Value, key: &str) -> &'a str {
    entry[key].as_str().unwrap_or_default()
}
