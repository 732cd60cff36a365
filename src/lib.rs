//! bookme: a self-hosted Cal.com booking page and durable webhook receiver.
//!
//! # Layout
//!
//! - [`admin`]: the operator's dashboard at `/admin`, when a token is set.
//! - [`config`]: typed configuration from the environment.
//! - [`telemetry`]: logging setup.
//! - [`calcom`]: Cal.com's contract: signatures, body shapes, typed events.
//! - [`ledger`]: the bookings ledger as pure logic, one record per booking.
//! - [`store`]: durable deliveries, with group commit, and the outbox.
//! - [`notify`]: telling the owner (Telegram, email, forward), once.
//! - [`worker`]: turns stored deliveries into processed ones.
//! - [`http`]: routes and handlers.
//! - [`pages`]: the booking pages, their assets and the localized 404.
//! - [`server`]: wiring for `bookme serve`.
//! - [`cli`]: the command line.
//!
//! `ARCHITECTURE.md` states the invariants that hold across these modules.

pub mod admin;
pub mod calcom;
pub mod cli;
pub mod config;
pub mod http;
pub mod ledger;
pub mod notify;
pub mod pages;
pub mod retry;
pub mod server;
pub mod store;
pub mod telemetry;
pub mod worker;
