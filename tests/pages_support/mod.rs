//! Helpers for the booking-page tests: a real bookme server on port 0 with
//! a temporary SQLite file, configured from a list of variables.

// Each test binary uses a different subset of these helpers.
#![allow(dead_code)]

pub mod browser;

use std::collections::HashMap;
use std::net::SocketAddr;

use bookme::config::Config;
use bookme::server::Server;
use tempfile::TempDir;
use tokio_util::sync::CancellationToken;

/// A running server. Dropping it stops the server.
pub struct TestSite {
    pub addr: SocketAddr,
    shutdown: CancellationToken,
    _dir: TempDir,
}

impl TestSite {
    /// Starts bookme with `vars` as its whole environment, plus a port, a
    /// host and a database of its own.
    pub async fn spawn(vars: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().expect("a temp dir");
        let database = format!("sqlite://{}", dir.path().join("bookme.db").display());
        let mut map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        map.insert("HOST".into(), "127.0.0.1".into());
        map.insert("PORT".into(), "0".into());
        map.insert("DATABASE_URL".into(), database);
        let config = Config::from_lookup(|name| map.get(name).cloned()).expect("valid config");
        let server = Server::bind(config).await.expect("server binds");
        let addr = server.local_addr();
        let shutdown = CancellationToken::new();
        tokio::spawn(server.without_worker().run(shutdown.clone()));
        Self {
            addr,
            shutdown,
            _dir: dir,
        }
    }

    /// An absolute URL for a path on this server.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

impl Drop for TestSite {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// An HTTP client that neither follows redirects nor decompresses, so that
/// tests see exactly what bookme sent.
pub fn raw_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a client")
}

/// A local port with nothing listening on it: a Cal.com that cannot be reached.
pub fn closed_origin() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    let port = listener.local_addr().expect("an address").port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}
