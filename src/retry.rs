//! The retry policy shared by the worker and the notification dispatcher:
//! exponential backoff with jitter.

use std::time::Duration;

/// The wait before attempt `n + 1` after `n` failed ones: uniform in
/// [d/2, d] where d = `base` * 2^(n-1), capped at `cap`. The jitter keeps
/// many failed items from retrying in lockstep.
pub fn backoff(base: Duration, cap: Duration, attempt: i64) -> Duration {
    let exp = u32::try_from(attempt.saturating_sub(1))
        .unwrap_or(u32::MAX)
        .min(30);
    let full = base.saturating_mul(1 << exp).min(cap);
    full.mul_f64(0.5 + fastrand::f64() / 2.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_within_jitter_and_stop_at_the_cap() {
        let (base, cap) = (Duration::from_secs(2), Duration::from_secs(60));
        for (attempt, full) in [(1, 2), (2, 4), (3, 8), (6, 60), (1000, 60)] {
            let wait = backoff(base, cap, attempt);
            let full = Duration::from_secs(full);
            assert!(
                wait >= full / 2 && wait <= full,
                "attempt {attempt}: {wait:?}"
            );
        }
    }
}
