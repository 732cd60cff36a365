//! The command line: `bookme serve`, `bookme worker`, `bookme migrate`,
//! `bookme notify`.

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
    /// Serve the webhook receiver and run the worker.
    Serve {
        /// Serve HTTP only; deliveries wait for a `bookme worker`.
        #[arg(long)]
        no_worker: bool,
    },
    /// Run a worker with no HTTP server (several may share one PostgreSQL).
    Worker,
    /// Create the store and apply migrations, then exit.
    Migrate,
    /// Owner notifications: send a test, resend an event.
    #[command(subcommand)]
    Notify(crate::notify::commands::NotifyCommand),
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
    telemetry::init(config.log_format);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("bookme: could not start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command, config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("bookme: {e:#}");
            ExitCode::FAILURE
        }
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
        Command::Migrate => {
            Store::open(&config.database).await?;
            tracing::info!(store = config.database.kind(), "migrations applied");
            Ok(())
        }
        Command::Notify(command) => crate::notify::commands::run(command, &config).await,
    }
}
