//! The command line: `bookme serve`, `bookme migrate`.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::server::{Server, shutdown_signal};
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
    Serve,
    /// Create the store and apply migrations, then exit.
    Migrate,
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

async fn run(command: Command, config: Config) -> anyhow::Result<()> {
    match command {
        Command::Serve => {
            let server = Server::bind(config).await?;
            let shutdown = CancellationToken::new();
            tokio::spawn({
                let shutdown = shutdown.clone();
                async move {
                    shutdown_signal().await;
                    shutdown.cancel();
                }
            });
            server.run(shutdown).await
        }
        Command::Migrate => {
            Store::open(&config.database).await?;
            tracing::info!(store = config.database.kind(), "migrations applied");
            Ok(())
        }
    }
}
