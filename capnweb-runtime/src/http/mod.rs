//! Cap'n Web over HTTP on hyper 1: WebSocket sessions and HTTP batches (protocol.md section
//! 2.2) served on the same path, and an HTTP batch client. Needs the `http` feature (on by
//! default); the `axum` feature adds [`RpcService::router`].
//!
//! - [`serve`] is the one-call server: every WebSocket upgrade gets a long-lived session and
//!   every POST is one batch, on any path, each with a fresh main object.
//! - [`RpcService`] is the same server as a tower `Service`, to mount in an existing stack
//!   (`axum::Router::route_service`, or hyper directly).
//! - [`batch_session`] and [`BatchClient`] make client batches that POST to a URL (plain
//!   `http://`; bring your own client through [`crate::batch::BatchSession::new`] for TLS).
//!
//! ```no_run
//! use std::sync::Arc;
//! use capnweb_runtime::{CallFuture, RpcError, RpcTarget, Stub, Value};
//!
//! struct Api;
//!
//! impl RpcTarget for Api {
//!     fn call(self: Arc<Self>, method: &str, args: Vec<Value>) -> CallFuture {
//!         let result = match method {
//!             "hello" => Ok(Value::String(format!("Hello, {:?}!", args.first()))),
//!             other => Err(RpcError::no_such_method(other)),
//!         };
//!         Box::pin(std::future::ready(result))
//!     }
//! }
//!
//! #[tokio::main]
//! async fn main() -> std::io::Result<()> {
//!     // ws://127.0.0.1:8080/<any path> and POST http://127.0.0.1:8080/<any path>
//!     capnweb_runtime::serve("127.0.0.1:8080", || Stub::new(Api)).await
//! }
//! ```

mod client;
mod service;

use std::sync::Mutex;
use std::time::Duration;

use ::http::HeaderMap;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, ToSocketAddrs};

use crate::session::Session;
use crate::stub::Stub;

pub use client::{BatchClient, batch_session};
pub use service::RpcService;

/// Which kind of session a main object is being made for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionKind {
    /// A WebSocket connection: a long-lived session.
    WebSocket,
    /// One HTTP batch POST: a session that ends with the response.
    HttpBatch,
}

type SessionHook = Box<dyn FnOnce(&Session) + Send + 'static>;

/// What a main-object factory ([`RpcService::with_context`]) learns about the new session.
pub struct SessionContext {
    kind: SessionKind,
    headers: HeaderMap,
    on_session: Mutex<Vec<SessionHook>>,
}

impl SessionContext {
    fn new(kind: SessionKind, headers: HeaderMap) -> Self {
        SessionContext {
            kind,
            headers,
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

    /// Runs `hook` with the session before it reads the peer's first message, e.g. to give the
    /// main object a handle for `stats()` or `on_broken`. Only WebSocket sessions have a
    /// [`Session`] handle: for an HTTP batch the hook never runs.
    pub fn on_session(&self, hook: impl FnOnce(&Session) + Send + 'static) {
        self.on_session
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Box::new(hook));
    }

    fn session_started(&self, session: &Session) {
        let hooks = std::mem::take(&mut *self.on_session.lock().unwrap_or_else(|e| e.into_inner()));
        for hook in hooks {
            hook(session);
        }
    }
}

/// Serves Cap'n Web on `addr` until the task is cancelled: WebSocket upgrades and HTTP batch
/// POSTs on every path, each session with a fresh main object from `make_main`. Returns only
/// if binding fails.
///
/// For options or a session hook, use [`serve_on`] with an [`RpcService`]; to add routes of your
/// own, mount the [`RpcService`] in your router instead.
///
/// ```no_run
/// # use capnweb_runtime::Stub;
/// # async fn example(make_api: impl Fn() -> Stub + Send + Sync + 'static) -> std::io::Result<()> {
/// capnweb_runtime::serve("127.0.0.1:8080", make_api).await
/// # }
/// ```
pub async fn serve<A, F>(addr: A, make_main: F) -> std::io::Result<()>
where
    A: ToSocketAddrs,
    F: Fn() -> Stub + Send + Sync + 'static,
{
    let listener = TcpListener::bind(addr).await?;
    serve_on(listener, RpcService::new(make_main)).await;
    Ok(())
}

/// Serves `service` on every connection `listener` accepts (HTTP/1.1), until the task is
/// cancelled. A failing connection never affects the others.
pub async fn serve_on(listener: TcpListener, service: RpcService) {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                // A connection reset before we took it is routine; anything else (out of file
                // descriptors) tends to pass, so back off briefly instead of spinning.
                tracing::debug!("capnweb: accept failed: {e}");
                if !matches!(
                    e.kind(),
                    std::io::ErrorKind::ConnectionAborted | std::io::ErrorKind::ConnectionReset
                ) {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let service = service.clone();
        tokio::spawn(async move {
            let handler = hyper::service::service_fn(move |request| {
                let service = service.clone();
                async move { Ok::<_, std::convert::Infallible>(service.handle(request).await) }
            });
            let connection = hyper::server::conn::http1::Builder::new()
                // The timer enables hyper's header-read timeout (slow-client protection).
                .timer(TokioTimer::new())
                .serve_connection(TokioIo::new(stream), handler)
                .with_upgrades();
            if let Err(e) = connection.await {
                tracing::debug!("capnweb: HTTP connection ended with an error: {e}");
            }
        });
    }
}
