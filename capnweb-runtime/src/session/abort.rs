//! Ending a session: failing what is pending, dropping what we host, cancelling the calls still
//! running for it, and telling the writer how to close (protocol.md section 13).

use super::{Effects, ImportSlot, SessionInner, State};
use crate::error::RpcError;
use crate::hook::Hook;
use crate::transport::CloseInfo;
use crate::wire::message;

impl SessionInner {
    /// Ends the session: every pending import fails with `reason`, every export is dropped
    /// (targets see `Drop`), the calls still running for the session are cancelled, `on_broken`
    /// callbacks run, and the writer closes the transport (with an `abort` message first when
    /// `notify_peer`). The last three happen when the lock is released (`effects.rs`).
    pub(crate) fn abort(&self, reason: RpcError, notify_peer: bool) {
        self.with_state(|st, fx| st.end(reason, notify_peer, fx));
    }
}

impl State {
    /// [`SessionInner::abort`] from inside a locked section, for a check that finds the peer
    /// broke a rule while the tables are held (a limit, an ID it may not use). Does nothing if
    /// the session has already ended. Callers must queue nothing after it: the writer sends
    /// the outbox before the `abort` message.
    pub(crate) fn end(&mut self, reason: RpcError, notify_peer: bool, fx: &mut Effects) {
        if self.broken.is_some() {
            return;
        }
        self.broken = Some(reason.clone());
        for (_, slot) in self.imports.drain() {
            if let ImportSlot::Promise { weak } = slot
                && let Some(p) = weak.upgrade()
            {
                let waiters = p.settle(Hook::error(reason.clone()));
                fx.wakers.extend(waiters.into_wakers());
            }
        }
        fx.drops.extend(self.exports.drain().map(|(_, e)| e.hook));
        self.close = Some(CloseRequest::new(&reason, notify_peer));
        let callbacks = std::mem::take(&mut self.on_broken)
            .into_iter()
            .map(|(_, cb)| cb)
            .collect();
        fx.broken = Some((reason, callbacks));
    }
}

/// What the writer does once the session ends.
pub(crate) struct CloseRequest {
    /// An `abort` message to send first, when we are the side that aborts.
    pub(crate) abort_message: Option<String>,
    pub(crate) info: CloseInfo,
}

impl CloseRequest {
    pub(crate) fn new(reason: &RpcError, notify_peer: bool) -> Self {
        let abort_message = notify_peer.then(|| {
            message::abort_text(&RpcError::new(reason.name(), reason.message()).to_wire_value())
        });
        let code = match reason {
            RpcError::Closed(m) if m == SERVER_SHUTDOWN_REASON => 1001,
            RpcError::Closed(_) => 1000,
            _ => 3000,
        };
        CloseRequest {
            abort_message,
            info: CloseInfo {
                code,
                reason: reason.message(),
            },
        }
    }
}

pub(super) const SHUTDOWN_REASON: &str = "by this side";

/// Why a server closes its sessions when it shuts down (close code 1001, "going away").
pub(crate) const SERVER_SHUTDOWN_REASON: &str = "the server is shutting down";

/// How long a closing session may take to write its close frame to a slow peer (and to read
/// what the peer still sends until it closes its side).
pub(super) const CLOSE_FLUSH_TIME: std::time::Duration = std::time::Duration::from_secs(1);
