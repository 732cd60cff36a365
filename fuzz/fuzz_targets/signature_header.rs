//! The signature check on arbitrary header values and bodies: it never
//! panics, refuses whatever is not the body's signature, and accepts the
//! body's own signature in either case.
#![no_main]

use bookme::calcom::Verifier;
use bookme::calcom::signature::sign;
use bookme::config::WebhookSecrets;
use bytes::Bytes;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The first byte says how long the header is; the body is the rest.
    let Some((&len, rest)) = data.split_first() else { return };
    let (header, body) = rest.split_at((len as usize).min(rest.len()));
    let verifier = Verifier::new(&WebhookSecrets::parse("fuzz-secret")).unwrap();
    let genuine = sign(b"fuzz-secret", body);
    let result = verifier.verify(Some(header), Bytes::copy_from_slice(body));
    let trimmed = header.trim_ascii();
    assert_eq!(result.is_ok(), trimmed.eq_ignore_ascii_case(genuine.as_bytes()));
    assert!(verifier.verify(Some(genuine.as_bytes()), Bytes::copy_from_slice(body)).is_ok());
});
