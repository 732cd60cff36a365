//! The Cal.com side of the contract: how deliveries are signed, what shape a
//! body has, and the typed events the worker reads.
//!
//! `signature` runs first, on raw bytes. `shape` is a shallow look at a
//! verified body for the ingest log line. `event` is the full, tolerant parse
//! that only the worker performs, and `booking` reads the booking fields the
//! ledger needs from it.

pub mod booking;
pub mod event;
#[cfg(test)]
pub(crate) mod fixtures;
pub mod shape;
pub mod signature;

pub use booking::{BookingEvent, BookingStatus};
pub use event::{Event, Trigger};
pub use shape::{Shape, ShapeKind};
pub use signature::{SignatureError, VerifiedDelivery, Verifier};
