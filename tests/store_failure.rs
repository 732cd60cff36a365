//! The store goes away mid-run: PostgreSQL is stopped under bookme. Every
//! answer meanwhile is 503 with Retry-After, never a 2xx, and bookme
//! recovers by itself when the database returns, without a restart.
//!
//! Stopping the machine's shared PostgreSQL would break other tests, so
//! this test runs a private PostgreSQL cluster of its own on a free port.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use bookme::store::Status;
use common::{TestDb, spawn_app, unique_booking};

/// A throwaway PostgreSQL cluster, run as the `postgres` user.
struct PrivatePostgres {
    bin: PathBuf,
    data: PathBuf,
    port: u16,
    _dir: tempfile::TempDir,
}

impl PrivatePostgres {
    /// `None`, with a notice, where PostgreSQL's server binaries or root
    /// are missing; under CI that is a failure instead.
    fn create() -> Option<Self> {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .ok()
            .and_then(|mut d| d.next())
            .map(|e| e.unwrap().path().join("bin"))
            .filter(|b| b.join("initdb").exists());
        let Some(bin) = bin else {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI is set but initdb is missing"
            );
            eprintln!("SKIP: PostgreSQL server binaries not found under /usr/lib/postgresql");
            return None;
        };
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        run("chown", &["postgres", dir.path().to_str().unwrap()]);
        as_postgres(
            &bin,
            "initdb",
            &[
                "-D",
                data.to_str().unwrap(),
                "-A",
                "trust",
                "-U",
                "postgres",
            ],
        );
        let port = common::free_port();
        Some(Self {
            bin,
            data,
            port,
            _dir: dir,
        })
    }

    fn start(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1",
            self.port,
            self.data.display()
        );
        let data = self.data.to_str().unwrap();
        as_postgres(
            &self.bin,
            "pg_ctl",
            &["-D", data, "-o", &options, "-w", "-l", "/dev/null", "start"],
        );
    }

    /// Stops at once, as a crash or an operator's `kill -9` would.
    fn stop(&self) {
        as_postgres(
            &self.bin,
            "pg_ctl",
            &[
                "-D",
                self.data.to_str().unwrap(),
                "-m",
                "immediate",
                "-w",
                "stop",
            ],
        );
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let data = self.data.to_str().unwrap().to_owned();
        let _ = Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(self.bin.join("pg_ctl"))
            .args(["-D", &data, "-m", "immediate", "stop"])
            .output();
    }
}

fn run(program: &str, args: &[&str]) {
    let status = Command::new(program).args(args).status().unwrap();
    assert!(status.success(), "{program} {args:?} failed");
}

fn as_postgres(bin: &Path, tool: &str, args: &[&str]) {
    let out = Command::new("runuser")
        .args(["-u", "postgres", "--"])
        .arg(bin.join(tool))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{tool}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_stopped_mid_run_gives_503_then_recovers_by_itself() {
    let Some(pg) = PrivatePostgres::create() else {
        return;
    };
    pg.start();
    let db = TestDb {
        url: pg.url(),
        kind: "postgres",
        dir: tempfile::tempdir().unwrap(),
    };
    let app = spawn_app(db, &[]).await;
    assert_eq!(app.post_signed(&unique_booking(0)).await.status, 200);

    pg.stop();
    for n in 1..=10 {
        let reply = app.post_signed(&unique_booking(n)).await;
        assert_eq!(
            reply.status,
            503,
            "delivery {n} while the store is down: {}",
            reply.text()
        );
        assert!(reply.headers.contains_key("retry-after"));
    }
    assert_eq!(app.get("/readyz").await.status, 503);

    pg.start();
    let mut recovered = None;
    for _ in 0..120 {
        let reply = app.post_signed(&unique_booking(11)).await;
        if reply.status == 200 {
            recovered = Some(reply);
            break;
        }
        assert_eq!(reply.status, 503, "{}", reply.text());
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(
        recovered.is_some(),
        "bookme did not recover within 30 s of the store's return"
    );
    assert_eq!(app.get("/readyz").await.status, 200);
    app.worker.drain().await.unwrap();
    let rows = app.store.all().await.unwrap();
    assert_eq!(
        rows.len(),
        2,
        "the two acknowledged deliveries, and nothing refused"
    );
    assert!(rows.iter().all(|r| r.status == Status::Processed));
}
