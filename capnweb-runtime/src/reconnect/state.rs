//! The states a reconnecting session goes through, as its observers see them.

use std::time::Duration;

use crate::error::RpcError;

/// A change in a [`ReconnectingSession`](super::ReconnectingSession)'s connection, reported
/// in order to its `on_state` callback and as a `tracing` event (target `capnweb::reconnect`).
///
/// A typical life: `Connecting { attempt: 1 }`, `Connected`, ..., `Disconnected { reason }`,
/// `Connecting { attempt: 1 }`, `Waiting { attempt: 1, .. }`, `Connecting { attempt: 2 }`,
/// `Connected`, ..., `Closed`.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum ConnectionState {
    /// Dialing. `attempt` counts the dials since the last connection, from 1.
    Connecting {
        /// Which dial this is since the last connection.
        attempt: u32,
    },
    /// A session is up with a fresh main object; calls go to it.
    Connected,
    /// The session ended. Calls in flight on it have failed with `reason`; capabilities
    /// obtained from it stay broken (they are never re-pointed at the next session).
    Disconnected {
        /// Why the session ended.
        reason: RpcError,
    },
    /// A dial failed; the next starts after `retry_in`.
    Waiting {
        /// The dial that failed.
        attempt: u32,
        /// Why it failed.
        error: RpcError,
        /// The wait before the next dial.
        retry_in: Duration,
    },
    /// Every allowed dial failed
    /// ([`ReconnectingSessionBuilder::max_attempts`](super::ReconnectingSessionBuilder::max_attempts));
    /// no more are made.
    GaveUp {
        /// How many dials failed in a row.
        attempts: u32,
        /// Why the last one failed.
        error: RpcError,
    },
    /// Closed by the application; no more dials are made.
    Closed,
}

impl ConnectionState {
    /// Whether no more connections will be made.
    pub fn is_final(&self) -> bool {
        matches!(
            self,
            ConnectionState::GaveUp { .. } | ConnectionState::Closed
        )
    }
}
