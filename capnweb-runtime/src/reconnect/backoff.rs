//! How long to wait before the next attempt: exponential, capped, with jitter.

use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

/// Exponential backoff with jitter, for re-dialing a connection and for retrying calls.
///
/// The wait before attempt `n + 1` (after `n` failures) is `initial * 2^(n-1)`, capped at `max`,
/// of which a random half is taken off ("equal jitter"), so that many clients cut off at the
/// same moment do not all come back at the same moment. Start from the default and set what
/// you need:
///
/// ```
/// use std::time::Duration;
/// use capnweb_runtime::reconnect::Backoff;
///
/// let mut backoff = Backoff::default(); // 100 ms, doubling up to 10 s
/// backoff.max = Duration::from_secs(30);
/// let wait = backoff.delay(3); // after three failures: between 200 and 400 ms
/// assert!(wait >= Duration::from_millis(200) && wait <= Duration::from_millis(400));
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Backoff {
    /// The wait after the first failure (before jitter). Default 100 ms.
    pub initial: Duration,
    /// The longest wait (before jitter). Default 10 s.
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(10),
        }
    }
}

impl Backoff {
    /// The wait after `failures` failed attempts in a row (none after zero), jitter included.
    pub fn delay(&self, failures: u32) -> Duration {
        if failures == 0 {
            return Duration::ZERO;
        }
        let full = self.ceiling(failures);
        let half = full / 2;
        half + half.mul_f64(random_fraction())
    }

    /// The wait before jitter: `initial * 2^(failures-1)`, at most `max`.
    fn ceiling(&self, failures: u32) -> Duration {
        let doublings = failures.saturating_sub(1).min(30);
        self.initial
            .checked_mul(1 << doublings)
            .map_or(self.max, |d| d.min(self.max))
    }
}

/// A number in [0, 1) from the standard library's per-process random hash keys: jitter needs
/// spread across clients, not cryptographic quality, so no random-number crate is pulled in.
fn random_fraction() -> f64 {
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
    (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wait_doubles_up_to_the_cap_and_jitter_takes_at_most_half() {
        let backoff = Backoff::default();
        assert_eq!(backoff.delay(0), Duration::ZERO);
        for (failures, ceiling_ms) in [(1, 100), (2, 200), (3, 400), (7, 6400), (8, 10_000)] {
            let ceiling = Duration::from_millis(ceiling_ms);
            assert_eq!(backoff.ceiling(failures), ceiling);
            for _ in 0..50 {
                let wait = backoff.delay(failures);
                assert!(
                    wait >= ceiling / 2 && wait <= ceiling,
                    "{failures}: {wait:?}"
                );
            }
        }
        assert_eq!(backoff.ceiling(u32::MAX), backoff.max);
    }

    #[test]
    fn jitter_spreads_the_waits() {
        let backoff = Backoff::default();
        let waits: std::collections::HashSet<Duration> =
            (0..20).map(|_| backoff.delay(5)).collect();
        assert!(
            waits.len() > 10,
            "20 waits should rarely coincide: {waits:?}"
        );
    }
}
