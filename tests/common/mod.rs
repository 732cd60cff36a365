//! Helpers shared by the integration tests: a real server on port 0 with a
//! temporary SQLite file, signing as Cal.com does, and the shared fixtures.

#![allow(dead_code)]

pub mod standins;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use bookme::calcom::signature::sign;
use bookme::config::{Config, DatabaseUrl};
use bookme::server::Server;
use bookme::store::Store;
use bookme::worker::Worker;
use serde_json::Value;
use tempfile::TempDir;
use tokio_util::sync::CancellationToken;

pub mod process;

pub const SECRET: &str = "test-secret";

/// The machine's PostgreSQL, as CI has it.
pub const POSTGRES_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// A database for one test: a temporary SQLite file, or a fresh schema in
/// the machine's PostgreSQL.
pub struct TestDb {
    pub url: String,
    pub kind: &'static str,
    pub dir: TempDir,
}

impl TestDb {
    pub fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("bookme.db").display());
        TestDb {
            url,
            kind: "sqlite",
            dir,
        }
    }

    /// A new schema in PostgreSQL, or `None` with a visible notice when no
    /// server answers. Under CI a missing server fails the test instead.
    pub async fn postgres() -> Option<TestDb> {
        use sqlx::Connection;
        let mut admin = match sqlx::PgConnection::connect(POSTGRES_ADMIN_URL).await {
            Ok(conn) => conn,
            Err(e) if std::env::var_os("CI").is_none() => {
                eprintln!("SKIP: PostgreSQL is not reachable at {POSTGRES_ADMIN_URL} ({e})");
                return None;
            }
            Err(e) => panic!("CI is set but PostgreSQL is not reachable: {e}"),
        };
        drop_schemas_of_dead_runs(&mut admin).await;
        let schema = format!(
            "bookme_t_{}_{}",
            std::process::id(),
            uuid::Uuid::now_v7().simple()
        );
        sqlx::query(&format!("CREATE SCHEMA {schema}"))
            .execute(&mut admin)
            .await
            .unwrap();
        let url = format!("{POSTGRES_ADMIN_URL}?options=-c%20search_path%3D{schema}");
        Some(TestDb {
            url,
            kind: "postgres",
            dir: tempfile::tempdir().unwrap(),
        })
    }

    /// A fresh database of the same kind.
    pub async fn another(&self) -> TestDb {
        match self.kind {
            "sqlite" => TestDb::sqlite(),
            _ => TestDb::postgres()
                .await
                .expect("PostgreSQL answered a moment ago"),
        }
    }

    pub fn database_url(&self) -> DatabaseUrl {
        DatabaseUrl::parse(&self.url).unwrap()
    }

    pub async fn store(&self) -> Store {
        Store::open(&self.database_url()).await.unwrap()
    }

    /// Runs one statement against this database from outside bookme.
    pub async fn execute(&self, sql: &str) {
        use sqlx::Connection;
        sqlx::any::install_default_drivers();
        let mut conn = sqlx::AnyConnection::connect(&self.url).await.unwrap();
        sqlx::raw_sql(sql).execute(&mut conn).await.unwrap();
    }

    /// Makes every write that matches `event` (e.g. `INSERT ON deliveries`)
    /// fail, as a full disk or a broken step would. `heal` removes it.
    pub async fn sabotage(&self, event: &str) {
        let sql = match self.kind {
            "sqlite" => format!(
                "CREATE TRIGGER refuse BEFORE {event} BEGIN \
                 SELECT RAISE(ABORT, 'simulated failure'); END"
            ),
            _ => format!(
                "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS \
                 $$ BEGIN RAISE EXCEPTION 'simulated failure'; END $$; \
                 CREATE TRIGGER refuse BEFORE {event} FOR EACH ROW EXECUTE FUNCTION refuse()"
            ),
        };
        self.execute(&sql).await;
    }

    pub async fn heal(&self, table: &str) {
        let sql = match self.kind {
            "sqlite" => "DROP TRIGGER refuse".to_owned(),
            _ => format!("DROP TRIGGER refuse ON {table}; DROP FUNCTION refuse()"),
        };
        self.execute(&sql).await;
    }
}

/// Test schemas carry the pid of the run that made them; those whose
/// process is gone are dropped, so local runs do not pile up schemas.
async fn drop_schemas_of_dead_runs(admin: &mut sqlx::PgConnection) {
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT nspname::text FROM pg_namespace WHERE nspname LIKE 'bookme_t_%'",
    )
    .fetch_all(&mut *admin)
    .await
    .unwrap_or_default();
    for name in names {
        let pid = name.split('_').nth(2).unwrap_or_default();
        if !Path::new("/proc").join(pid).exists() {
            let _ = sqlx::query(&format!("DROP SCHEMA IF EXISTS {name} CASCADE"))
                .execute(&mut *admin)
                .await;
        }
    }
}

/// Generates a `sqlite` and a `postgres` test for each named async fn
/// taking a [`TestDb`], so the whole suite runs against both stores.
#[macro_export]
macro_rules! on_both_stores {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::common::TestDb::sqlite()).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(db) = $crate::common::TestDb::postgres().await {
                        super::$name(db).await
                    }
                }
            )*
        }
    };
}

/// A running server plus a hand-driven worker over the same store.
pub struct TestApp {
    pub addr: SocketAddr,
    pub store: Store,
    pub worker: Worker,
    pub client: reqwest::Client,
    pub db: TestDb,
    shutdown: CancellationToken,
}

/// Starts the server without its background worker, so tests decide when
/// the worker runs (`app.worker.drain()`).
pub async fn spawn_app(db: TestDb, vars: &[(&str, &str)]) -> TestApp {
    spawn(db, vars, false).await
}

/// Starts the server with its background worker, as `bookme serve` does.
pub async fn spawn_app_with_worker(db: TestDb, vars: &[(&str, &str)]) -> TestApp {
    spawn(db, vars, true).await
}

async fn spawn(db: TestDb, vars: &[(&str, &str)], with_worker: bool) -> TestApp {
    let config = test_config(&db.url, vars);
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
        db,
        shutdown,
    }
}

/// The configuration tests run with: `vars` on top of a test secret, port 0
/// and the given database. An empty value removes a default.
pub fn test_config(database_url: &str, vars: &[(&str, &str)]) -> Config {
    let mut map: HashMap<String, String> = HashMap::from([
        ("CAL_WEBHOOK_SECRET".into(), SECRET.into()),
        ("PORT".into(), "0".into()),
        ("DATABASE_URL".into(), database_url.to_owned()),
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

/// Replaces every occurrence of each pair in a fixture body.
pub fn edit(body: &[u8], pairs: &[(&str, &str)]) -> Vec<u8> {
    let mut text = String::from_utf8(body.to_vec()).unwrap();
    for (from, to) in pairs {
        assert!(text.contains(from), "fixture has no {from:?}");
        text = text.replace(from, to);
    }
    text.into_bytes()
}

/// A fixture from `tests/fixtures/deliveries` by trigger name.
pub fn delivery(trigger: &str) -> Vec<u8> {
    std::fs::read(
        fixtures()
            .join("deliveries")
            .join(format!("{trigger}.json")),
    )
    .unwrap()
}

/// The uid in the BOOKING_CREATED, BOOKING_RESCHEDULED (new uid) and
/// BOOKING_CANCELLED samples, and the old uid the reschedule points to.
pub const CREATED_UID: &str = "8sXq2LmTz4VbN1cR6yWkPd";
pub const RESCHEDULED_UID: &str = "Qm3TtY7aPw2ZcK9rLx5VnB";
pub const RESCHEDULED_FROM: &str = "Hn8vR2xWq4JbT6mZy1KcFs";

/// Delivery `n` of a mixed workload over distinct bookings: creates, then
/// cancels and reschedules of earlier creates, each body unique.
pub fn workload(n: usize) -> Vec<u8> {
    let at = format!(
        "2025-04-01T{:02}:{:02}:{:02}.{:03}Z",
        n / 3600 % 24,
        n / 60 % 60,
        n % 60,
        n % 1000
    );
    match n % 5 {
        0..=2 => edit(
            &delivery("BOOKING_CREATED"),
            &[
                (CREATED_UID, &format!("w{n:07}")),
                ("2025-03-10T07:15:42.318Z", &at),
            ],
        ),
        3 => edit(
            &delivery("BOOKING_CANCELLED"),
            &[
                (RESCHEDULED_UID, &format!("w{:07}", n - 3)),
                ("2025-03-13T08:44:19.066Z", &at),
            ],
        ),
        _ => edit(
            &delivery("BOOKING_RESCHEDULED"),
            &[
                (RESCHEDULED_UID, &format!("r{n:07}")),
                (RESCHEDULED_FROM, &format!("w{:07}", n - 3)),
                ("2025-03-12T16:02:05.911Z", &at),
            ],
        ),
    }
}

pub use process::free_port;

/// Waits until no delivery is pending, or fails after three minutes. This
/// checks that the work gets done, not how fast.
pub async fn wait_until_processed(store: &Store) {
    for _ in 0..1800 {
        if store.stats().await.unwrap().pending == 0 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("deliveries still pending after 180 s");
}
