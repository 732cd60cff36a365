//! The command line: `bookme serve`, `bookme worker`, `bookme migrate`, and
//! the operator's tools `bookme events ...` and `bookme bookings ...`.
//!
//! Every tool reads the same configuration as `serve`, so it works on
//! SQLite and PostgreSQL alike. Each prints an aligned table for people and,
//! with `--json`, one JSON document for scripts. Failures go to stderr with
//! exit code 1; clap's usage errors exit with 2.

mod bookings;
mod doctor;
mod events;
mod purge;
mod send_test;
mod sign;
mod table;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::server::{Server, run_worker, shutdown_signal};
use crate::store::Store;
use crate::telemetry;

/// Self-hosted Cal.com booking page and durable webhook receiver.
#[derive(Debug, Parser)]
#[command(name = "bookme", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the booking pages and the webhook receiver, and run the worker.
    Serve {
        /// Serve HTTP only; deliveries wait for a `bookme worker`.
        #[arg(long)]
        no_worker: bool,
    },
    /// Run a worker with no HTTP server (several may share one PostgreSQL).
    Worker,
    /// Create the store and apply migrations, then exit.
    Migrate {
        /// Print the result as a JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Inspect and replay stored webhook deliveries.
    #[command(subcommand)]
    Events(events::EventsCommand),
    /// Inspect the bookings ledger.
    #[command(subcommand)]
    Bookings(bookings::BookingsCommand),
    /// Owner notifications: send a test, list them, resend an event.
    #[command(subcommand)]
    Notify(crate::notify::commands::NotifyCommand),
    /// Send a Cal.com-shaped delivery, signed as Cal.com signs, and print the answer.
    SendTest {
        /// The trigger: BOOKING_CREATED, BOOKING_RESCHEDULED, BOOKING_CANCELLED,
        /// BOOKING_REQUESTED, BOOKING_REJECTED, MEETING_ENDED or PING.
        trigger: String,
        /// Where to post; default: this configuration's local webhook URL.
        #[arg(long)]
        url: Option<String>,
        /// The secret to sign with; default: CAL_WEBHOOK_SECRET.
        #[arg(long)]
        secret: Option<secrecy::SecretString>,
        /// Edit a field, e.g. `--set payload.attendees.0.name=Ann`; a JSON value
        /// (number, true, "quoted") is taken as JSON. Repeatable.
        #[arg(long, value_name = "PATH=VALUE")]
        set: Vec<String>,
        /// Send this file's bytes as they are instead of a built-in body.
        #[arg(long, value_name = "FILE")]
        body: Option<std::path::PathBuf>,
    },
    /// Print the X-Cal-Signature-256 value for the body on stdin.
    Sign {
        /// The secret; default: the first of CAL_WEBHOOK_SECRET.
        #[arg(long)]
        secret: Option<secrecy::SecretString>,
    },
    /// Check a signature against the body on stdin; exit 0 if it matches, 1 if not.
    Verify {
        /// The signature to check (64 hex characters).
        #[arg(long)]
        signature: String,
        /// The secret; default: any of CAL_WEBHOOK_SECRET.
        #[arg(long)]
        secret: Option<secrecy::SecretString>,
    },
    /// Check the configuration and the store, one line each; exit 1 on any failure.
    Doctor {
        /// Skip checks that need the network (notification destinations).
        #[arg(long)]
        offline: bool,
    },
    /// Delete old deliveries and personal data (retention, GDPR requests).
    /// Bookings keep their non-personal fields.
    #[command(group = clap::ArgGroup::new("target").required(true))]
    Purge {
        /// Deliveries received before this long ago (`30d`, `12w`) or an RFC 3339
        /// time, and personal data of bookings that ended before it.
        #[arg(long, group = "target", value_parser = events::parse_since)]
        older_than: Option<time::OffsetDateTime>,
        /// Every booking of this attendee email and the deliveries that shaped them.
        #[arg(long, group = "target")]
        email: Option<String>,
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
    },
}

impl Command {
    /// Long-running commands log at info; the short-lived tools only warn,
    /// so that what they print is not buried in log lines.
    fn is_long_running(&self) -> bool {
        matches!(self, Command::Serve { .. } | Command::Worker)
    }
}

/// Parses arguments and configuration, then runs the chosen command.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("bookme: configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    let long_running = cli.command.is_long_running();
    let default_filter = if long_running {
        telemetry::DEFAULT_FILTER
    } else {
        telemetry::QUIET_FILTER
    };
    telemetry::init_with_default(config.log_format, default_filter);
    let runtime = match runtime(long_running) {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("bookme: could not start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command, config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if long_running {
                tracing::error!("{e:#}");
            }
            eprintln!("bookme: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The server gets every core; a short command needs only one thread.
fn runtime(long_running: bool) -> std::io::Result<tokio::runtime::Runtime> {
    if long_running {
        tokio::runtime::Runtime::new()
    } else {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    }
}

/// A token that fires on Ctrl-C or SIGTERM.
fn stop_on_signal() -> CancellationToken {
    let shutdown = CancellationToken::new();
    let token = shutdown.clone();
    tokio::spawn(async move {
        shutdown_signal().await;
        token.cancel();
    });
    shutdown
}

async fn run(command: Command, config: Config) -> anyhow::Result<()> {
    match command {
        Command::Serve { no_worker } => {
            let mut server = Server::bind(config).await?;
            if no_worker {
                server = server.without_worker();
            }
            server.run(stop_on_signal()).await
        }
        Command::Worker => run_worker(config, stop_on_signal()).await,
        Command::Migrate { json } => migrate(&config, json).await,
        Command::Events(cmd) => events::run(cmd, &open_store(&config).await?).await,
        Command::Bookings(cmd) => bookings::run(cmd, &open_store(&config).await?).await,
        Command::Notify(cmd) => crate::notify::commands::run(cmd, &config).await,
        Command::SendTest {
            trigger,
            url,
            secret,
            set,
            body,
        } => {
            let args = send_test::SendTest {
                trigger,
                url,
                secret,
                set,
                body,
            };
            succeed(
                send_test::run(&config, args).await?,
                "the delivery was not accepted",
            )
        }
        Command::Sign { secret } => sign::run_sign(&config, secret),
        Command::Verify { signature, secret } => succeed(
            sign::run_verify(&config, &signature, secret)?,
            "signature does not match",
        ),
        Command::Doctor { offline } => {
            succeed(doctor::run(&config, offline).await, "some checks failed")
        }
        Command::Purge {
            older_than,
            email,
            yes,
        } => {
            let which = match (older_than, email) {
                (Some(t), _) => crate::store::Purge::OlderThan(t),
                (None, Some(e)) => crate::store::Purge::Email(e),
                (None, None) => anyhow::bail!("pass --older-than or --email"),
            };
            purge::run(&open_store(&config).await?, which, yes).await
        }
    }
}

/// Turns a command's "did it work" into the exit code, with a short reason.
fn succeed(ok: bool, reason: &str) -> anyhow::Result<()> {
    if ok {
        Ok(())
    } else {
        anyhow::bail!("{reason}")
    }
}

async fn migrate(config: &Config, json: bool) -> anyhow::Result<()> {
    let store = open_store(config).await?;
    if json {
        let out = serde_json::json!({ "store": store.kind(), "migrated": true });
        table::print_json(&out)
    } else {
        println!("migrations applied ({} store)", store.kind());
        Ok(())
    }
}

async fn open_store(config: &Config) -> anyhow::Result<Store> {
    use anyhow::Context;
    Store::open(&config.database)
        .await
        .with_context(|| format!("could not open the {} store", config.database.kind()))
}
