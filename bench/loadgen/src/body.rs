//! Unique, correctly signed webhook bodies made from one fixture.
//!
//! The fixture's raw text is split wherever its booking uid or its
//! `createdAt` value occurs. Each body joins the pieces with a fresh uid and
//! a fresh `createdAt`, so the bytes (and their SHA-256) differ per request
//! while the shape and size stay those of a real delivery.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

enum Piece {
    Text(String),
    Uid,
    CreatedAt,
}

pub struct BodyGen {
    pieces: Vec<Piece>,
    keyed: HmacSha256,
    /// Distinguishes this process's uids from an earlier run's.
    nonce: u64,
    seq: AtomicU64,
    last_created_ms: AtomicU64,
}

impl BodyGen {
    pub fn from_fixture(raw: &str, secret: &str) -> Result<Self, String> {
        let json: serde_json::Value =
            serde_json::from_str(raw).map_err(|e| format!("fixture is not JSON: {e}"))?;
        let uid = json["payload"]["uid"]
            .as_str()
            .ok_or("fixture has no payload.uid")?;
        let created = json["createdAt"]
            .as_str()
            .ok_or("fixture has no createdAt")?;
        let keyed = HmacSha256::new_from_slice(secret.as_bytes()).map_err(|e| e.to_string())?;
        let nonce = now_nanos() as u64;
        Ok(Self {
            pieces: split(raw, uid, created),
            keyed,
            nonce,
            seq: AtomicU64::new(0),
            last_created_ms: AtomicU64::new(0),
        })
    }

    /// A new body and its `X-Cal-Signature-256` value.
    pub fn next(&self) -> (Bytes, String) {
        let seq = self.seq.fetch_add(1, Ordering::Relaxed);
        let uid = uid(self.nonce, seq);
        let created = iso_millis(self.next_created_ms());
        let mut body = String::with_capacity(4096);
        for piece in &self.pieces {
            match piece {
                Piece::Text(t) => body.push_str(t),
                Piece::Uid => body.push_str(&uid),
                Piece::CreatedAt => body.push_str(&created),
            }
        }
        let mut mac = self.keyed.clone();
        mac.update(body.as_bytes());
        let signature = hex::encode(mac.finalize().into_bytes());
        (Bytes::from(body), signature)
    }

    /// Wall-clock milliseconds, but strictly increasing, so that no two
    /// bodies share a `createdAt` even at many thousand requests a second.
    fn next_created_ms(&self) -> u64 {
        let now = (now_nanos() / 1_000_000) as u64;
        let prev = self
            .last_created_ms
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |last| {
                Some(now.max(last + 1))
            })
            .unwrap_or(0);
        now.max(prev + 1)
    }
}

fn split(raw: &str, uid: &str, created: &str) -> Vec<Piece> {
    let mut pieces = Vec::new();
    let mut rest = raw;
    loop {
        let at_uid = rest.find(uid).map(|i| (i, uid.len(), Piece::Uid));
        let at_created = rest
            .find(created)
            .map(|i| (i, created.len(), Piece::CreatedAt));
        let next = match (at_uid, at_created) {
            (Some(a), Some(b)) => Some(if a.0 <= b.0 { a } else { b }),
            (a, b) => a.or(b),
        };
        let Some((index, len, piece)) = next else {
            pieces.push(Piece::Text(rest.to_owned()));
            return pieces;
        };
        pieces.push(Piece::Text(rest[..index].to_owned()));
        pieces.push(piece);
        rest = &rest[index + len..];
    }
}

/// 22 base62 characters, like Cal.com's booking uids: 11 from the process
/// nonce, 11 from the sequence number.
fn uid(nonce: u64, seq: u64) -> String {
    let mut out = String::with_capacity(22);
    base62(nonce, &mut out);
    base62(seq, &mut out);
    out
}

fn base62(mut n: u64, out: &mut String) {
    const DIGITS: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut buf = [b'0'; 11];
    for slot in buf.iter_mut().rev() {
        *slot = DIGITS[(n % 62) as usize];
        n /= 62;
    }
    out.extend(buf.iter().map(|&b| b as char));
}

fn now_nanos() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

/// `2025-03-10T07:15:42.318Z` from milliseconds since the epoch.
fn iso_millis(ms: u64) -> String {
    let secs = ms / 1000;
    let (y, m, d) = civil_from_days((secs / 86_400) as i64);
    let tod = secs % 86_400;
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        tod / 3600,
        tod / 60 % 60,
        tod % 60,
        ms % 1000
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's
/// algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_format_as_cal_com_does() {
        assert_eq!(iso_millis(1_741_590_942_318), "2025-03-10T07:15:42.318Z");
        assert_eq!(iso_millis(951_782_400_000), "2000-02-29T00:00:00.000Z");
    }

    #[test]
    fn bodies_differ_in_uid_and_created_at_and_are_signed() {
        let raw = r#"{"createdAt":"2025-03-10T07:15:42.318Z","payload":{"uid":"abc","x":"abc"}}"#;
        let bodies = BodyGen::from_fixture(raw, "s").unwrap();
        let (a, sig_a) = bodies.next();
        let (b, _) = bodies.next();
        assert_ne!(a, b);
        let text = std::str::from_utf8(&a).unwrap();
        assert!(!text.contains("abc") && !text.contains("2025-03-10"));
        let json: serde_json::Value = serde_json::from_slice(&a).unwrap();
        assert_eq!(json["payload"]["uid"], json["payload"]["x"]);
        let mut mac = HmacSha256::new_from_slice(b"s").unwrap();
        mac.update(&a);
        assert_eq!(sig_a, hex::encode(mac.finalize().into_bytes()));
    }
}
