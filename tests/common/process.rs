//! Running the real `bookme` binary as a child process.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use bookme::calcom::signature::sign;
use tokio::process::{Child, Command};

/// A `bookme` child process with its output appended to a log file.
pub struct Bookme {
    pub child: Child,
    pub port: Option<u16>,
}

impl Bookme {
    /// Starts `bookme ARGS` with exactly `envs` (nothing inherited) and, if
    /// `port` is given, waits until it listens there.
    pub async fn spawn(
        args: &[&str],
        envs: &[(&str, String)],
        port: Option<u16>,
        log: &Path,
    ) -> Bookme {
        let out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_bookme"));
        cmd.args(args)
            .env_clear()
            .current_dir(log.parent().unwrap());
        if let Some(port) = port {
            cmd.env("PORT", port.to_string());
        }
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let child = cmd
            .stdout(Stdio::from(out.try_clone().unwrap()))
            .stderr(Stdio::from(out))
            .kill_on_drop(true)
            .spawn()
            .expect("bookme starts");
        let me = Bookme { child, port };
        if let Some(port) = port {
            wait_until_listening(port).await;
        }
        me
    }

    pub fn url(&self) -> String {
        format!(
            "http://127.0.0.1:{}/api/cal/webhook",
            self.port.expect("a server")
        )
    }

    /// SIGKILL: the process gets no chance to clean up.
    pub async fn kill(&mut self) {
        self.child.kill().await.unwrap();
    }

    /// Asks for a graceful stop with SIGTERM and returns the exit status.
    pub async fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().unwrap().to_string();
        let sent = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .await
            .unwrap();
        assert!(sent.success());
        tokio::time::timeout(Duration::from_secs(20), self.child.wait())
            .await
            .expect("bookme stops within 20 s of SIGTERM")
            .unwrap()
    }
}

pub async fn wait_until_listening(port: u16) {
    for _ in 0..400 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("bookme did not listen on port {port} within 10 s");
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Posts a body signed with `secret`; the delivery id if it was acknowledged.
pub async fn post_signed(
    client: &reqwest::Client,
    url: &str,
    secret: &str,
    body: &[u8],
) -> Option<String> {
    let resp = client
        .post(url)
        .header("content-type", "application/json")
        .header("x-cal-signature-256", sign(secret.as_bytes(), body))
        .body(body.to_vec())
        .send()
        .await
        .ok()?;
    if resp.status() != 200 {
        return None;
    }
    let json: serde_json::Value = resp.json().await.ok()?;
    json["id"].as_str().map(str::to_owned)
}
