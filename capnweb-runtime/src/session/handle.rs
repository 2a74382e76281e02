//! The public [`Session`] handle, its builder and options: what a user starts, inspects and
//! stops.

use std::sync::Arc;

use super::abort::SHUTDOWN_REASON;
#[cfg(feature = "server")]
use super::abort::{CLOSE_FLUSH_TIME, SERVER_SHUTDOWN_REASON};
use super::{Mode, SessionInner};
use crate::error::RpcError;
use crate::stub::Stub;
use crate::transport::Transport;
use crate::wire::Limits;

/// Settings for a session, shared by every way of starting one ([`Session::builder`], the
/// WebSocket [`Connector`](crate::transport::websocket::Connector), the server, batches).
/// Start from the default and set what you need (new fields may be added, so it cannot be
/// written as a struct literal):
///
/// ```
/// use std::time::Duration;
/// use capnweb_runtime::SessionOptions;
///
/// let mut options = SessionOptions::default();
/// options.limits.max_message_size = 1 << 20;
/// options.call_timeout = Some(Duration::from_secs(30)); // every await of a result
/// options.method_time_limit = Some(Duration::from_secs(60)); // our methods, for the peer
/// options.keepalive = Some(Duration::from_secs(15)); // WebSocket pings
/// options.pause_reading_above = 1 << 20; // back-pressure: at most ~1 MiB queued per peer
/// options.resume_reading_at = 256 << 10;
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct SessionOptions {
    /// Limits enforced on what the peer sends.
    pub limits: Limits,
    /// How long awaiting a result of this session may take before it fails with
    /// [`RpcError::Timeout`] (and the result is released); `None` (the default) waits as long
    /// as the peer takes. One await can set its own with `Promise::timeout` or
    /// `RpcPromise::timeout`.
    pub call_timeout: Option<std::time::Duration>,
    /// How long one of our methods may run for a call from the peer: past it the call rejects
    /// with a `TimeoutError` (which the peer sees) and the method's future is dropped. `None`
    /// (the default) lets methods run until they finish or the session ends. Only a method
    /// that suspends can be stopped: one that blocks its thread cannot be.
    pub method_time_limit: Option<std::time::Duration>,
    /// Liveness over WebSocket: ping the peer this often, and end the session with
    /// [`RpcError::Disconnected`] when nothing (no message, no pong) has arrived for twice as
    /// long. Without it (the default) a peer that vanished without closing is noticed only by
    /// the operating system, which can take hours. Other transports ignore it.
    pub keepalive: Option<std::time::Duration>,
    /// Back-pressure: when the answers to the peer's calls (`resolve`/`reject` messages)
    /// queued for it and not yet taken by the transport exceed this many bytes, the session
    /// stops reading the peer's messages, so a peer that sends calls but does not read the
    /// answers is slowed by TCP instead of filling our memory. Default
    /// [`DEFAULT_PAUSE_READING_ABOVE`] (4 MiB).
    ///
    /// Our own calls and releases do not count: stopping reading would not make them go away,
    /// and two sides that each stopped reading because of their own queued calls would wait
    /// for each other forever.
    ///
    /// Nothing is aborted for being slow: reading resumes once the peer has read enough (see
    /// [`resume_reading_at`](Self::resume_reading_at)). What the session holds for the peer is
    /// this bound plus the answers of calls that were already running, plus at most the
    /// output of the messages read since the last write (32), plus the transport's own buffer.
    /// An HTTP batch cannot pause its client: its response has its own hard limit
    /// ([`BatchServerOptions::max_response_bytes`](crate::batch::BatchServerOptions)).
    pub pause_reading_above: usize,
    /// Back-pressure: once reading has paused, it resumes when the answers queued for the peer
    /// are down to this many bytes. Default [`DEFAULT_RESUME_READING_AT`] (1 MiB). Kept well below
    /// [`pause_reading_above`](Self::pause_reading_above) so a session under steady load does
    /// not flip between reading and pausing on every message, and there is still plenty to
    /// write while the reader catches up. A value at or above `pause_reading_above` acts as
    /// `pause_reading_above`.
    pub resume_reading_at: usize,
}

/// The default [`SessionOptions::pause_reading_above`]: 4 MiB. Far above what a healthy peer
/// leaves unread (a 100 Mbit/s link with 100 ms round trips holds about 1.25 MB in flight),
/// and small enough that a thousand peers that stop reading hold a few GiB at worst.
pub const DEFAULT_PAUSE_READING_ABOVE: usize = 4 << 20;

/// The default [`SessionOptions::resume_reading_at`]: 1 MiB.
pub const DEFAULT_RESUME_READING_AT: usize = 1 << 20;

impl Default for SessionOptions {
    fn default() -> Self {
        SessionOptions {
            limits: Limits::default(),
            call_timeout: None,
            method_time_limit: None,
            keepalive: None,
            pause_reading_above: DEFAULT_PAUSE_READING_ABOVE,
            resume_reading_at: DEFAULT_RESUME_READING_AT,
        }
    }
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

/// A Cap'n Web session over one transport. Cheap to clone.
///
/// The connection stays open while any clone of the `Session` is alive (or until the peer
/// disconnects, or [`Session::close`]/[`Session::abort`] is called). Keep it alive as long as you
/// use stubs obtained from it: once the last clone is dropped the session shuts down and those
/// stubs fail with [`RpcError::Closed`].
#[derive(Clone)]
pub struct Session {
    inner: Arc<SessionInner>,
    _guard: Arc<ShutdownOnDrop>,
}

struct ShutdownOnDrop(Arc<SessionInner>);

impl Drop for ShutdownOnDrop {
    fn drop(&mut self) {
        self.0
            .abort(RpcError::Closed(SHUTDOWN_REASON.into()), false);
    }
}

/// What [`SessionBuilder::on_start`] runs.
type StartHook = Box<dyn FnOnce(&Session) + Send>;

/// Configures and starts a [`Session`] over a transport of your choice. (For WebSocket, the
/// [`Connector`](crate::transport::websocket::Connector) and [`Server`](crate::Server) start
/// sessions for you.)
#[must_use = "a builder does nothing until started"]
pub struct SessionBuilder {
    main: Option<Stub>,
    options: SessionOptions,
    on_start: Option<StartHook>,
}

impl SessionBuilder {
    /// The object the peer sees as our main object (its import 0). Without one, the peer's
    /// calls on it fail, as a client's usually should.
    pub fn main(mut self, main: impl Into<Stub>) -> Self {
        self.main = Some(main.into());
        self
    }

    /// Options of the session (limits on what the peer sends).
    pub fn options(mut self, options: SessionOptions) -> Self {
        self.options = options;
        self
    }

    /// Runs `setup` with the session before it reads the peer's first message, so whatever it
    /// hands out (a handle for the main object's `stats()`, say) is in place before the peer's
    /// first call can arrive.
    pub fn on_start(mut self, setup: impl FnOnce(&Session) + Send + 'static) -> Self {
        self.on_start = Some(Box::new(setup));
        self
    }

    /// Starts the session over `transport`. Needs a tokio runtime with I/O and timers enabled
    /// (`#[tokio::main]` and `Runtime::new()` enable both).
    pub fn start<T: Transport>(self, transport: T) -> Session {
        let inner = SessionInner::new(self.main.map(|s| s.hook), &self.options, Mode::connection());
        let session = Session {
            _guard: Arc::new(ShutdownOnDrop(inner.clone())),
            inner,
        };
        if let Some(setup) = self.on_start {
            setup(&session);
        }
        super::io::start(&session.inner, transport);
        session
    }
}

impl Session {
    /// Configures a session to start over a transport of your choice.
    ///
    /// ```
    /// use capnweb_runtime::{Session, Stub, Value};
    /// use capnweb_runtime::transport::memory;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), capnweb_runtime::RpcError> {
    /// let (near, far) = memory::pair();
    /// let echo = Stub::from_fn(|args: Vec<Value>| async move {
    ///     Ok(args.into_iter().next().unwrap_or(Value::Undefined))
    /// });
    /// let _server = Session::builder().main(echo).start(far);
    /// let client = Session::builder().start(near);
    /// let answer = client.main().invoke(("hi",)).await?;
    /// assert_eq!(answer, Value::String("hi".into()));
    /// # Ok(()) }
    /// ```
    pub fn builder() -> SessionBuilder {
        SessionBuilder {
            main: None,
            options: SessionOptions::default(),
            on_start: None,
        }
    }

    /// Starts a session over `transport` with `local_main` as our main object and default
    /// options: `Session::builder().main(main).start(transport)`, shorter.
    pub fn new<T: Transport>(transport: T, local_main: Option<Stub>) -> Session {
        let builder = Session::builder();
        match local_main {
            Some(main) => builder.main(main),
            None => builder,
        }
        .start(transport)
    }

    /// Lets the calls the peer is waiting for finish (until `deadline`), then closes with code
    /// 1001, and waits (briefly) for the close frame to be written.
    #[cfg(feature = "server")]
    pub(crate) async fn close_gracefully(&self, deadline: tokio::time::Instant) {
        let _ = tokio::time::timeout_at(deadline, self.inner.drained()).await;
        self.inner
            .abort(RpcError::Closed(SERVER_SHUTDOWN_REASON.into()), false);
        let flush_by = deadline.max(tokio::time::Instant::now() + CLOSE_FLUSH_TIME);
        let _ = tokio::time::timeout_at(flush_by, self.inner.transport_closed()).await;
    }

    /// The peer's main object.
    pub fn main(&self) -> Stub {
        Stub::from_hook(self.inner.peer_main())
    }

    /// Current table sizes (for leak checks).
    pub fn stats(&self) -> SessionStats {
        self.inner.stats()
    }

    /// Bytes of messages queued for the peer that the transport has not taken yet. The answers
    /// to the peer's calls among them are what back-pressure bounds (see
    /// [`SessionOptions::pause_reading_above`]). Messages the transport has taken (a
    /// WebSocket's write buffer, the operating system's socket buffer) are not counted.
    pub fn queued_bytes(&self) -> usize {
        self.inner.queued_bytes()
    }

    /// Aborts the session: the peer gets `["abort", Error(reason)]` and close code 3000, and
    /// every pending call on both sides fails.
    pub fn abort(&self, reason: impl Into<String>) {
        self.inner.abort(RpcError::Aborted(reason.into()), true);
    }

    /// Shuts the session down normally (close code 1000, no `abort` message).
    pub fn close(&self) {
        self.inner
            .abort(RpcError::Closed(SHUTDOWN_REASON.into()), false);
    }

    /// [`Session::close`], then waits until the transport has written everything queued
    /// before it (releases of dropped handles included) and the close frame, at most one
    /// second. For a program about to exit, which would otherwise cut those writes off.
    ///
    /// ```no_run
    /// # async fn example(session: capnweb_runtime::Session) {
    /// drop(session.main()); // queues nothing: the main object is never released
    /// session.close_and_wait().await;
    /// # }
    /// ```
    pub async fn close_and_wait(&self) {
        self.close();
        let _ = tokio::time::timeout(
            super::abort::CLOSE_FLUSH_TIME,
            self.inner.transport_closed(),
        )
        .await;
    }

    /// Why the session ended, if it has.
    pub fn broken_reason(&self) -> Option<RpcError> {
        self.inner.with_state(|st, _| st.broken.clone())
    }

    /// Waits until the session ends and returns why.
    pub async fn closed(&self) -> RpcError {
        self.inner.closed().await
    }

    /// Registers `callback` to run (once, in registration order) when the session ends, with
    /// the reason. Runs at once if it already has. Dropping the returned handle unregisters the
    /// callback (unlike capnweb, where `onRpcBroken` callbacks stay registered forever); call
    /// [`OnBroken::keep`] to leave it registered for the session's lifetime.
    pub fn on_broken(&self, callback: impl FnOnce(&RpcError) + Send + 'static) -> OnBroken {
        self.inner.on_broken(callback)
    }
}

impl SessionInner {
    /// Waits until the session ends and returns why.
    pub(crate) async fn closed(&self) -> RpcError {
        self.ended.wait().await.clone()
    }

    /// Registers `callback` for the session's end (see [`Session::on_broken`]).
    pub(crate) fn on_broken(
        self: &Arc<Self>,
        callback: impl FnOnce(&RpcError) + Send + 'static,
    ) -> OnBroken {
        let mut callback = Some(callback);
        let (id, already) = self.with_state(|st, _| {
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
            session: Arc::downgrade(self),
            id: Some(id),
        }
    }
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let stats = self.stats();
        f.debug_struct("Session")
            .field("imports", &stats.imports)
            .field("exports", &stats.exports)
            .field("broken", &self.broken_reason())
            .finish()
    }
}

impl std::fmt::Debug for SessionBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionBuilder")
            .field("main", &self.main)
            .field("options", &self.options)
            .field("on_start", &self.on_start.is_some())
            .finish()
    }
}

/// A registered [`Session::on_broken`] callback; dropping it unregisters the callback.
#[must_use = "the callback is unregistered as soon as this handle is dropped; use .keep() to keep it"]
pub struct OnBroken {
    session: std::sync::Weak<SessionInner>,
    id: Option<u64>,
}

impl OnBroken {
    /// A handle for a callback that was never registered (it already ran, or never will).
    pub(crate) fn unregistered() -> OnBroken {
        OnBroken {
            session: std::sync::Weak::new(),
            id: None,
        }
    }

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
