//! The public [`Session`] handle and the tasks that move messages between the engine and a
//! transport.

use std::sync::Arc;

use super::SessionInner;
use crate::error::RpcError;
use crate::stub::Stub;
use crate::transport::{CloseInfo, Transport};
use crate::wire::{Limits, message};

/// Settings for a session.
#[derive(Clone, Debug, Default)]
pub struct SessionOptions {
    /// Limits enforced on what the peer sends.
    pub limits: Limits,
}

/// Sizes of a session's tables, including the main objects (import 0 and export 0). A session
/// with nothing outstanding reports `{ imports: 1, exports: 1 }`, as capnweb's `getStats()`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionStats {
    /// Entries in the import table.
    pub imports: usize,
    /// Entries in the export table.
    pub exports: usize,
}

/// What the writer does once the session ends.
pub(crate) struct CloseRequest {
    /// An `abort` message to send first, when we are the side that aborts.
    pub(super) abort_message: Option<String>,
    pub(super) info: CloseInfo,
}

impl CloseRequest {
    pub(crate) fn new(reason: &RpcError, notify_peer: bool) -> Self {
        let abort_message = notify_peer.then(|| {
            message::abort_text(&RpcError::new(reason.name(), reason.message()).to_wire_value())
        });
        let code = match reason {
            RpcError::Aborted(m) if m == SHUTDOWN_REASON => 1000,
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

const SHUTDOWN_REASON: &str = "the session was closed";

/// A Cap'n Web session over one transport. Cheap to clone.
///
/// The connection stays open while any clone of the `Session` is alive (or until the peer
/// disconnects, or [`Session::close`]/[`Session::abort`] is called). Keep it alive as long as you
/// use stubs obtained from it: once the last clone is dropped the session shuts down and those
/// stubs fail with a "the session was closed" error.
#[derive(Clone)]
pub struct Session {
    inner: Arc<SessionInner>,
    _guard: Arc<ShutdownOnDrop>,
}

struct ShutdownOnDrop(Arc<SessionInner>);

impl Drop for ShutdownOnDrop {
    fn drop(&mut self) {
        self.0
            .abort(RpcError::Aborted(SHUTDOWN_REASON.into()), false);
    }
}

impl Session {
    /// Starts a session over `transport`, serving `local_main` as our main object (the peer's
    /// import 0). Needs a tokio runtime with I/O and timers enabled (`#[tokio::main]` and
    /// `Runtime::new()` enable both).
    pub fn new<T: Transport>(transport: T, local_main: Option<Stub>) -> Session {
        Session::with_options(transport, local_main, SessionOptions::default())
    }

    /// [`Session::new`] with explicit options.
    pub fn with_options<T: Transport>(
        transport: T,
        local_main: Option<Stub>,
        options: SessionOptions,
    ) -> Session {
        Session::with_setup(transport, local_main, options, |_| {})
    }

    /// [`Session::with_options`] that runs `setup` with the session before it reads its first
    /// message, so whatever `setup` hands out (a handle for the main object's `stats()`, say)
    /// is in place before the peer's first call can arrive.
    pub fn with_setup<T: Transport>(
        transport: T,
        local_main: Option<Stub>,
        options: SessionOptions,
        setup: impl FnOnce(&Session),
    ) -> Session {
        let inner = SessionInner::new(local_main.map(|s| s.hook), options.limits);
        let session = Session {
            _guard: Arc::new(ShutdownOnDrop(inner.clone())),
            inner,
        };
        setup(&session);
        super::io::start(&session.inner, transport);
        session
    }

    /// The peer's main object.
    pub fn main(&self) -> Stub {
        Stub::from_hook(self.inner.peer_main())
    }

    /// Current table sizes (for leak checks).
    pub fn stats(&self) -> SessionStats {
        self.inner.stats()
    }

    /// Aborts the session: the peer gets `["abort", Error(reason)]` and close code 3000, and
    /// every pending call on both sides fails.
    pub fn abort(&self, reason: impl Into<String>) {
        self.inner.abort(RpcError::Aborted(reason.into()), true);
    }

    /// Shuts the session down normally (close code 1000, no `abort` message).
    pub fn close(&self) {
        self.inner
            .abort(RpcError::Aborted(SHUTDOWN_REASON.into()), false);
    }

    /// Why the session ended, if it has.
    pub fn broken_reason(&self) -> Option<RpcError> {
        self.inner.with_state(|st, _| st.broken.clone())
    }

    /// Waits until the session ends and returns why.
    pub async fn closed(&self) -> RpcError {
        let mut rx = self.inner.ended.subscribe();
        loop {
            if let Some(reason) = rx.borrow_and_update().clone() {
                return reason;
            }
            if rx.changed().await.is_err() {
                return RpcError::Aborted(SHUTDOWN_REASON.into());
            }
        }
    }

    /// Registers `callback` to run (once, in registration order) when the session ends, with
    /// the reason. Runs at once if it already has. Dropping the returned handle unregisters the
    /// callback (unlike capnweb, where `onRpcBroken` callbacks stay registered forever); call
    /// [`OnBroken::keep`] to leave it registered for the session's lifetime.
    pub fn on_broken(&self, callback: impl FnOnce(&RpcError) + Send + 'static) -> OnBroken {
        let mut callback = Some(callback);
        let (id, already) = self.inner.with_state(|st, _| {
            st.next_callback_id += 1;
            let id = st.next_callback_id;
            match &st.broken {
                Some(reason) => (id, Some(reason.clone())),
                None => {
                    if let Some(cb) = callback.take() {
                        st.on_broken.push((id, Box::new(cb)));
                    }
                    (id, None)
                }
            }
        });
        if let (Some(reason), Some(cb)) = (already, callback) {
            cb(&reason);
        }
        OnBroken {
            session: Arc::downgrade(&self.inner),
            id: Some(id),
        }
    }
}

/// A registered [`Session::on_broken`] callback; dropping it unregisters the callback.
#[must_use = "the callback is unregistered as soon as this handle is dropped; use .keep() to keep it"]
pub struct OnBroken {
    session: std::sync::Weak<SessionInner>,
    id: Option<u64>,
}

impl OnBroken {
    /// Leaves the callback registered until the session ends.
    pub fn keep(mut self) {
        self.id = None;
    }
}

impl Drop for OnBroken {
    fn drop(&mut self) {
        if let (Some(id), Some(session)) = (self.id, self.session.upgrade()) {
            session.with_state(|st, _| st.on_broken.retain(|(i, _)| *i != id));
        }
    }
}
