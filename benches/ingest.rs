//! The per-delivery CPU work, for each sample in `tests/fixtures/deliveries`:
//! what the webhook handler does before it stores (`Verifier::verify` and
//! `Shape::of`), and what the worker does to read an event (`Event::parse`
//! and `BookingEvent::from_event`).
//!
//! Run with `cargo bench --bench ingest`.

use std::hint::black_box;
use std::path::Path;

use bookme::calcom::signature::sign;
use bookme::calcom::{BookingEvent, Event, Shape, Verifier};
use bookme::config::WebhookSecrets;
use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const SECRET: &str = "bench-secret";

/// The samples as Cal.com sends them, by name, sorted for a stable report.
fn samples() -> Vec<(String, Bytes)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/deliveries");
    let mut samples: Vec<_> = std::fs::read_dir(&dir)
        .expect("the deliveries fixtures exist")
        .map(|entry| entry.expect("a readable directory entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "json"))
        .map(|path| {
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            let body = std::fs::read(&path).expect("a readable fixture");
            (name, Bytes::from(body))
        })
        .collect();
    samples.sort();
    assert!(!samples.is_empty(), "no samples in {}", dir.display());
    samples
}

fn handler(c: &mut Criterion) {
    let verifier = Verifier::new(&WebhookSecrets::parse(SECRET)).expect("one secret");
    let mut group = c.benchmark_group("handler: verify + shape");
    for (name, body) in samples() {
        let signature = sign(SECRET.as_bytes(), &body);
        group.throughput(Throughput::Bytes(body.len() as u64));
        group.bench_function(&name, |b| {
            b.iter(|| {
                // The handler owns the body; cloning `Bytes` is a refcount bump.
                let verified = verifier
                    .verify(Some(signature.as_bytes()), black_box(body.clone()))
                    .expect("a valid signature");
                black_box(Shape::of(verified.body()))
            })
        });
    }
    group.finish();
}

fn worker(c: &mut Criterion) {
    let mut group = c.benchmark_group("worker: parse + booking");
    for (name, body) in samples() {
        group.throughput(Throughput::Bytes(body.len() as u64));
        group.bench_function(&name, |b| {
            b.iter(|| {
                let event = Event::parse(black_box(&body)).expect("an event");
                black_box(BookingEvent::from_event(&event))
            })
        });
    }
    group.finish();
}

criterion_group!(benches, handler, worker);
criterion_main!(benches);
