//! Connections that come back: a supervised session that re-dials with backoff
//! ([`ReconnectingSession`]), a retry helper for calls that are safe to repeat ([`retry`]), and
//! a small pool of such sessions ([`SessionPool`]).
//!
//! Capabilities belong to the session they came through. When it ends, every call in flight on
//! it fails with [`RpcError::Disconnected`] and every stub obtained from it stays broken: the
//! next session has a fresh main object, and nothing is silently re-pointed at it (the objects
//! on the other side are gone, and so is their state). Code that should survive a reconnect
//! asks for the main object again ([`ReconnectingSession::main`]) for each unit of work, or
//! lets [`ReconnectingSession::retry`] do so.

mod backoff;
mod pool;
mod retry;
mod state;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

pub use backoff::Backoff;
pub use pool::{SessionPool, SessionPoolBuilder};
pub use retry::{RetryPolicy, retry};
pub use state::ConnectionState;

use crate::error::RpcError;
use crate::session::Session;
use crate::stub::Stub;

/// Opens one session; called again for every re-dial.
pub(crate) type Dial =
    Arc<dyn Fn() -> Pin<Box<dyn Future<Output = Result<Session, RpcError>> + Send>> + Send + Sync>;

/// Told of every state change, in order.
pub(crate) type StateCallback = Arc<dyn Fn(&ConnectionState) + Send + Sync>;

/// A session that re-dials when its connection is lost: with exponential backoff and jitter,
/// a fresh main object each time, and every state change reported.
///
/// ```no_run
/// use std::time::Duration;
/// use capnweb_runtime::reconnect::{Backoff, ReconnectingSession};
/// use capnweb_runtime::transport::websocket::Connector;
///
/// # async fn example() -> Result<(), capnweb_runtime::RpcError> {
/// let client = ReconnectingSession::builder(|| {
///     Connector::new("wss://api.example.com/rpc")
///         .bearer_token("secret")
///         .connect_timeout(Duration::from_secs(5))
///         .connect()
/// })
/// .backoff(Backoff::default())
/// .on_state(|state| println!("connection: {state:?}"))
/// .start();
///
/// client.connected().await?; // wait for the first connection
/// let answer = client.main().call("ping", ()).await; // fails at once while disconnected
/// client.close().await;
/// # Ok(())
/// # }
/// ```
///
/// Cheap to clone; the supervision stops when the last clone is dropped or at
/// [`close`](ReconnectingSession::close).
#[derive(Clone)]
pub struct ReconnectingSession {
    shared: Arc<Shared>,
    _stop: Arc<StopOnDrop>,
}

/// What the supervising task and the handles share.
struct Shared {
    current: watch::Sender<Current>,
    stop: watch::Sender<bool>,
    /// Set when the supervising task has ended.
    done: watch::Sender<bool>,
    on_state: Option<StateCallback>,
}

/// The current state, and the session while connected.
struct Current {
    state: ConnectionState,
    session: Option<Session>,
}

struct StopOnDrop(Arc<Shared>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.stop.send_replace(true);
    }
}

/// Configures and starts a [`ReconnectingSession`].
#[must_use = "a builder does nothing until started"]
pub struct ReconnectingSessionBuilder {
    dial: Dial,
    backoff: Backoff,
    max_attempts: Option<u32>,
    on_state: Option<StateCallback>,
}

impl ReconnectingSession {
    /// A reconnecting session that opens each connection with `dial`, typically a
    /// [`Connector`](crate::transport::websocket::Connector) built afresh each time (its
    /// `connect_timeout` bounds each dial).
    pub fn builder<F, Fut>(dial: F) -> ReconnectingSessionBuilder
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Session, RpcError>> + Send + 'static,
    {
        ReconnectingSessionBuilder {
            dial: Arc::new(move || Box::pin(dial())),
            backoff: Backoff::default(),
            max_attempts: None,
            on_state: None,
        }
    }

    /// The main object of the current session. While there is none (dialing, waiting to
    /// re-dial, given up, closed) it is a broken stub, so calls fail at once with
    /// [`RpcError::Disconnected`] (or the last connect error, after giving up) rather than
    /// waiting; use [`connected`](Self::connected) or [`retry`](Self::retry) to wait.
    pub fn main(&self) -> Stub {
        let current = self.shared.current.borrow();
        match &current.session {
            Some(session) => session.main(),
            None => Stub::broken(not_connected(&current.state)),
        }
    }

    /// The current session, if connected.
    pub fn session(&self) -> Option<Session> {
        self.shared.current.borrow().session.clone()
    }

    /// The current state.
    pub fn state(&self) -> ConnectionState {
        self.shared.current.borrow().state.clone()
    }

    /// Waits until a session is up and returns it; fails if no more connections will be made
    /// (given up, or closed). Bound the wait with `tokio::time::timeout` if needed.
    pub async fn connected(&self) -> Result<Session, RpcError> {
        let mut rx = self.shared.current.subscribe();
        loop {
            {
                let current = rx.borrow_and_update();
                if let Some(session) = &current.session
                    && session.broken_reason().is_none()
                {
                    return Ok(session.clone());
                }
                if current.state.is_final() {
                    return Err(not_connected(&current.state));
                }
            }
            // The sender lives in `shared`, which this handle holds.
            let _ = rx.changed().await;
        }
    }

    /// Runs `call` with the current main object, retrying transport failures (connect
    /// failures, lost connections, timeouts) as `policy` allows, which gives the session time
    /// to reconnect. Only for calls that are safe to repeat: a call whose connection was lost
    /// may or may not have run. Errors the call itself returns are not retried.
    ///
    /// ```no_run
    /// # use capnweb_runtime::reconnect::{ReconnectingSession, RetryPolicy};
    /// # async fn example(client: ReconnectingSession) -> Result<(), capnweb_runtime::RpcError> {
    /// let name = client
    ///     .retry(&RetryPolicy::default(), |main| async move {
    ///         main.call("userName", (7,)).typed::<String>().await
    ///     })
    ///     .await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn retry<T, F, Fut>(&self, policy: &RetryPolicy, mut call: F) -> Result<T, RpcError>
    where
        F: FnMut(Stub) -> Fut,
        Fut: Future<Output = Result<T, RpcError>>,
    {
        retry(policy, |_attempt| call(self.main())).await
    }

    /// Stops reconnecting, closes the current session (close code 1000) and waits until the
    /// supervising task has ended. The state becomes [`ConnectionState::Closed`].
    pub async fn close(&self) {
        self.shared.stop.send_replace(true);
        let mut done = self.shared.done.subscribe();
        let _ = done.wait_for(|done| *done).await;
        // After giving up, the task ended on its own; closing is still reported.
        if !matches!(self.state(), ConnectionState::Closed) {
            self.shared.set(ConnectionState::Closed, None);
        }
    }
}

impl ReconnectingSessionBuilder {
    /// The same dial, backoff and attempts, without the state callback (a pool member's).
    pub(crate) fn clone_settings(&self) -> Self {
        ReconnectingSessionBuilder {
            dial: self.dial.clone(),
            backoff: self.backoff.clone(),
            max_attempts: self.max_attempts,
            on_state: None,
        }
    }

    /// The waits between dials. Default: [`Backoff::default`].
    pub fn backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// Gives up after this many failed dials in a row (`None`, the default: never).
    pub fn max_attempts(mut self, max_attempts: Option<u32>) -> Self {
        self.max_attempts = max_attempts;
        self
    }

    /// Runs `callback` with every state change, in order, before the change is visible to
    /// [`ReconnectingSession::state`] and the calls (keep it short: it runs on the supervising
    /// task; a panic in it is logged and ignored).
    pub fn on_state(mut self, callback: impl Fn(&ConnectionState) + Send + Sync + 'static) -> Self {
        self.on_state = Some(Arc::new(callback));
        self
    }

    /// Starts dialing on a task of its own and returns at once. Needs a tokio runtime.
    pub fn start(self) -> ReconnectingSession {
        let shared = Arc::new(Shared {
            current: watch::Sender::new(Current {
                state: ConnectionState::Connecting { attempt: 1 },
                session: None,
            }),
            stop: watch::Sender::new(false),
            done: watch::Sender::new(false),
            on_state: self.on_state,
        });
        let supervisor = Supervisor {
            shared: shared.clone(),
            dial: self.dial,
            backoff: self.backoff,
            max_attempts: self.max_attempts,
        };
        tokio::spawn(supervisor.run());
        ReconnectingSession {
            _stop: Arc::new(StopOnDrop(shared.clone())),
            shared,
        }
    }
}

impl Shared {
    fn set(&self, state: ConnectionState, session: Option<Session>) {
        self.report(&state);
        self.current.send_replace(Current { state, session });
    }

    /// Tells the observers of a change, before `state()`, `main()` and `connected()` see it:
    /// a log of the changes is complete up to what the application can observe.
    fn report(&self, state: &ConnectionState) {
        tracing::info!(target: "capnweb::reconnect", state = ?state, "connection state");
        if let Some(callback) = &self.on_state {
            crate::task::run_contained("an on_state callback", || callback(state));
        }
    }
}

/// The task that dials, watches the session, and dials again.
struct Supervisor {
    shared: Arc<Shared>,
    dial: Dial,
    backoff: Backoff,
    max_attempts: Option<u32>,
}

impl Supervisor {
    async fn run(self) {
        struct Done(Arc<Shared>);
        impl Drop for Done {
            fn drop(&mut self) {
                self.0.done.send_replace(true);
            }
        }
        let _done = Done(self.shared.clone());
        let mut stop = self.shared.stop.subscribe();
        let stopped = async move {
            let _ = stop.wait_for(|stop| *stop).await;
        };
        let stopped_by_handle = {
            let supervise = self.supervise();
            tokio::select! {
                biased;
                () = stopped => true,
                () = supervise => false,
            }
        };
        // The supervision (and with it the session) is dropped by now.
        if stopped_by_handle {
            self.shared.set(ConnectionState::Closed, None);
        }
    }

    /// Runs until giving up; the caller stops it earlier by dropping it.
    async fn supervise(&self) {
        // Failures in a row: failed dials, and sessions that ended soon after they opened (a
        // server that accepts and drops at once must not be re-dialed in a tight loop).
        let mut failures = 0u32;
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            self.shared
                .set(ConnectionState::Connecting { attempt }, None);
            let session = match (self.dial)().await {
                Ok(session) => session,
                Err(error) => {
                    failures += 1;
                    if self.max_attempts.is_some_and(|max| attempt >= max) {
                        let gave_up = ConnectionState::GaveUp {
                            attempts: attempt,
                            error,
                        };
                        return self.shared.set(gave_up, None);
                    }
                    let retry_in = self.backoff.delay(failures);
                    let waiting = ConnectionState::Waiting {
                        attempt,
                        error,
                        retry_in,
                    };
                    self.shared.set(waiting, None);
                    tokio::time::sleep(retry_in).await;
                    continue;
                }
            };
            attempt = 0;
            let opened = tokio::time::Instant::now();
            self.shared
                .set(ConnectionState::Connected, Some(session.clone()));
            // Close the session if this future is dropped (the handle closed or went away).
            let guard = CloseOnDrop(session);
            let reason = guard.0.closed().await;
            drop(guard);
            self.shared
                .set(ConnectionState::Disconnected { reason }, None);
            failures = if opened.elapsed() >= self.backoff.max {
                1
            } else {
                failures + 1
            };
            // Even after a long-lived session, wait a jittered moment: every client of a
            // restarted server would otherwise dial it in the same instant.
            tokio::time::sleep(self.backoff.delay(failures)).await;
        }
    }
}

struct CloseOnDrop(Session);

impl Drop for CloseOnDrop {
    fn drop(&mut self) {
        self.0.close();
    }
}

/// The error of a call made while there is no session.
fn not_connected(state: &ConnectionState) -> RpcError {
    match state {
        ConnectionState::GaveUp { attempts, error } => RpcError::connect_failed(format!(
            "gave up reconnecting after {attempts} failed attempts; the last: {error}"
        )),
        ConnectionState::Closed => RpcError::disconnected("the reconnecting session was closed"),
        ConnectionState::Waiting {
            attempt,
            error,
            retry_in,
        } => RpcError::disconnected(format!(
            "not connected: attempt {attempt} failed ({error}); next in {}",
            format_wait(*retry_in)
        )),
        ConnectionState::Disconnected { reason } => {
            RpcError::disconnected(format!("not connected: reconnecting after: {reason}"))
        }
        ConnectionState::Connecting { attempt } => {
            RpcError::disconnected(format!("not connected yet: connecting (attempt {attempt})"))
        }
        // A session that broke before the supervisor noticed.
        ConnectionState::Connected => RpcError::disconnected("not connected: reconnecting"),
    }
}

fn format_wait(wait: Duration) -> String {
    format!("{} ms", wait.as_millis())
}

impl std::fmt::Debug for ReconnectingSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReconnectingSession")
            .field("state", &self.state())
            .finish()
    }
}

impl std::fmt::Debug for ReconnectingSessionBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReconnectingSessionBuilder")
            .field("backoff", &self.backoff)
            .field("max_attempts", &self.max_attempts)
            .field("on_state", &self.on_state.is_some())
            .finish()
    }
}
