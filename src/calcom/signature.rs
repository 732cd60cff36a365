//! The `X-Cal-Signature-256` check: HMAC-SHA256 of the exact request bytes,
//! sent as 64 lowercase hex characters with no prefix.
//!
//! Verification runs over the raw body before anything parses it, because a
//! re-serialized body (different spacing, `\u` escapes) has another digest.

use std::fmt;

use bytes::Bytes;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::config::WebhookSecrets;

type HmacSha256 = Hmac<Sha256>;

/// The header Cal.com signs with; header names match in any case.
pub const SIGNATURE_HEADER: &str = "x-cal-signature-256";

/// What Cal.com sends in the signature header when its webhook has no secret.
pub const NO_SECRET_PLACEHOLDER: &str = "no-secret-provided";

/// Why a delivery was refused. The client only ever sees "invalid signature";
/// the reason goes to the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("signature header missing")]
    Missing,
    #[error("signature is Cal.com's no-secret placeholder; set a secret on the webhook in Cal.com")]
    Placeholder,
    #[error("signature is not 64 hex characters")]
    Malformed,
    #[error("signature does not match any configured secret")]
    Mismatch,
}

impl SignatureError {
    /// A short stable code for logs and metrics.
    pub fn code(self) -> &'static str {
        match self {
            Self::Missing => "missing",
            Self::Placeholder => "placeholder",
            Self::Malformed => "malformed",
            Self::Mismatch => "mismatch",
        }
    }
}

/// A body whose signature matched one of the configured secrets. Only
/// [`Verifier::verify`] makes one, so holding it proves the check ran.
#[derive(Debug, Clone)]
pub struct VerifiedDelivery {
    body: Bytes,
}

impl VerifiedDelivery {
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    pub fn into_body(self) -> Bytes {
        self.body
    }
}

/// Checks signatures against one or more secrets.
///
/// The keyed HMAC state is built once per secret at start; each check clones
/// it, which skips re-hashing the key on every request.
#[derive(Clone)]
pub struct Verifier {
    keyed: Vec<HmacSha256>,
}

impl Verifier {
    /// Returns `None` when no secret is configured.
    pub fn new(secrets: &WebhookSecrets) -> Option<Self> {
        let keyed: Vec<_> = secrets.keys().map(keyed_mac).collect();
        (!keyed.is_empty()).then_some(Self { keyed })
    }

    /// Verifies `body` against the header value, in constant time per secret.
    pub fn verify(
        &self,
        header: Option<&[u8]>,
        body: Bytes,
    ) -> Result<VerifiedDelivery, SignatureError> {
        let expected = decode_header(header)?;
        let matches = self.keyed.iter().any(|mac| {
            let mut mac = mac.clone();
            mac.update(&body);
            mac.verify_slice(&expected).is_ok()
        });
        if matches {
            Ok(VerifiedDelivery { body })
        } else {
            Err(SignatureError::Mismatch)
        }
    }
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Verifier({} keys, redacted)", self.keyed.len())
    }
}

/// Signs a body as Cal.com does: lowercase hex of HMAC-SHA256.
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    let mut mac = keyed_mac(secret);
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

fn keyed_mac(secret: &[u8]) -> HmacSha256 {
    // HMAC accepts keys of any length, so this cannot fail.
    HmacSha256::new_from_slice(secret).expect("HMAC takes keys of any length")
}

fn decode_header(header: Option<&[u8]>) -> Result<[u8; 32], SignatureError> {
    let raw = header.ok_or(SignatureError::Missing)?.trim_ascii();
    if raw.is_empty() {
        return Err(SignatureError::Missing);
    }
    if raw.eq_ignore_ascii_case(NO_SECRET_PLACEHOLDER.as_bytes()) {
        return Err(SignatureError::Placeholder);
    }
    let mut digest = [0u8; 32];
    if raw.len() != 64 || hex::decode_to_slice(raw, &mut digest).is_err() {
        return Err(SignatureError::Malformed);
    }
    Ok(digest)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verifier(secrets: &str) -> Verifier {
        Verifier::new(&WebhookSecrets::parse(secrets)).unwrap()
    }

    fn check(v: &Verifier, header: &str, body: &'static [u8]) -> Result<(), SignatureError> {
        v.verify(Some(header.as_bytes()), Bytes::from_static(body))
            .map(|_| ())
    }

    #[test]
    fn a_known_cal_com_signature_verifies() {
        // HMAC-SHA256("test-secret", "{}") as in the shared case R11.
        let sig = "2f59040b63b7200598444239da2c9a4f3abc5c434259b23126d72514dab8cd09";
        assert_eq!(sign(b"test-secret", b"{}"), sig);
        assert_eq!(check(&verifier("test-secret"), sig, b"{}"), Ok(()));
    }

    #[test]
    fn each_reason_is_told_apart() {
        let v = verifier("test-secret");
        let body = Bytes::from_static(b"{}");
        assert_eq!(
            v.verify(None, body.clone()).unwrap_err(),
            SignatureError::Missing
        );
        assert_eq!(check(&v, "  ", b"{}"), Err(SignatureError::Missing));
        assert_eq!(
            check(&v, "no-secret-provided", b"{}"),
            Err(SignatureError::Placeholder)
        );
        assert_eq!(check(&v, "abc", b"{}"), Err(SignatureError::Malformed));
        assert_eq!(
            check(&v, &"g".repeat(64), b"{}"),
            Err(SignatureError::Malformed)
        );
        let other = sign(b"other", b"{}");
        assert_eq!(check(&v, &other, b"{}"), Err(SignatureError::Mismatch));
    }

    #[test]
    fn any_configured_secret_verifies_during_rotation() {
        let v = verifier("old-secret,new-secret");
        assert_eq!(check(&v, &sign(b"old-secret", b"x"), b"x"), Ok(()));
        assert_eq!(check(&v, &sign(b"new-secret", b"x"), b"x"), Ok(()));
    }

    #[test]
    fn uppercase_hex_is_accepted() {
        let v = verifier("s");
        assert_eq!(check(&v, &sign(b"s", b"x").to_uppercase(), b"x"), Ok(()));
    }

    #[test]
    fn no_secrets_means_no_verifier() {
        assert!(Verifier::new(&WebhookSecrets::default()).is_none());
        assert!(!format!("{:?}", verifier("hunter2")).contains("hunter2"));
    }
}
