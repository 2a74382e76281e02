//! Shared helpers: session pairs over the in-memory transport and the leak check.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use capnweb_runtime::transport::memory;
use capnweb_runtime::{Args, CallFuture, RpcError, RpcTarget, Session, SessionStats, Stub, Value};

use crate::api::TestApi;
use crate::server::BASELINE;

/// A client session and a server session (serving [`TestApi`]) joined in memory.
pub fn memory_pair() -> (Session, Session) {
    let (a, b) = memory::pair();
    let (api, slot) = TestApi::new();
    let server = Session::new(b, Some(Stub::new(api)));
    let _ = slot.set(server.clone());
    let client = Session::new(a, None);
    (client, server)
}

/// Waits (at most 3 s) for releases in flight to land, then asserts that each session's tables
/// hold only the main objects.
pub async fn assert_no_leaks(sessions: &[&Session]) {
    for _ in 0..300 {
        if sessions.iter().all(|s| s.stats() == BASELINE) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let stats: Vec<SessionStats> = sessions.iter().map(|s| s.stats()).collect();
    panic!("leak: tables should hold only the main objects ({BASELINE:?}), found {stats:?}");
}

/// Tasks alive on the current runtime (every test has its own), for "nothing left running".
pub fn alive_tasks() -> usize {
    tokio::runtime::Handle::current()
        .metrics()
        .num_alive_tasks()
}

/// Waits (at most `limit`) until the runtime runs no more than `expected` tasks.
pub async fn assert_tasks_at_most_within(expected: usize, limit: Duration, what: &str) {
    let deadline = tokio::time::Instant::now() + limit;
    while alive_tasks() > expected {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: {} tasks still running, expected at most {expected}",
            alive_tasks()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// [`assert_tasks_at_most_within`] 3 s.
pub async fn assert_tasks_at_most(expected: usize) {
    assert_tasks_at_most_within(expected, Duration::from_secs(3), "after the test").await;
}

/// Polls `check` (at most 3 s) until it is true.
pub async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    for _ in 0..300 {
        if check() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("timed out waiting for: {what}");
}

/// A callback object for `useListener`: answers `onEvent` with `ack <n>` and `done(n)` with
/// `done after <n>`, and counts its drops.
pub struct Listener {
    /// How many `onEvent` calls arrived.
    pub events: AtomicU32,
    /// Incremented when the listener is dropped.
    pub dropped: Arc<AtomicU32>,
}

impl RpcTarget for Listener {
    fn call(self: Arc<Self>, method: &str, args: Args) -> CallFuture {
        let reply = match method {
            "onEvent" => {
                let n = self.events.fetch_add(1, Ordering::SeqCst) + 1;
                Ok(Value::String(format!("ack {n}")))
            }
            "done" => {
                let n: u32 = args.get(0).unwrap_or(0);
                Ok(Value::String(format!("done after {n}")))
            }
            other => Err(RpcError::no_such_method(other)),
        };
        Box::pin(std::future::ready(reply))
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.dropped.fetch_add(1, Ordering::SeqCst);
    }
}

impl Listener {
    /// A fresh listener and its drop counter.
    pub fn new() -> (Arc<Listener>, Arc<AtomicU32>) {
        let dropped = Arc::new(AtomicU32::new(0));
        (
            Arc::new(Listener {
                events: AtomicU32::new(0),
                dropped: dropped.clone(),
            }),
            dropped,
        )
    }
}
