//! Who may use the dashboard: the admin token, stateless signed sessions,
//! CSRF tokens and the failed-login limit.
//!
//! Every key is derived from `BOOKME_ADMIN_TOKEN`, so sessions work across
//! instances that share the token, and rotating the token ends every
//! session at once. Nothing here is stored server-side except the
//! failed-login counts, which are per instance.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

/// How long a login lasts.
pub const SESSION_LIFETIME: Duration = Duration::from_secs(12 * 3600);

/// How long the login form may sit open before it must be reloaded.
pub const LOGIN_FORM_LIFETIME: Duration = Duration::from_secs(3600);

/// Failed logins allowed per client address within [`FAILURE_WINDOW`].
pub const MAX_FAILURES: usize = 5;

/// The window over which failed logins are counted.
pub const FAILURE_WINDOW: Duration = Duration::from_secs(15 * 60);

/// The keys derived from the admin token. Its `Debug` shows nothing.
pub struct Keys {
    token_digest: [u8; 32],
    session: [u8; 32],
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keys([redacted])")
    }
}

/// A session cookie's value whose signature and expiry were checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedSession(String);

impl Keys {
    pub fn derive(token: &SecretString) -> Self {
        let token = token.expose_secret().as_bytes();
        Self {
            token_digest: Sha256::digest(token).into(),
            session: mac_bytes(token, b"bookme-admin-session"),
        }
    }

    /// Compares a submitted token with ours in constant time. Both sides
    /// are hashed first, so neither the length nor a prefix leaks.
    pub fn token_matches(&self, submitted: &str) -> bool {
        let digest: [u8; 32] = Sha256::digest(submitted.as_bytes()).into();
        digest.ct_eq(&self.token_digest).into()
    }

    /// A new session cookie value: `<expiry>.<nonce>.<mac>`.
    pub fn new_session(&self, now_unix: u64) -> String {
        let expiry = now_unix + SESSION_LIFETIME.as_secs();
        self.signed(b"session", &format!("{expiry}.{}", nonce()))
    }

    /// Checks a session cookie's signature and expiry.
    pub fn verify_session(&self, value: &str, now_unix: u64) -> Option<VerifiedSession> {
        self.verify_signed(b"session", value, now_unix)
            .map(|()| VerifiedSession(value.to_owned()))
    }

    /// The CSRF token for forms shown in `session`.
    pub fn csrf_token(&self, session: &VerifiedSession) -> String {
        hex::encode(self.mac(b"csrf", session.0.as_bytes()))
    }

    /// Whether `submitted` is the CSRF token of `session`, in constant time.
    pub fn csrf_matches(&self, session: &VerifiedSession, submitted: &str) -> bool {
        self.hex_mac_matches(b"csrf", session.0.as_bytes(), submitted)
    }

    /// A new value for the login form's cookie: `<expiry>.<nonce>.<mac>`.
    pub fn new_login_nonce(&self, now_unix: u64) -> String {
        let expiry = now_unix + LOGIN_FORM_LIFETIME.as_secs();
        self.signed(b"login", &format!("{expiry}.{}", nonce()))
    }

    /// The login form's CSRF token, bound to the form's cookie.
    pub fn login_csrf_token(&self, cookie: &str) -> String {
        hex::encode(self.mac(b"login-csrf", cookie.as_bytes()))
    }

    /// Whether the login cookie is ours and current and `submitted` is its
    /// token. A cross-site form cannot read or set the cookie.
    pub fn login_csrf_matches(&self, cookie: &str, submitted: &str, now_unix: u64) -> bool {
        self.verify_signed(b"login", cookie, now_unix).is_some()
            && self.hex_mac_matches(b"login-csrf", cookie.as_bytes(), submitted)
    }

    fn signed(&self, purpose: &[u8], payload: &str) -> String {
        let mac = hex::encode(self.mac(purpose, payload.as_bytes()));
        format!("{payload}.{mac}")
    }

    fn verify_signed(&self, purpose: &[u8], value: &str, now_unix: u64) -> Option<()> {
        let (payload, mac) = value.rsplit_once('.')?;
        let expiry: u64 = payload.split('.').next()?.parse().ok()?;
        let fresh = expiry > now_unix;
        (self.hex_mac_matches(purpose, payload.as_bytes(), mac) && fresh).then_some(())
    }

    fn hex_mac_matches(&self, purpose: &[u8], message: &[u8], submitted_hex: &str) -> bool {
        let Ok(submitted) = hex::decode(submitted_hex) else {
            return false;
        };
        self.mac_state(purpose, message)
            .verify_slice(&submitted)
            .is_ok()
    }

    fn mac(&self, purpose: &[u8], message: &[u8]) -> [u8; 32] {
        self.mac_state(purpose, message)
            .finalize()
            .into_bytes()
            .into()
    }

    /// HMAC over `purpose`, a separator and the message, so a value signed
    /// for one purpose never verifies for another.
    fn mac_state(&self, purpose: &[u8], message: &[u8]) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.session).expect("HMAC takes any key");
        mac.update(purpose);
        mac.update(b"\0");
        mac.update(message);
        mac
    }
}

fn mac_bytes(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes any key");
    mac.update(message);
    mac.finalize().into_bytes().into()
}

/// 122 random bits from the operating system, as hex.
fn nonce() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// Failed logins per client address, in this process only. Several
/// instances each keep their own counts, so the effective limit is the
/// per-instance limit times the number of instances.
#[derive(Default)]
pub struct FailedLogins {
    by_addr: Mutex<HashMap<IpAddr, VecDeque<Instant>>>,
}

impl FailedLogins {
    /// `Some(wait)` when `addr` has used up its failures in the window.
    pub fn blocked_for(&self, addr: IpAddr, now: Instant) -> Option<Duration> {
        let mut map = self.by_addr.lock().unwrap_or_else(|e| e.into_inner());
        let times = map.get_mut(&addr)?;
        forget_old(times, now);
        if times.len() < MAX_FAILURES {
            return None;
        }
        let oldest = *times.front()?;
        Some(FAILURE_WINDOW.saturating_sub(now - oldest))
    }

    /// Counts one failure, and forgets addresses whose failures expired.
    pub fn record(&self, addr: IpAddr, now: Instant) {
        let mut map = self.by_addr.lock().unwrap_or_else(|e| e.into_inner());
        let times = map.entry(addr).or_default();
        forget_old(times, now);
        times.push_back(now);
        if times.len() > MAX_FAILURES {
            times.pop_front();
        }
        if map.len() > 1024 {
            map.retain(|_, times| {
                forget_old(times, now);
                !times.is_empty()
            });
        }
    }

    /// A successful login clears the address's failures.
    pub fn clear(&self, addr: IpAddr) {
        let mut map = self.by_addr.lock().unwrap_or_else(|e| e.into_inner());
        map.remove(&addr);
    }
}

fn forget_old(times: &mut VecDeque<Instant>, now: Instant) {
    while times
        .front()
        .is_some_and(|t| now.duration_since(*t) >= FAILURE_WINDOW)
    {
        times.pop_front();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(token: &str) -> Keys {
        Keys::derive(&SecretString::from(token.to_owned()))
    }

    #[test]
    fn the_token_is_compared_whole() {
        let k = keys("correct horse");
        assert!(k.token_matches("correct horse"));
        assert!(!k.token_matches("correct hors"));
        assert!(!k.token_matches("correct horse "));
        assert!(!k.token_matches(""));
    }

    #[test]
    fn sessions_expire_and_do_not_survive_a_new_token() {
        let k = keys("token-one");
        let cookie = k.new_session(1_000);
        assert!(k.verify_session(&cookie, 1_001).is_some());
        let expired = 1_000 + SESSION_LIFETIME.as_secs();
        assert!(k.verify_session(&cookie, expired).is_none());
        assert!(keys("token-two").verify_session(&cookie, 1_001).is_none());
    }

    #[test]
    fn a_tampered_session_is_refused() {
        let k = keys("token");
        let cookie = k.new_session(1_000);
        let later = cookie.replacen(&(1_000 + SESSION_LIFETIME.as_secs()).to_string(), "9", 1);
        assert!(k.verify_session(&later, 1_001).is_none());
        assert!(k.verify_session("", 1).is_none());
        assert!(k.verify_session("1.2.zz", 1).is_none());
    }

    #[test]
    fn csrf_tokens_are_bound_to_their_session_and_purpose() {
        let k = keys("token");
        let a = k.verify_session(&k.new_session(1), 2).unwrap();
        let b = k.verify_session(&k.new_session(1), 2).unwrap();
        let token = k.csrf_token(&a);
        assert!(k.csrf_matches(&a, &token));
        assert!(!k.csrf_matches(&b, &token));
        assert!(!k.csrf_matches(&a, ""));
        let login = k.new_login_nonce(1);
        assert!(!k.login_csrf_matches(&login, &token, 2));
        assert!(k.login_csrf_matches(&login, &k.login_csrf_token(&login), 2));
        // A session cookie is not a login cookie, even with its own token.
        let session = k.new_session(1);
        assert!(!k.login_csrf_matches(&session, &k.login_csrf_token(&session), 2));
    }

    #[test]
    fn failures_block_after_the_limit_until_the_window_passes() {
        let limit = FailedLogins::default();
        let addr: IpAddr = [10, 0, 0, 1].into();
        let start = Instant::now();
        for i in 0..MAX_FAILURES {
            assert!(limit.blocked_for(addr, start).is_none(), "after {i}");
            limit.record(addr, start);
        }
        assert_eq!(limit.blocked_for(addr, start), Some(FAILURE_WINDOW));
        let other: IpAddr = [10, 0, 0, 2].into();
        assert!(limit.blocked_for(other, start).is_none());
        assert!(limit.blocked_for(addr, start + FAILURE_WINDOW).is_none());
    }
}
