//! The session engine: import/export tables, IDs, refcounts and the message loop
//! (protocol.md sections 3, 4, 6, 7, 8, 11, 12), one file per protocol concept:
//!
//! | concept | file |
//! |---|---|
//! | the public handle and builder ([`Session`], options, stats, `on_broken`) | `handle.rs` |
//! | the tables, the lock, and the order of effects (this file) | `mod.rs` |
//! | a received message: parse it, hand it to its table | `receive.rs` |
//! | the import table: sending `push`, settling imports, releasing dropped handles | `imports.rs` |
//! | handles to imports: [`ImportedCap`], [`RemotePromise`] (`pull`, wake-ups) | `import_handles.rs` |
//! | the export table: receiving `push`, `pull`, `release`; exporting | `exports.rs` |
//! | settling exports (`resolve`/`reject`), counting settlements in flight | `settlements.rs` |
//! | references inside values: the encoder and decoder callbacks | `refs.rs` |
//! | `abort` and closing | `abort.rs` |
//! | the embargo on promises that resolve to our own side | `embargo.rs` |
//! | `remap` (sending a recorded `.map()`) | `remap.rs` |
//! | the outbox | `outbox.rs` |
//! | reader and writer tasks, write-through, back-pressure | `io.rs` |
//! | freeing large values after the write | `after_write.rs` |
//! | work collected under the lock, run after it | `effects.rs` |
//! | HTTP batch mode | `batch.rs` |
//!
//! One [`SessionInner`] per connection holds the tables behind a mutex. Stubs lock it briefly to
//! send a message; the reader task locks it to apply a received one. Nothing that can run user
//! code happens under the lock: deliveries, drops and settlements are collected as [`Effects`]
//! and run after it is released, in order.

mod abort;
mod after_write;
mod batch;
mod effects;
mod embargo;
mod exports;
mod handle;
mod import_handles;
mod imports;
mod io;
mod outbox;
mod receive;
mod refs;
mod remap;
mod settlements;
mod streams;

use std::collections::HashMap;

/// A session table by ID. The IDs are the peer's choice, so the hash is seeded (per process and
/// per table) like std's, but foldhash's costs a tenth of SipHash's for an `i64`, and the
/// tables are hashed four times per call.
pub(crate) type IdMap<V> = HashMap<i64, V, foldhash::quality::RandomState>;
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use tokio::sync::Notify;

pub(crate) use after_write::drop_after_write;
pub(crate) use effects::Effects;
pub(crate) use exports::ExportEntry;
pub(crate) use import_handles::{ImportedCap, RemotePromise};
pub(crate) use imports::{DroppedImport, ImportSlot};
pub(crate) use streams::RemoteWriter;

use crate::error::RpcError;
use crate::hook::Hook;
use crate::wire::Limits;

pub use handle::{
    DEFAULT_PAUSE_READING_ABOVE, DEFAULT_RESUME_READING_AT, OnBroken, Session, SessionBuilder,
    SessionOptions, SessionStats,
};

/// A callback registered with `Session::on_broken`.
pub(crate) type BrokenCallback = Box<dyn FnOnce(&RpcError) + Send>;

/// The mutable state of a session.
pub(crate) struct State {
    pub(crate) exports: IdMap<ExportEntry>,
    pub(crate) imports: IdMap<ImportSlot>,
    /// The last positive ID we took for a push (shared with stream and pipe).
    pub(crate) last_push_id: i64,
    /// The last negative ID we gave an export.
    pub(crate) last_export_id: i64,
    /// How many push/stream/pipe messages the peer has sent: its next one is export this + 1.
    pub(crate) peer_push_count: i64,
    /// Messages waiting for the writer.
    pub(crate) outbox: Vec<String>,
    /// The length of everything in `outbox`, for back-pressure.
    pub(crate) outbox_bytes: usize,
    /// The part of `outbox_bytes` that answers the peer's calls (`outbox::is_answer`).
    pub(crate) outbox_answer_bytes: usize,
    /// Whether everything in the outbox may wait for the next write: it holds only releases
    /// the reader queued for settlements that woke a waiter (see `io.rs`).
    pub(crate) outbox_can_wait: bool,
    /// Why the session ended, once it has.
    pub(crate) broken: Option<RpcError>,
    /// Whether an `abort` message and a 3000 close should go out when the writer drains.
    pub(crate) close: Option<abort::CloseRequest>,
    pub(crate) on_broken: Vec<(u64, BrokenCallback)>,
    pub(crate) next_callback_id: u64,
    /// The session's trace number (see `SessionInner::id`), for events raised under the lock.
    pub(crate) session_id: u64,
    /// The readable ends of pipes the peer opened, until a `["readable", id]` claims them.
    pub(crate) pipes: IdMap<crate::stream::ReadableStream>,
}

/// What drives a session's messages.
pub(crate) enum Mode {
    /// Reader and writer tasks over a transport (`io.rs`).
    Connection(io::ConnectionIo),
    /// The server end of one HTTP batch, applied and answered by `batch::handle_batch`.
    BatchServer,
    /// The client end of one HTTP batch (`batch::client`).
    BatchClient {
        /// A task is waiting for a result: it queued a `pull` and then yielded once, so
        /// everything polled together with it has been queued too.
        awaited: std::sync::atomic::AtomicBool,
    },
}

impl Mode {
    /// The mode's name in traces.
    fn name(&self) -> &'static str {
        match self {
            Mode::Connection(_) => "connection",
            Mode::BatchServer => "batch server",
            Mode::BatchClient { .. } => "batch client",
        }
    }

    /// A session over a transport; its I/O tasks are started by `io::start`.
    pub(crate) fn connection() -> Mode {
        Mode::Connection(io::ConnectionIo::default())
    }

    /// The client end of an HTTP batch.
    pub(crate) fn batch_client() -> Mode {
        Mode::BatchClient {
            awaited: std::sync::atomic::AtomicBool::new(false),
        }
    }
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
    /// Holds the reason once the session has ended.
    pub(crate) ended: crate::latch::Latch<RpcError>,
    /// The tasks this session started for calls and settlements: cancelled when it ends.
    pub(crate) calls: Arc<crate::task::CallScope>,
    /// Settlements (pulled exports, `["promise", id]` exports) still being resolved: an HTTP
    /// batch answers, and a closing server closes the session, once there are none.
    pub(crate) settling: Arc<crate::active::ActiveCount>,
    /// The peer's calls that have not settled yet (`Limits::max_calls_in_flight`).
    pub(crate) in_flight: Arc<crate::active::ActiveCount>,
    /// What drives the session's messages, with the state only that kind of session needs.
    pub(crate) mode: Mode,
    pub(crate) limits: Limits,
    /// How long awaiting one of this session's results may take (`SessionOptions`).
    pub(crate) call_timeout: Option<std::time::Duration>,
    /// Back-pressure marks: the reader pauses above `.0` queued bytes and resumes at `.1`.
    pub(crate) reading_marks: (usize, usize),
    /// A number for this session in traces (unique in the process).
    pub(crate) id: u64,
    this: Weak<SessionInner>,
}

/// The next session's trace number.
static NEXT_SESSION_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

impl SessionInner {
    pub(crate) fn new(
        main: Option<Hook>,
        options: &SessionOptions,
        mode: Mode,
    ) -> Arc<SessionInner> {
        let session = Self::with_tables(main, options, mode);
        tracing::debug!(
            target: "capnweb::session",
            session = session.id,
            mode = session.mode.name(),
            "session started"
        );
        session
    }

    fn with_tables(main: Option<Hook>, options: &SessionOptions, mode: Mode) -> Arc<SessionInner> {
        let id = NEXT_SESSION_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Arc::new_cyclic(|this| {
            let main = main.unwrap_or_else(|| {
                Hook::error(RpcError::Capability(
                    "This connection has no main object.".into(),
                ))
            });
            let mut exports = IdMap::default();
            exports.insert(
                0,
                ExportEntry {
                    hook: main,
                    refcount: 1,
                    pulled: false,
                    stream: false,
                },
            );
            // Import 0 is the peer's main object; its handle is made on demand and never released.
            let mut imports = IdMap::default();
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
                    outbox_bytes: 0,
                    outbox_answer_bytes: 0,
                    outbox_can_wait: false,
                    broken: None,
                    close: None,
                    on_broken: Vec::new(),
                    next_callback_id: 0,
                    session_id: id,
                    pipes: IdMap::default(),
                }),
                dropped: Mutex::new(Vec::new()),
                has_dropped: std::sync::atomic::AtomicBool::new(false),
                wake_writer: Notify::new(),
                releases_requested: std::sync::atomic::AtomicBool::new(false),
                ended: crate::latch::Latch::default(),
                calls: crate::task::CallScope::new(options.method_time_limit),
                settling: Arc::default(),
                in_flight: Arc::default(),
                mode,
                limits: options.limits,
                call_timeout: options.call_timeout,
                reading_marks: (
                    options.pause_reading_above,
                    options.resume_reading_at.min(options.pause_reading_above),
                ),
                id,
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

    /// Waits until the writer task has closed the transport (at once for a batch session,
    /// which has none).
    pub(crate) async fn transport_closed(&self) {
        if let Mode::Connection(io) = &self.mode {
            io.writer_done.wait().await;
        }
    }

    /// Table sizes, after applying pending releases.
    pub(crate) fn stats(&self) -> SessionStats {
        self.with_state(|st, _| SessionStats {
            imports: st.imports.len(),
            exports: st.exports.len(),
        })
    }
}
