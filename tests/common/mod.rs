//! Helpers shared by the integration tests: a real server on port 0 with a
//! temporary SQLite file, signing as Cal.com does, and the shared fixtures.

#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use bookme::calcom::signature::sign;
use bookme::config::Config;
use bookme::server::Server;
use bookme::store::Store;
use bookme::worker::Worker;
use serde_json::Value;
use tempfile::TempDir;
use tokio_util::sync::CancellationToken;

pub const SECRET: &str = "test-secret";

/// A running server plus a hand-driven worker over the same store.
pub struct TestApp {
    pub addr: SocketAddr,
    pub store: Store,
    pub worker: Worker,
    pub client: reqwest::Client,
    pub db_path: PathBuf,
    shutdown: CancellationToken,
    _dir: TempDir,
}

/// Starts the server without its background worker, so tests decide when
/// the worker runs (`app.worker.drain()`).
pub async fn spawn_app(vars: &[(&str, &str)]) -> TestApp {
    spawn(vars, false).await
}

/// Starts the server with its background worker, as `bookme serve` does.
pub async fn spawn_app_with_worker(vars: &[(&str, &str)]) -> TestApp {
    spawn(vars, true).await
}

async fn spawn(vars: &[(&str, &str)], with_worker: bool) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("bookme.db");
    let config = test_config(&db_path, vars);
    let mut server = Server::bind(config).await.expect("server binds");
    if !with_worker {
        server = server.without_worker();
    }
    let (addr, store, worker) = (server.local_addr(), server.store().clone(), server.worker());
    let shutdown = CancellationToken::new();
    tokio::spawn(server.run(shutdown.clone()));
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    TestApp {
        addr,
        store,
        worker,
        client,
        db_path,
        shutdown,
        _dir: dir,
    }
}

/// The configuration tests run with: `vars` on top of a test secret, port 0
/// and the given SQLite file. An empty value removes a default.
pub fn test_config(db_path: &Path, vars: &[(&str, &str)]) -> Config {
    let mut map: HashMap<String, String> = HashMap::from([
        ("CAL_WEBHOOK_SECRET".into(), SECRET.into()),
        ("PORT".into(), "0".into()),
        (
            "DATABASE_URL".into(),
            format!("sqlite://{}", db_path.display()),
        ),
    ]);
    for (k, v) in vars {
        map.insert(k.to_string(), v.to_string());
    }
    Config::from_lookup(|name| map.get(name).cloned()).expect("test config is valid")
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Posts `body` to `path` with exactly these headers.
    pub async fn post(&self, path: &str, body: &[u8], headers: &[(&str, &str)]) -> Reply {
        let mut req = self.client.post(self.url(path)).body(body.to_vec());
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        Reply::from(req.send().await.expect("request is answered")).await
    }

    /// Posts `body` signed with the test secret, as Cal.com would.
    pub async fn post_signed(&self, body: &[u8]) -> Reply {
        let signature = sign(SECRET.as_bytes(), body);
        let headers = [
            ("content-type", "application/json"),
            ("x-cal-signature-256", signature.as_str()),
            ("x-cal-webhook-version", "2021-10-20"),
        ];
        self.post("/api/cal/webhook", body, &headers).await
    }

    pub async fn get(&self, path: &str) -> Reply {
        Reply::from(self.client.get(self.url(path)).send().await.unwrap()).await
    }

    pub async fn stop(&self) {
        self.shutdown.cancel();
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// A response, read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    async fn from(resp: reqwest::Response) -> Self {
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp.bytes().await.unwrap().to_vec();
        Self {
            status,
            headers,
            body,
        }
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// One shared real-world case from `tests/fixtures/cases`.
#[derive(Debug, Clone)]
pub struct Case {
    pub name: String,
    pub raw: String,
    pub headers: Vec<(String, String)>,
    pub deliveries: usize,
    pub request_path: Option<String>,
    pub expect: String,
}

impl Case {
    pub fn load(prefix: &str) -> Case {
        cases()
            .into_iter()
            .find(|c| c.name.starts_with(prefix))
            .expect("case exists")
    }

    pub fn header_pairs(&self) -> Vec<(&str, &str)> {
        self.headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }
}

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// Every shared case, in name order.
pub fn cases() -> Vec<Case> {
    let mut paths: Vec<_> = std::fs::read_dir(fixtures().join("cases"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    paths.sort();
    paths.iter().map(|p| parse_case(p)).collect()
}

fn parse_case(path: &Path) -> Case {
    let v: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let headers = v["headers"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
        .collect();
    Case {
        name: path.file_stem().unwrap().to_string_lossy().into_owned(),
        raw: v["raw"].as_str().unwrap().to_owned(),
        headers,
        deliveries: v["deliveries"].as_u64().unwrap_or(1) as usize,
        request_path: v["request_path"].as_str().map(str::to_owned),
        expect: v["expect"].as_str().unwrap_or_default().to_owned(),
    }
}

/// Every shared sample as the exact compact bytes Cal.com sends, by trigger.
pub fn deliveries() -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<_> = std::fs::read_dir(fixtures().join("deliveries"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| {
            (
                p.file_stem().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

/// The BOOKING_CREATED sample with its uid and createdAt made unique, so
/// each body is a distinct delivery.
pub fn unique_booking(n: usize) -> Vec<u8> {
    let base = std::fs::read_to_string(fixtures().join("deliveries/BOOKING_CREATED.json")).unwrap();
    base.replace("8sXq2LmTz4VbN1cR6yWkPd", &format!("crash{n:017}"))
        .replace(
            "2025-03-10T07:15:42.318Z",
            &format!("2025-03-10T07:15:42.{:03}Z", n % 1000),
        )
        .into_bytes()
}
