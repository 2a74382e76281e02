//! The session engine: import/export tables, IDs, refcounts and the message loop
//! (protocol.md sections 3, 4, 6, 7, 8, 11, 12).
//!
//! One [`SessionInner`] per connection holds the tables behind a mutex. Stubs lock it briefly to
//! send a message; the reader task locks it to apply a received one. Nothing that can run user
//! code happens under the lock: deliveries, drops and settlements are collected as [`Effects`]
//! and run after it is released, in order.

mod after_write;
mod batch;
mod driver;
mod effects;
mod embargo;
mod imports;
mod incoming;
mod io;
mod outgoing;
mod remap;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use tokio::sync::{Notify, watch};

pub(crate) use after_write::drop_after_write;
pub(crate) use effects::Effects;
pub(crate) use imports::{ImportedCap, RemotePromise};
pub(crate) use outgoing::write_path;

use crate::error::RpcError;
use crate::hook::Hook;
use crate::wire::Limits;

pub use driver::{OnBroken, Session, SessionBuilder, SessionOptions, SessionStats};

/// A callback registered with `Session::on_broken`.
pub(crate) type BrokenCallback = Box<dyn FnOnce(&RpcError) + Send>;

/// An entry of the export table: something we host for the peer.
pub(crate) struct ExportEntry {
    pub(crate) hook: Hook,
    /// References the peer holds; the entry goes when it releases them all.
    pub(crate) refcount: u64,
    /// Whether the peer asked for (or, for `["promise", id]` exports, will get) a settlement.
    pub(crate) pulled: bool,
}

/// An entry of the import table: something the peer hosts for us.
pub(crate) enum ImportSlot {
    /// A settled capability and the number of times the peer introduced it.
    Cap {
        weak: Weak<ImportedCap>,
        refcount: u64,
    },
    /// A result the peer will settle.
    Promise { weak: Weak<RemotePromise> },
}

/// A local handle to an import was dropped; the session sends the `release` when it next holds
/// its lock. `ptr` identifies the exact handle, in case the ID was re-introduced meanwhile.
pub(crate) struct DroppedImport {
    pub(crate) id: i64,
    pub(crate) ptr: usize,
}

/// The mutable state of a session.
pub(crate) struct State {
    pub(crate) exports: HashMap<i64, ExportEntry>,
    pub(crate) imports: HashMap<i64, ImportSlot>,
    /// The last positive ID we took for a push (shared with stream and pipe).
    pub(crate) last_push_id: i64,
    /// The last negative ID we gave an export.
    pub(crate) last_export_id: i64,
    /// How many push/stream/pipe messages the peer has sent: its next one is export this + 1.
    pub(crate) peer_push_count: i64,
    /// Messages waiting for the writer.
    pub(crate) outbox: Vec<String>,
    /// Whether everything in the outbox may wait for the next write: it holds only releases
    /// the reader queued for settlements that woke a waiter (see `io.rs`).
    pub(crate) outbox_can_wait: bool,
    /// Why the session ended, once it has.
    pub(crate) broken: Option<RpcError>,
    /// Whether an `abort` message and a 3000 close should go out when the writer drains.
    pub(crate) close: Option<driver::CloseRequest>,
    pub(crate) on_broken: Vec<(u64, BrokenCallback)>,
    pub(crate) next_callback_id: u64,
}

/// A session: the tables and the channel to the writer.
pub(crate) struct SessionInner {
    state: Mutex<State>,
    /// Dropped import handles, queued without taking `state` (a drop may happen anywhere).
    dropped: Mutex<Vec<DroppedImport>>,
    /// Whether `dropped` may be non-empty: lets every `with_state` skip its lock when it is not.
    has_dropped: std::sync::atomic::AtomicBool,
    /// Wakes the writer task: messages are waiting, or the session ended.
    pub(crate) wake_writer: Notify,
    /// A woken waiter asks for the releases waiting in the outbox to be written.
    pub(crate) releases_requested: std::sync::atomic::AtomicBool,
    /// Writes from the producing task when the transport allows (set by the transport driver;
    /// absent for HTTP batch sessions).
    pub(crate) write_through: std::sync::OnceLock<std::sync::Weak<dyn io::WriteThrough>>,
    /// Holds the reason once the session has ended.
    pub(crate) ended: watch::Sender<Option<RpcError>>,
    /// The tasks this session started for calls and settlements: cancelled when it ends.
    pub(crate) calls: Arc<crate::task::CallScope>,
    /// Set once the writer task has closed the transport (never, for a batch session).
    pub(crate) writer_done: watch::Sender<bool>,
    /// Settlements (pulled exports, `["promise", id]` exports) still being resolved: an HTTP batch
    /// answers once this is 0 (see batch.rs).
    /// (A plain counter: every settlement of every session touches it, and only a batch waits.)
    pub(crate) settling: std::sync::atomic::AtomicUsize,
    /// Notified when `settling` drops to 0.
    pub(crate) settled: Notify,
    /// Set for the client end of an HTTP batch: an awaiting task yields once after queueing
    /// its first `pull` before it counts as awaiting (see `batch::client`).
    pub(crate) batch_client: std::sync::atomic::AtomicBool,
    /// Batch client: a task is waiting for a result (it queued a `pull` and then yielded, so
    /// everything polled together with it has been queued too).
    pub(crate) awaited: std::sync::atomic::AtomicBool,
    pub(crate) limits: Limits,
    this: Weak<SessionInner>,
}

impl SessionInner {
    pub(crate) fn new(main: Option<Hook>, limits: Limits) -> Arc<SessionInner> {
        Arc::new_cyclic(|this| {
            let main = main.unwrap_or_else(|| {
                Hook::error(RpcError::Capability(
                    "This connection has no main object.".into(),
                ))
            });
            let mut exports = HashMap::new();
            exports.insert(
                0,
                ExportEntry {
                    hook: main,
                    refcount: 1,
                    pulled: false,
                },
            );
            // Import 0 is the peer's main object; its handle is made on demand and never released.
            let mut imports = HashMap::new();
            imports.insert(
                0,
                ImportSlot::Cap {
                    weak: Weak::new(),
                    refcount: 1,
                },
            );
            SessionInner {
                state: Mutex::new(State {
                    exports,
                    imports,
                    last_push_id: 0,
                    last_export_id: 0,
                    peer_push_count: 0,
                    outbox: Vec::new(),
                    outbox_can_wait: false,
                    broken: None,
                    close: None,
                    on_broken: Vec::new(),
                    next_callback_id: 0,
                }),
                dropped: Mutex::new(Vec::new()),
                has_dropped: std::sync::atomic::AtomicBool::new(false),
                wake_writer: Notify::new(),
                releases_requested: std::sync::atomic::AtomicBool::new(false),
                write_through: std::sync::OnceLock::new(),
                ended: watch::Sender::new(None),
                writer_done: watch::Sender::new(false),
                calls: crate::task::CallScope::new(),
                settling: std::sync::atomic::AtomicUsize::new(0),
                settled: Notify::new(),
                batch_client: std::sync::atomic::AtomicBool::new(false),
                awaited: std::sync::atomic::AtomicBool::new(false),
                limits,
                this: this.clone(),
            }
        })
    }

    /// A strong reference to this session (it is always alive while `&self` is).
    pub(crate) fn arc(&self) -> Arc<SessionInner> {
        self.this
            .upgrade()
            .expect("a session method ran on a session being destroyed")
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` with the tables locked, then (unlocked) the effects it collected.
    pub(crate) fn with_state<R>(&self, f: impl FnOnce(&mut State, &mut Effects) -> R) -> R {
        let mut fx = Effects::default();
        let result = {
            let mut st = self.lock();
            self.apply_dropped(&mut st);
            let result = f(&mut st, &mut fx);
            self.apply_dropped(&mut st);
            // Waking the writer is a task hand-off (and, on a multi-thread runtime, often a
            // thread wake-up); the reader writes what its own messages queue before it waits.
            if st.close.is_some() || (st.must_write() && !self.reader_will_flush()) {
                self.wake_writer.notify_one();
            }
            result
        };
        fx.run(self);
        result
    }

    /// Queues the release of a dropped import handle.
    pub(crate) fn queue_drop(&self, dropped: DroppedImport) {
        self.dropped
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(dropped);
        self.has_dropped
            .store(true, std::sync::atomic::Ordering::Release);
        if !self.reader_will_flush() {
            self.wake_writer.notify_one();
        }
    }

    /// Sends `release` for every dropped import handle that still owns its table entry.
    fn apply_dropped(&self, st: &mut State) {
        // Cleared before the queue is taken, so a drop queued meanwhile sets it again.
        if !self
            .has_dropped
            .swap(false, std::sync::atomic::Ordering::Acquire)
        {
            return;
        }
        let dropped = {
            let mut queue = self.dropped.lock().unwrap_or_else(|e| e.into_inner());
            if queue.is_empty() {
                return;
            }
            std::mem::take(&mut *queue)
        };
        for DroppedImport { id, ptr } in dropped {
            let count = match st.imports.get(&id) {
                Some(ImportSlot::Cap { weak, refcount }) if weak.as_ptr() as usize == ptr => {
                    *refcount
                }
                Some(ImportSlot::Promise { weak }) if weak.as_ptr() as usize == ptr => 1,
                _ => continue,
            };
            st.imports.remove(&id);
            if st.broken.is_none() {
                st.queue(crate::wire::message::release_text(id, count));
            }
        }
    }

    /// Waits until the writer task has closed the transport.
    #[cfg(feature = "server")]
    pub(crate) async fn transport_closed(&self) {
        let _ = self.writer_done.subscribe().wait_for(|done| *done).await;
    }

    /// Table sizes, after applying pending releases.
    pub(crate) fn stats(&self) -> SessionStats {
        self.with_state(|st, _| SessionStats {
            imports: st.imports.len(),
            exports: st.exports.len(),
        })
    }
}
