//! Property tests for the parsers and the signature check: what the
//! verifier accepts, what it refuses, and that no input makes a parser
//! panic. Mutations start from the real Cal.com samples, so they reach deep
//! into the envelope, not only the first byte.

mod common;

use bookme::calcom::booking::BookingEvent;
use bookme::calcom::signature::{SignatureError, sign};
use bookme::calcom::{Event, Shape, Verifier};
use bookme::config::WebhookSecrets;
use bookme::ledger::Ledger;
use bytes::Bytes;
use proptest::prelude::*;

fn verifier(secret: &str) -> Verifier {
    Verifier::new(&WebhookSecrets::parse(secret)).expect("a secret")
}

fn samples() -> Vec<Vec<u8>> {
    let mut all: Vec<Vec<u8>> = common::deliveries().into_iter().map(|(_, b)| b).collect();
    all.extend(common::cases().into_iter().map(|c| c.raw.into_bytes()));
    all
}

/// Runs every parser the server and worker use on `body`.
fn parse_everything(body: &[u8]) {
    let _ = Shape::of(body);
    if let Ok(event) = Event::parse(body) {
        let booking = BookingEvent::from_event(&event);
        let mut ledger = Ledger::default();
        ledger.apply(&booking, "d1");
        ledger.apply(&booking, "d1");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn verify_accepts_what_sign_produces(secret in "[!-+--~]{1,64}", body in any::<Vec<u8>>()) {
        let signature = sign(secret.as_bytes(), &body);
        prop_assert!(verifier(&secret).verify(Some(signature.as_bytes()), Bytes::from(body)).is_ok());
    }

    #[test]
    fn any_byte_flip_in_the_body_fails(
        body in prop::collection::vec(any::<u8>(), 1..512),
        at in any::<prop::sample::Index>(),
        bit in 0u8..8,
    ) {
        let signature = sign(b"test-secret", &body);
        let mut flipped = body.clone();
        flipped[at.index(body.len())] ^= 1 << bit;
        let result = verifier("test-secret").verify(Some(signature.as_bytes()), Bytes::from(flipped));
        prop_assert_eq!(result.unwrap_err(), SignatureError::Mismatch);
    }

    #[test]
    fn any_change_to_the_signature_fails(at in 0usize..64, to in "[0-9a-f]") {
        let body = b"{\"triggerEvent\":\"PING\"}";
        let mut signature = sign(b"test-secret", body).into_bytes();
        prop_assume!(signature[at] != to.as_bytes()[0]);
        signature[at] = to.as_bytes()[0];
        let result = verifier("test-secret").verify(Some(&signature), Bytes::from_static(body));
        prop_assert_eq!(result.unwrap_err(), SignatureError::Mismatch);
    }

    #[test]
    fn any_signature_header_is_refused_without_panic(header in any::<Vec<u8>>()) {
        let result = verifier("test-secret").verify(Some(&header), Bytes::from_static(b"{}"));
        prop_assert!(result.is_err());
    }

    #[test]
    fn parsing_arbitrary_bytes_never_panics(body in any::<Vec<u8>>()) {
        parse_everything(&body);
    }

    #[test]
    fn parsing_mutated_samples_never_panics(
        pick in any::<prop::sample::Index>(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<prop::sample::Index>(),
    ) {
        let all = samples();
        let mut body = all[pick.index(all.len())].clone();
        for (at, byte) in edits {
            let i = at.index(body.len());
            body[i] = byte;
        }
        body.truncate(cut.index(body.len() + 1));
        parse_everything(&body);
    }

    #[test]
    fn retyped_fields_never_panic_or_lose_the_event(
        pick in any::<prop::sample::Index>(),
        field in prop::sample::select(vec![
            "uid", "startTime", "endTime", "attendees", "organizer", "responses",
            "metadata", "price", "status", "bookingId", "rescheduleUid", "createdAt",
        ]),
        value in prop::sample::select(vec![
            "null", "1", "-1.5", "true", "\"\"", "[]", "{}", "[1,{\"a\":null}]",
            "\"2025-13-45T99:00:00Z\"", "{\"value\":[1,2]}",
        ]),
    ) {
        let all: Vec<Vec<u8>> = common::deliveries().into_iter().map(|(_, b)| b).collect();
        let mut json: serde_json::Value = serde_json::from_slice(&all[pick.index(all.len())]).unwrap();
        let replacement: serde_json::Value = serde_json::from_str(value).unwrap();
        if json.get("payload").is_some_and(|p| p.is_object()) {
            json["payload"][field] = replacement;
        } else {
            json[field] = replacement;
        }
        let body = serde_json::to_vec(&json).unwrap();
        parse_everything(&body);
        prop_assert!(Event::parse(&body).is_ok(), "a retyped field lost the whole event");
    }
}
