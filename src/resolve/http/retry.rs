//! Retrying: the policy, the server's retry headers, and the wait between
//! attempts (a trait, so tests do not sleep).

use std::time::{Duration, SystemTime};

use crate::progress::{CancelToken, Cancelled};

/// How often and how long to retry (the SDKs' defaults).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// The first backoff, doubled at each retry.
    pub initial_delay: Duration,
    /// The longest backoff.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self { max_retries: 2, initial_delay: Duration::from_millis(500), max_delay: Duration::from_secs(8) }
    }
}

impl RetryPolicy {
    /// The wait before retry number `retry` (0 for the first), given the
    /// response's headers (none after a connection error), the time now and
    /// a jitter factor in [0.75, 1].
    pub fn delay(&self, retry: u32, headers: &RetryHeaders, now: SystemTime, jitter: f64) -> Duration {
        if let Some(wait) = headers.server_wait(now) {
            return wait;
        }
        let doubled = self.initial_delay.saturating_mul(2u32.saturating_pow(retry.min(31)));
        doubled.min(self.max_delay).mul_f64(jitter.clamp(0.75, 1.0))
    }
}

/// The response headers that steer a retry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RetryHeaders {
    /// `x-should-retry`.
    pub should_retry: Option<String>,
    /// `retry-after-ms`.
    pub retry_after_ms: Option<String>,
    /// `retry-after`.
    pub retry_after: Option<String>,
}

impl RetryHeaders {
    pub(super) fn of(response: &ureq::http::Response<ureq::Body>) -> Self {
        let get = |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        Self {
            should_retry: get("x-should-retry"),
            retry_after_ms: get("retry-after-ms"),
            retry_after: get("retry-after"),
        }
    }

    /// Whether a response with `status` should be retried.
    pub fn retryable(&self, status: u16) -> bool {
        match self.should_retry.as_deref().map(str::trim) {
            Some("true") => true,
            Some("false") => false,
            _ => matches!(status, 408 | 409 | 429) || status >= 500,
        }
    }

    /// The wait the server asked for, when it is a sensible one (0 < w ≤ 60 s).
    fn server_wait(&self, now: SystemTime) -> Option<Duration> {
        let sensible = |secs: f64| (secs > 0.0 && secs <= 60.0).then(|| Duration::from_secs_f64(secs));
        if let Some(ms) = self.retry_after_ms.as_deref().and_then(|v| v.trim().parse::<f64>().ok()) {
            return sensible(ms / 1000.0);
        }
        let after = self.retry_after.as_deref()?.trim();
        if let Ok(secs) = after.parse::<f64>() {
            return sensible(secs);
        }
        let date = time::OffsetDateTime::parse(after, &time::format_description::well_known::Rfc2822).ok()?;
        let now = time::OffsetDateTime::from(now);
        sensible((date - now).as_seconds_f64())
    }
}

/// How the client waits between attempts, and its source of jitter.
pub trait Wait: Send + Sync {
    /// Waits `delay`, or less when `cancel` is cancelled meanwhile.
    fn wait(&self, delay: Duration, cancel: &CancelToken) -> Result<(), Cancelled>;
    /// A factor in [0.75, 1] applied to a backoff.
    fn jitter(&self) -> f64;
}

/// Real time: sleeps in short slices (so Ctrl-C is noticed quickly) and
/// draws jitter from the standard library's random hasher keys.
#[derive(Debug, Default, Clone, Copy)]
pub struct RealWait;

impl Wait for RealWait {
    fn wait(&self, delay: Duration, cancel: &CancelToken) -> Result<(), Cancelled> {
        let slice = Duration::from_millis(50);
        let mut left = delay;
        while !left.is_zero() {
            cancel.check()?;
            let step = left.min(slice);
            std::thread::sleep(step);
            left -= step;
        }
        cancel.check()
    }

    fn jitter(&self) -> f64 {
        use std::hash::{BuildHasher, Hasher};
        let bits = std::collections::hash_map::RandomState::new().build_hasher().finish();
        1.0 - 0.25 * ((bits >> 11) as f64 / (1u64 << 53) as f64)
    }
}
