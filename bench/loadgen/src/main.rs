//! bookme's load generator.
//!
//! - `webhook`: POSTs unique, correctly signed deliveries to `/api/cal/webhook`.
//!   Every body gets its own booking uid and `createdAt`, so a receiver that
//!   deduplicates stores each one; deduplication cannot flatter the figure.
//! - `get PATH`: GETs one path, e.g. `/healthz` or `/en/bookme`.
//! - `ready -- CMD...`: starts a server and times exec to the first 200 on
//!   `/readyz`, then reads its idle RSS.
//!
//! Load modes keep a fixed number of keep-alive connections busy for a fixed
//! time (closed loop, like wrk). Each prints one human line on stderr and one
//! JSON line on stdout for the scripts. Only loopback targets are accepted.

mod args;
mod body;
mod load;
mod procstat;
mod ready;

use std::process::ExitCode;

use args::{Args, Mode};

fn main() -> ExitCode {
    let args = match Args::parse(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(message) => {
            eprintln!("loadgen: {message}\n\n{}", args::USAGE);
            return ExitCode::from(2);
        }
    };
    let result = match &args.mode {
        Mode::Ready { command } => ready::run(&args, command),
        Mode::Webhook | Mode::Get { .. } => load::main(&args),
    };
    match result {
        Ok(json) => {
            println!("{json}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("loadgen: {message}");
            ExitCode::FAILURE
        }
    }
}
