//! `bookme notify test`, `bookme notify list` and `bookme notify resend`.

use anyhow::{Context, bail};
use clap::Subcommand;

use super::config::NotifyConfig;
use super::dispatcher::send_test;
use super::{Outbox, SendError};
use crate::calcom::BookingEvent;
use crate::config::Config;
use crate::store::{DeliveryId, NotifyStatus, Resend, Store};
use crate::worker::rfc3339;

#[derive(Debug, Subcommand)]
pub enum NotifyCommand {
    /// Send a test message to one destination (or to each) and print the outcome.
    Test {
        /// A destination name: telegram, email, forward, or one from BOOKME_CONFIG.
        destination: Option<String>,
    },
    /// List delivery records by status, oldest first (dead letters by default).
    List {
        /// pending, sent or dead.
        #[arg(long, default_value = "dead")]
        status: String,
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
    /// Queue an event's notifications again. Without --force only dead
    /// letters are re-queued, so nothing already delivered is sent twice.
    Resend {
        /// The delivery id of the event (as `bookme events` shows it).
        event_id: String,
        /// Only this destination.
        #[arg(long)]
        destination: Option<String>,
        /// Also send again what was already delivered.
        #[arg(long)]
        force: bool,
    },
}

pub async fn run(command: NotifyCommand, config: &Config) -> anyhow::Result<()> {
    match command {
        NotifyCommand::Test { destination } => test(&config.notify, destination.as_deref()).await,
        NotifyCommand::List { status, limit } => list(config, &status, limit).await,
        NotifyCommand::Resend {
            event_id,
            destination,
            force,
        } => resend(config, &event_id, destination.as_deref(), force).await,
    }
}

async fn test(config: &NotifyConfig, only: Option<&str>) -> anyhow::Result<()> {
    if config.destinations.is_empty() {
        bail!("no destination is configured (see README: Notifications)");
    }
    let chosen: Vec<_> = match only {
        Some(name) => vec![known(config, name)?],
        None => config.destinations.iter().collect(),
    };
    let mut failed = 0;
    for dest in chosen {
        match send_test(config, dest).await {
            Ok(()) => println!("{} ({}): sent", dest.name, dest.kind.as_str()),
            Err(e) => {
                failed += 1;
                let what = match e {
                    SendError::Gone(_) => "gone",
                    SendError::Retry { .. } => "failed",
                };
                println!("{} ({}): {what}: {e}", dest.name, dest.kind.as_str());
            }
        }
    }
    if failed > 0 {
        bail!("{failed} destination(s) failed");
    }
    Ok(())
}

async fn list(config: &Config, status: &str, limit: i64) -> anyhow::Result<()> {
    let status = NotifyStatus::parse(status)
        .with_context(|| format!("--status: pending, sent or dead, got {status:?}"))?;
    let store = open(config).await?;
    let records = store.notifications_with(status, limit).await?;
    for r in &records {
        let error = r.last_error.as_deref().unwrap_or("-");
        println!(
            "{} {} {} {} attempts={} queued={} last_error={error}",
            r.delivery_id,
            r.destination,
            r.trigger,
            r.status.as_str(),
            r.attempts,
            rfc3339(r.queued_at),
        );
    }
    println!("{} record(s)", records.len());
    Ok(())
}

async fn open(config: &Config) -> anyhow::Result<Store> {
    Store::open(&config.database)
        .await
        .with_context(|| format!("could not open the {} store", config.database.kind()))
}

async fn resend(
    config: &Config,
    event_id: &str,
    only: Option<&str>,
    force: bool,
) -> anyhow::Result<()> {
    if let Some(name) = only {
        known(&config.notify, name)?;
    }
    let store = open(config).await?;
    let delivery = DeliveryId::from_stored(event_id.to_owned());
    let stored = store
        .get(event_id)
        .await?
        .with_context(|| format!("no delivery with id {event_id}"))?;
    let event = BookingEvent::parse(&stored.body).context("the delivery is not an event")?;
    let outbox = Outbox::from_config(&config.notify);
    let force_to: Vec<String> = match only {
        Some(name) => vec![name.to_owned()],
        None => outbox
            .destinations_for(&event.trigger)
            .map(str::to_owned)
            .collect(),
    };
    let queued = store
        .resend_notifications(&Resend {
            delivery: &delivery,
            destination: only,
            force,
            force_to: &force_to,
        })
        .await?;
    println!("{queued} notification(s) queued; a running bookme sends them");
    if queued == 0 && !force {
        println!("nothing was dead; use --force to send again what was delivered");
    }
    Ok(())
}

fn known<'a>(config: &'a NotifyConfig, name: &str) -> anyhow::Result<&'a super::Destination> {
    config.destination(name).with_context(|| {
        let names: Vec<_> = config
            .destinations
            .iter()
            .map(|d| d.name.as_str())
            .collect();
        format!("no destination {name:?}; configured: {}", names.join(", "))
    })
}
