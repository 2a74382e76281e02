//! Shared helpers: session pairs over the in-memory transport and the leak check.

use std::time::Duration;

use capnweb_runtime::transport::memory;
use capnweb_runtime::{Session, SessionStats, Stub};

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
