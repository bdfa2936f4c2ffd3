//! Retrying transient provider failures: exponential backoff with jitter,
//! `Retry-After` honoured, everything inside one deadline.

use std::future::Future;
use std::time::{Duration, Instant};

use super::ProviderError;

/// Default extra attempts after a transient failure.
pub const DEFAULT_MAX_RETRIES: u32 = 3;
/// Default first backoff.
pub const DEFAULT_BACKOFF_INITIAL_MS: u64 = 250;
/// Default backoff cap.
pub const DEFAULT_BACKOFF_MAX_MS: u64 = 8_000;

/// How transient failures (429, 5xx, 408, connection errors, attempt
/// timeouts) are retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Extra attempts after the first.
    pub max_retries: u32,
    /// Backoff before the first retry; doubles per retry.
    pub initial: Duration,
    /// Cap on one backoff (a longer `Retry-After` is still honoured).
    pub max: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: DEFAULT_MAX_RETRIES,
            initial: Duration::from_millis(DEFAULT_BACKOFF_INITIAL_MS),
            max: Duration::from_millis(DEFAULT_BACKOFF_MAX_MS),
        }
    }
}

/// A failed attempt: why, and how long the provider asked to wait.
#[derive(Debug)]
pub(crate) struct AttemptError {
    pub(crate) error: ProviderError,
    pub(crate) retry_after: Option<Duration>,
}

impl From<ProviderError> for AttemptError {
    fn from(error: ProviderError) -> Self {
        AttemptError {
            error,
            retry_after: None,
        }
    }
}

impl RetryPolicy {
    /// The backoff before retry `retry` (1-based), without jitter.
    pub fn backoff(&self, retry: u32) -> Duration {
        let factor = 1u32
            .checked_shl(retry.saturating_sub(1))
            .unwrap_or(u32::MAX);
        self.initial.saturating_mul(factor).min(self.max)
    }

    /// "Equal jitter": half the backoff, plus a random part of the other half.
    fn jittered(&self, retry: u32) -> Duration {
        let half = self.backoff(retry) / 2;
        let nanos = half.as_nanos() as u64;
        half + Duration::from_nanos(if nanos == 0 {
            0
        } else {
            crate::random::random_u64() % (nanos + 1)
        })
    }

    /// Runs `attempt` until it succeeds, fails for good, retries run out or
    /// `deadline` passes. `attempt` gets the time left; each attempt is cut
    /// off at the deadline. Returns the result and the attempts made.
    pub(crate) async fn run<T, F, Fut>(
        &self,
        deadline: Instant,
        mut attempt: F,
    ) -> (Result<T, ProviderError>, u32)
    where
        F: FnMut(Duration) -> Fut,
        Fut: Future<Output = Result<T, AttemptError>>,
    {
        let started = Instant::now();
        let timeout = |started: Instant| ProviderError::Timeout {
            after_ms: started.elapsed().as_millis() as u64,
        };
        let mut attempts = 0u32;
        loop {
            let Some(left) = deadline
                .checked_duration_since(Instant::now())
                .filter(|d| !d.is_zero())
            else {
                return (Err(timeout(started)), attempts);
            };
            attempts += 1;
            let failure = match tokio::time::timeout(left, attempt(left)).await {
                Err(_) => return (Err(timeout(started)), attempts),
                Ok(Ok(value)) => return (Ok(value), attempts),
                Ok(Err(failure)) => failure,
            };
            if !failure.error.is_transient() || attempts > self.max_retries {
                return (Err(failure.error), attempts);
            }
            let wait = self
                .jittered(attempts)
                .max(failure.retry_after.unwrap_or_default());
            if Instant::now() + wait >= deadline {
                // Waiting as asked would pass the deadline: give up now with
                // the provider's own answer.
                tracing::debug!(cause = %failure.error, wait_ms = wait.as_millis() as u64, "no time left to retry");
                return (Err(failure.error), attempts);
            }
            tracing::debug!(cause = %failure.error, attempt = attempts, wait_ms = wait.as_millis() as u64, "retrying the llm provider");
            tokio::time::sleep(wait).await;
        }
    }
}

/// Parses a `Retry-After` value: seconds (`"2"`, `"0.5"`), or an HTTP date
/// (treated as "wait the default backoff": clocks of hosts differ).
pub(crate) fn parse_retry_after(value: &str) -> Option<Duration> {
    let secs: f64 = value.trim().parse().ok()?;
    (0.0..86_400.0)
        .contains(&secs)
        .then(|| Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    fn policy(max_retries: u32) -> RetryPolicy {
        RetryPolicy {
            max_retries,
            initial: Duration::from_millis(10),
            max: Duration::from_millis(40),
        }
    }

    fn server_error() -> AttemptError {
        ProviderError::Status {
            status: 503,
            message: "busy".into(),
        }
        .into()
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_and_jitter_stays_in_the_upper_half() {
        let p = policy(5);
        let ms: Vec<u128> = (1..=5).map(|n| p.backoff(n).as_millis()).collect();
        assert_eq!(ms, [10, 20, 40, 40, 40]);
        for n in 1..=5 {
            let j = p.jittered(n);
            assert!(j >= p.backoff(n) / 2 && j <= p.backoff(n), "{j:?}");
        }
        assert_eq!(p.backoff(100), Duration::from_millis(40));
    }

    #[test]
    fn retry_after_is_read_in_seconds() {
        assert_eq!(parse_retry_after("2"), Some(Duration::from_secs(2)));
        assert_eq!(
            parse_retry_after(" 0.25 "),
            Some(Duration::from_millis(250))
        );
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
        assert_eq!(parse_retry_after("-1"), None);
    }

    #[tokio::test]
    async fn transient_failures_are_retried_until_success() {
        let calls = AtomicU32::new(0);
        let deadline = Instant::now() + Duration::from_secs(5);
        let (result, attempts) = policy(3)
            .run(deadline, |_| async {
                if calls.fetch_add(1, Ordering::SeqCst) < 2 {
                    Err(server_error())
                } else {
                    Ok(7)
                }
            })
            .await;
        assert_eq!((result, attempts), (Ok(7), 3));
    }

    #[tokio::test]
    async fn permanent_failures_and_exhausted_retries_stop() {
        let (result, attempts) = policy(3)
            .run(Instant::now() + Duration::from_secs(5), |_| async {
                Err::<(), _>(AttemptError::from(ProviderError::Status {
                    status: 401,
                    message: "bad key".into(),
                }))
            })
            .await;
        assert_eq!(attempts, 1);
        assert!(matches!(
            result,
            Err(ProviderError::Status { status: 401, .. })
        ));
        let (result, attempts) = policy(2)
            .run(Instant::now() + Duration::from_secs(5), |_| async {
                Err::<(), _>(server_error())
            })
            .await;
        assert_eq!(attempts, 3);
        assert!(matches!(
            result,
            Err(ProviderError::Status { status: 503, .. })
        ));
    }

    #[tokio::test]
    async fn a_retry_after_past_the_deadline_gives_up_at_once() {
        let started = Instant::now();
        let (result, attempts) = policy(5)
            .run(started + Duration::from_millis(500), |_| async {
                Err::<(), _>(AttemptError {
                    error: ProviderError::RateLimited {
                        retry_after_ms: Some(10_000),
                    },
                    retry_after: Some(Duration::from_secs(10)),
                })
            })
            .await;
        assert_eq!(attempts, 1);
        assert!(matches!(result, Err(ProviderError::RateLimited { .. })));
        assert!(started.elapsed() < Duration::from_millis(400));
    }

    #[tokio::test]
    async fn a_hung_attempt_is_cut_off_at_the_deadline() {
        let started = Instant::now();
        let (result, _) = policy(5)
            .run(started + Duration::from_millis(100), |_| async {
                tokio::time::sleep(Duration::from_secs(30)).await;
                Ok::<(), AttemptError>(())
            })
            .await;
        assert!(
            matches!(result, Err(ProviderError::Timeout { .. })),
            "{result:?}"
        );
        assert!(started.elapsed() < Duration::from_secs(2));
    }
}
