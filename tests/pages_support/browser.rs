//! A headless Debian Chromium driven over WebDriver by a chromedriver on a
//! free port, shared by the browser tests of the pages and the dashboard.
//!
//! Without `chromium` and `chromedriver` [`Browser::start`] prints `SKIP`
//! and returns `None`, unless `CI` is set: in CI a missing browser fails.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use axum::http::Method;
use fantoccini::wd::{Capabilities, WebDriverCompatibleCommand};
use fantoccini::{Client, ClientBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};
use tempfile::TempDir;

/// How long to wait for a page to reach an expected state.
pub const PATIENCE: Duration = Duration::from_secs(15);

/// A Chromium session with the chromedriver that runs it.
pub struct Browser {
    pub client: Client,
    driver: Child,
    _profile: TempDir,
}

impl Browser {
    /// Starts chromedriver and a headless Chromium, or returns `None` after
    /// a visible SKIP notice when they are not installed and `CI` is unset.
    pub async fn start() -> Option<Self> {
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
    pub async fn eval(&self, expression: &str) -> Value {
        let script = format!("return ({expression});");
        self.client.execute(&script, Vec::new()).await.unwrap()
    }

    /// Polls `condition` until it is true; panics with it after [`PATIENCE`].
    pub async fn wait_for(&self, condition: &str) {
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
    pub async fn severe_log_entries(&self) -> Vec<Value> {
        let entries = self.post("se/log", json!({ "type": "browser" })).await;
        let entries = entries.as_array().cloned().unwrap_or_default();
        entries
            .into_iter()
            .filter(|e| e["level"] == "SEVERE")
            .collect()
    }

    /// Emulates a viewport of exactly this size, as a phone would have.
    pub async fn set_viewport(&self, width: u32, height: u32) {
        let params = json!({
            "width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600
        });
        let cmd = json!({ "cmd": "Emulation.setDeviceMetricsOverride", "params": params });
        self.post("goog/cdp/execute", cmd).await;
    }

    pub async fn post(&self, path: &str, body: Value) -> Value {
        let cmd = SessionPost {
            path: path.to_owned(),
            body: body.to_string(),
        };
        self.client
            .issue_cmd(cmd)
            .await
            .expect("chromedriver answers")
    }

    pub async fn finish(mut self) {
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
pub fn screenshot_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    target.join("screenshots")
}
