//! The Cal.com side of the contract: how deliveries are signed, what shape a
//! body has, and the typed events the worker reads.
//!
//! `signature` runs first, on raw bytes. `shape` is a shallow look at a
//! verified body for the ingest log line. `event` is the full, tolerant parse
//! that only the worker performs.

pub mod event;
pub mod shape;
pub mod signature;

pub use event::{Event, Trigger};
pub use shape::{Shape, ShapeKind};
pub use signature::{SignatureError, VerifiedDelivery, Verifier};
