//! [`SessionContext`]: what a server's main-object factory learns about a new session.

use std::net::SocketAddr;
use std::sync::Mutex;

use ::http::HeaderMap;

use crate::session::Session;

/// Which kind of session a main object is being made for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionKind {
    /// A WebSocket connection: a long-lived session.
    WebSocket,
    /// One HTTP batch POST: a session that ends with the response.
    HttpBatch,
}

/// The address of the client on the other end of a connection, as a request extension.
#[derive(Clone, Copy, Debug)]
pub(crate) struct PeerAddr(pub(crate) SocketAddr);

type SessionHook = Box<dyn FnOnce(&Session) + Send + 'static>;

/// What a main-object factory ([`Server::builder`](crate::Server::builder)) learns about the
/// new session: its kind, the client's address and the request's headers, for example to
/// authenticate the client before handing it a capability.
pub struct SessionContext {
    kind: SessionKind,
    headers: HeaderMap,
    peer_addr: Option<SocketAddr>,
    on_session: Mutex<Vec<SessionHook>>,
}

impl SessionContext {
    pub(crate) fn new(
        kind: SessionKind,
        headers: HeaderMap,
        peer_addr: Option<SocketAddr>,
    ) -> Self {
        SessionContext {
            kind,
            headers,
            peer_addr,
            on_session: Mutex::new(Vec::new()),
        }
    }

    /// WebSocket or HTTP batch.
    pub fn kind(&self) -> SessionKind {
        self.kind
    }

    /// The headers of the request (the upgrade request for a WebSocket), e.g. to authenticate.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The client's address. Always known under [`Server`](crate::Server); in a router of your
    /// own, known when the request carries it (axum's `ConnectInfo<SocketAddr>`, with the
    /// `axum` feature).
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        self.peer_addr
    }

    /// Runs `hook` with the session before it reads the peer's first message, e.g. to give the
    /// main object a handle for `stats()` or `on_broken`. Only WebSocket sessions have a
    /// [`Session`] handle: for an HTTP batch the hook never runs.
    pub fn on_session(&self, hook: impl FnOnce(&Session) + Send + 'static) {
        self.on_session
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Box::new(hook));
    }

    pub(crate) fn session_started(&self, session: &Session) {
        let hooks = std::mem::take(&mut *self.on_session.lock().unwrap_or_else(|e| e.into_inner()));
        for hook in hooks {
            hook(session);
        }
    }
}

impl std::fmt::Debug for SessionContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionContext")
            .field("kind", &self.kind)
            .field("peer_addr", &self.peer_addr)
            .field("headers", &self.headers)
            .finish_non_exhaustive()
    }
}
