//! Several reconnecting sessions to one server, for more throughput than one connection gives.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::{Backoff, ConnectionState, ReconnectingSession, ReconnectingSessionBuilder};
use crate::error::RpcError;
use crate::session::Session;
use crate::stub::Stub;

/// A fixed number of [`ReconnectingSession`]s; [`main`](SessionPool::main) hands out their
/// main objects in turn, skipping the ones that are not connected.
///
/// A capability obtained through one member lives on that member's connection: keep using it
/// for the calls that depend on it (pipelining, callbacks), and take a new main object for
/// independent work.
///
/// ```no_run
/// use capnweb_runtime::reconnect::SessionPool;
/// use capnweb_runtime::transport::websocket::connect;
///
/// # async fn example() -> Result<(), capnweb_runtime::RpcError> {
/// let pool = SessionPool::builder(|| connect("ws://127.0.0.1:8080/rpc")).size(4).start();
/// pool.connected().await?;
/// let pong = pool.main().call("ping", ()).await?;
/// pool.close().await;
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct SessionPool {
    members: Arc<[ReconnectingSession]>,
    next: Arc<AtomicUsize>,
}

/// Told of each member's state changes, with the member's index.
type MemberStateCallback = Arc<dyn Fn(usize, &ConnectionState) + Send + Sync>;

/// Configures and starts a [`SessionPool`].
#[must_use = "a builder does nothing until started"]
pub struct SessionPoolBuilder {
    /// What every member is built from (its own `on_state` aside).
    member: ReconnectingSessionBuilder,
    size: usize,
    on_state: Option<MemberStateCallback>,
}

impl SessionPool {
    /// A pool whose members each open their connections with `dial`.
    pub fn builder<F, Fut>(dial: F) -> SessionPoolBuilder
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Session, RpcError>> + Send + 'static,
    {
        SessionPoolBuilder {
            member: ReconnectingSession::builder(dial),
            size: 2,
            on_state: None,
        }
    }

    /// The main object of the next connected member (round robin). When none is connected,
    /// a broken stub whose calls fail at once, as [`ReconnectingSession::main`]'s do.
    pub fn main(&self) -> Stub {
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let count = self.members.len();
        (0..count)
            .map(|offset| &self.members[(start + offset) % count])
            .find(|member| member.session().is_some())
            .unwrap_or(&self.members[start % count])
            .main()
    }

    /// The members, in order.
    pub fn members(&self) -> &[ReconnectingSession] {
        &self.members
    }

    /// Waits until at least one member is connected; fails when none ever will be again.
    pub async fn connected(&self) -> Result<Session, RpcError> {
        let waits = self.members.iter().map(|m| Box::pin(m.connected()));
        let (first, _, rest) = futures_util::future::select_all(waits).await;
        match first {
            Ok(session) => Ok(session),
            Err(error) if rest.is_empty() => Err(error),
            // That member gave up; another may still connect.
            Err(_) => {
                let mut last = None;
                for wait in rest {
                    match wait.await {
                        Ok(session) => return Ok(session),
                        Err(error) => last = Some(error),
                    }
                }
                Err(last.expect("rest is not empty"))
            }
        }
    }

    /// Closes every member (see [`ReconnectingSession::close`]).
    pub async fn close(&self) {
        futures_util::future::join_all(self.members.iter().map(ReconnectingSession::close)).await;
    }
}

impl SessionPoolBuilder {
    /// How many connections (at least 1). Default 2.
    pub fn size(mut self, size: usize) -> Self {
        self.size = size.max(1);
        self
    }

    /// The waits between each member's dials.
    pub fn backoff(mut self, backoff: Backoff) -> Self {
        self.member = self.member.backoff(backoff);
        self
    }

    /// Each member gives up after this many failed dials in a row (`None`: never).
    pub fn max_attempts(mut self, max_attempts: Option<u32>) -> Self {
        self.member = self.member.max_attempts(max_attempts);
        self
    }

    /// Runs `callback` with each member's index and state changes.
    pub fn on_state(
        mut self,
        callback: impl Fn(usize, &ConnectionState) + Send + Sync + 'static,
    ) -> Self {
        self.on_state = Some(Arc::new(callback));
        self
    }

    /// Starts every member dialing. Needs a tokio runtime.
    pub fn start(self) -> SessionPool {
        let members: Vec<ReconnectingSession> = (0..self.size)
            .map(|index| {
                let mut builder = self.member.clone_settings();
                if let Some(callback) = self.on_state.clone() {
                    builder = builder.on_state(move |state| callback(index, state));
                }
                builder.start()
            })
            .collect();
        SessionPool {
            members: members.into(),
            next: Arc::new(AtomicUsize::new(0)),
        }
    }
}

impl std::fmt::Debug for SessionPoolBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionPoolBuilder")
            .field("size", &self.size)
            .field("member", &self.member)
            .finish()
    }
}
