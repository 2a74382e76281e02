//! Retrying calls that are safe to repeat, when the connection (not the call) failed.

use std::future::Future;

use super::Backoff;
use crate::error::RpcError;

/// How often and how patiently [`retry`] tries.
///
/// ```
/// use std::time::Duration;
/// use capnweb_runtime::reconnect::RetryPolicy;
///
/// let mut policy = RetryPolicy::default(); // 3 attempts, waits from 100 ms up to 2 s
/// policy.max_attempts = 5;
/// policy.backoff.max = Duration::from_secs(5);
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Attempts in all, the first included (at least one is always made). Default 3.
    pub max_attempts: u32,
    /// The waits between attempts. Default: 100 ms, doubling up to 2 s, with jitter.
    pub backoff: Backoff,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 3,
            backoff: Backoff {
                max: std::time::Duration::from_secs(2),
                ..Backoff::default()
            },
        }
    }
}

/// Runs `call` (given the attempt number, from 1) until it succeeds, fails with an error that
/// is not a transport failure ([`RpcError::is_transport_failure`]: the call itself failed, so
/// repeating it would fail again), or `policy` runs out of attempts; returns the last outcome.
///
/// Only for calls that are safe to repeat: when a connection is lost, a call in flight may or
/// may not have run on the other side.
///
/// ```no_run
/// # use capnweb_runtime::reconnect::{retry, RetryPolicy};
/// # async fn example(url: &str) -> Result<(), capnweb_runtime::RpcError> {
/// let count = retry(&RetryPolicy::default(), |_attempt| async {
///     let session = capnweb_runtime::http::batch_session(url)?;
///     session.main().call("count", ()).typed::<u64>().await
/// })
/// .await?;
/// # Ok(())
/// # }
/// ```
pub async fn retry<T, F, Fut>(policy: &RetryPolicy, mut call: F) -> Result<T, RpcError>
where
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = Result<T, RpcError>>,
{
    let mut attempt = 1;
    loop {
        match call(attempt).await {
            Err(error) if error.is_transport_failure() && attempt < policy.max_attempts => {
                let wait = policy.backoff.delay(attempt);
                tracing::debug!(
                    target: "capnweb::reconnect",
                    attempt,
                    error = %error,
                    wait_ms = wait.as_millis() as u64,
                    "retrying a call"
                );
                tokio::time::sleep(wait).await;
                attempt += 1;
            }
            outcome => return outcome,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::time::Duration;

    use super::*;

    fn quick(max_attempts: u32) -> RetryPolicy {
        RetryPolicy {
            max_attempts,
            backoff: Backoff {
                initial: Duration::from_millis(1),
                ..Backoff::default()
            },
        }
    }

    #[tokio::test]
    async fn transport_failures_are_retried_until_success() {
        let calls = AtomicU32::new(0);
        let outcome = retry(&quick(5), |attempt| {
            calls.fetch_add(1, Ordering::SeqCst);
            async move {
                match attempt {
                    1 => Err(RpcError::disconnected("lost")),
                    2 => Err(RpcError::Timeout),
                    _ => Ok(attempt),
                }
            }
        })
        .await;
        assert_eq!(outcome.unwrap(), 3);
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn an_error_of_the_call_itself_is_not_retried() {
        let calls = AtomicU32::new(0);
        let outcome: Result<(), _> = retry(&quick(5), |_| {
            calls.fetch_add(1, Ordering::SeqCst);
            async { Err(RpcError::new("NotFoundError", "no user 7")) }
        })
        .await;
        assert_eq!(outcome.unwrap_err().name(), "NotFoundError");
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn attempts_are_bounded_and_the_last_error_is_returned() {
        let calls = AtomicU32::new(0);
        let outcome: Result<(), _> = retry(&quick(3), |attempt| {
            calls.fetch_add(1, Ordering::SeqCst);
            async move { Err(RpcError::connect_failed(format!("refused {attempt}"))) }
        })
        .await;
        assert!(outcome.unwrap_err().to_string().contains("refused 3"));
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }
}
