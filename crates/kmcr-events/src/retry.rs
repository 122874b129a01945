//! When a failed delivery is tried again, and when a subscription that keeps failing is put in error.

/// Exponential back-off with a ceiling; after `attempts_before_error` failures in a row (and at least
/// `error_after_ms` since the last success or the subscription's start) the subscription goes to `error`, and its
/// events wait, kept, for it to be put back to `requested`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    pub first_delay_ms: u64,
    pub max_delay_ms: u64,
    pub attempts_before_error: u32,
    pub error_after_ms: u64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy { first_delay_ms: 1_000, max_delay_ms: 300_000, attempts_before_error: 10, error_after_ms: 600_000 }
    }
}

impl RetryPolicy {
    /// The wait before attempt `failures + 1`, after `failures` failures in a row (1 or more), with `jitter` in
    /// [0, 1) spreading retries of many subscriptions.
    pub fn delay_ms(&self, failures: u32, jitter: f64) -> u64 {
        let doublings = failures.saturating_sub(1).min(30);
        let base = self.first_delay_ms.saturating_mul(1u64 << doublings).min(self.max_delay_ms);
        let spread = (base as f64 * 0.2 * jitter.clamp(0.0, 1.0)) as u64;
        base + spread
    }

    /// Whether a subscription with `failures` in a row, the first of them `failing_for_ms` ago, is in error.
    pub fn in_error(&self, failures: u32, failing_for_ms: u64) -> bool {
        failures >= self.attempts_before_error && failing_for_ms >= self.error_after_ms
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_up_to_the_ceiling_and_error_needs_both_count_and_time() {
        let policy = RetryPolicy::default();
        let delays: Vec<u64> = (1..=12).map(|failures| policy.delay_ms(failures, 0.0)).collect();
        assert_eq!(
            delays,
            [1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 64_000, 128_000, 256_000, 300_000, 300_000, 300_000]
        );
        assert!(policy.delay_ms(3, 0.99) > 4_000 && policy.delay_ms(3, 0.99) < 4_800);
        assert!(!policy.in_error(9, 3_600_000));
        assert!(!policy.in_error(10, 60_000));
        assert!(policy.in_error(10, 600_000));
    }
}
