//! [`Server`]: Cap'n Web over WebSocket and HTTP batch on one port, started by a builder and
//! stopped by its handle.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream, ToSocketAddrs};

use super::refusal::Admit;
use super::shutdown::Shutdown;
use super::{PeerAddr, Refusal, RpcService, SessionContext};
use crate::batch::BatchServerOptions;
use crate::session::SessionOptions;
use crate::stub::Stub;

/// How long [`Server::shutdown`] lets calls in flight finish, unless set with
/// [`ServerBuilder::shutdown_timeout`].
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a client may take to send a request head, unless set with
/// [`ServerBuilder::handshake_timeout`].
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);

pub(crate) type MakeMain = dyn Fn(&SessionContext) -> Stub + Send + Sync + 'static;

/// A running Cap'n Web server: WebSocket sessions and HTTP batches on every path of one port,
/// each session with a fresh main object. Start one with [`Server::builder`]; stop it with
/// [`Server::shutdown`].
///
/// Dropping the handle also begins the shutdown (without waiting for it): keep it for as long
/// as the server should run, or call [`Server::run_until_stopped`].
///
/// ```no_run
/// use std::sync::Arc;
/// use capnweb_runtime::{CallFuture, RpcError, RpcTarget, Server, Stub, Value};
///
/// struct Api;
///
/// impl RpcTarget for Api {
///     fn call(self: Arc<Self>, method: &str, _args: capnweb_runtime::Args) -> CallFuture {
///         let result = match method {
///             "hello" => Ok(Value::String("Hello!".into())),
///             other => Err(RpcError::no_such_method(other)),
///         };
///         Box::pin(std::future::ready(result))
///     }
/// }
///
/// # async fn run() -> std::io::Result<()> {
/// // ws://127.0.0.1:8080/<any path>, and POST http://127.0.0.1:8080/<any path>
/// let server = Server::builder(|_context| Stub::new(Api))
///     .bind("127.0.0.1:8080")
///     .await?;
/// println!("listening on {}", server.local_addr());
/// tokio::signal::ctrl_c().await?;
/// server.shutdown().await; // calls in flight finish, every session gets a close frame
/// # Ok(()) }
/// ```
#[must_use = "dropping the server handle shuts the server down"]
pub struct Server {
    local_addr: SocketAddr,
    shutdown: Arc<Shutdown>,
}

/// Configures a [`Server`] (or an [`RpcService`] to mount in a router of your own).
///
/// ```no_run
/// use std::time::Duration;
/// use capnweb_runtime::{Server, SessionOptions, Stub, Value};
///
/// # async fn run() -> std::io::Result<()> {
/// let mut sessions = SessionOptions::default();
/// sessions.method_time_limit = Some(Duration::from_secs(30));
/// sessions.keepalive = Some(Duration::from_secs(20));
/// let server = Server::builder(|context| {
///     // Authenticate from `context.headers()`, log `context.peer_addr()`, ...
///     Stub::from_fn(|_args: Vec<Value>| async { Ok(Value::Null) })
/// })
/// .session_options(sessions)
/// .handshake_timeout(Duration::from_secs(10))
/// .shutdown_timeout(Duration::from_secs(5))
/// .bind("127.0.0.1:8080")
/// .await?;
/// server.run_until(async { let _ = tokio::signal::ctrl_c().await; }).await;
/// # Ok(()) }
/// ```
#[must_use = "a builder does nothing until bound or turned into a service"]
pub struct ServerBuilder {
    make_main: Arc<MakeMain>,
    admit: Option<Arc<Admit>>,
    options: BatchServerOptions,
    shutdown_timeout: Duration,
    handshake_timeout: Duration,
    subprotocols: Vec<String>,
    #[cfg(feature = "tls")]
    tls: Option<Arc<crate::tls::rustls::ServerConfig>>,
}

impl Server {
    /// A server whose every session gets a fresh main object from `make_main`, which sees the
    /// session's [`SessionContext`] (kind, peer address, request headers).
    pub fn builder<F>(make_main: F) -> ServerBuilder
    where
        F: Fn(&SessionContext) -> Stub + Send + Sync + 'static,
    {
        ServerBuilder {
            make_main: Arc::new(make_main),
            admit: None,
            options: BatchServerOptions::default(),
            shutdown_timeout: DEFAULT_SHUTDOWN_TIMEOUT,
            handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
            subprotocols: Vec::new(),
            #[cfg(feature = "tls")]
            tls: None,
        }
    }

    /// The address the server listens on (with the port the system chose for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Shuts the server down gracefully and waits until it is done: stops accepting
    /// connections, lets requests and calls in flight finish (for at most the shutdown timeout),
    /// then closes every WebSocket session with close code 1001 and every HTTP connection.
    /// Calls still running at the deadline fail on the client with a disconnect error.
    pub async fn shutdown(self) {
        self.shutdown.begin();
        self.shutdown.idle().await;
    }

    /// Waits for `signal`, then shuts down gracefully, e.g.
    /// `server.run_until(tokio::signal::ctrl_c()).await`.
    pub async fn run_until<F: std::future::Future>(self, signal: F) {
        signal.await;
        self.shutdown().await;
    }

    /// Runs forever (until the task is cancelled, which shuts the server down).
    pub async fn run_until_stopped(self) {
        self.run_until(std::future::pending::<()>()).await;
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shutdown.begin();
    }
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("local_addr", &self.local_addr)
            .field("shutting_down", &self.shutdown.has_begun())
            .finish()
    }
}

impl ServerBuilder {
    /// Options of every session (limits on what clients send).
    pub fn session_options(mut self, options: SessionOptions) -> Self {
        self.options.session = options;
        self
    }

    /// Largest accepted HTTP batch body in bytes (default
    /// [`DEFAULT_MAX_BODY_BYTES`](crate::batch::DEFAULT_MAX_BODY_BYTES)); a larger one gets
    /// `413` before any of it is evaluated.
    pub fn max_body_bytes(mut self, bytes: usize) -> Self {
        self.options.max_body_bytes = bytes;
        self
    }

    /// Largest HTTP batch response body in bytes (default
    /// [`DEFAULT_MAX_RESPONSE_BYTES`](crate::batch::DEFAULT_MAX_RESPONSE_BYTES)); a batch whose
    /// answers grow past it is aborted and gets `500` naming the limit (see
    /// [`BatchServerOptions::max_response_bytes`]).
    pub fn max_batch_response_bytes(mut self, bytes: usize) -> Self {
        self.options.max_response_bytes = bytes;
        self
    }

    /// How long one HTTP batch may take to answer every call it pulled; unlimited by default,
    /// as in capnweb. A batch over the limit gets `500`.
    pub fn batch_timeout(mut self, timeout: Duration) -> Self {
        self.options.timeout = Some(timeout);
        self
    }

    /// How long a graceful shutdown lets requests and calls in flight finish (default
    /// [`DEFAULT_SHUTDOWN_TIMEOUT`]).
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = timeout;
        self
    }

    /// How long a client may take to send a complete request head (a WebSocket handshake, or
    /// a batch POST's headers), counted from when it connected or finished its previous
    /// request; then the connection is closed (default [`DEFAULT_HANDSHAKE_TIMEOUT`]). A
    /// connection that never sends anything, or sends its headers a byte at a time, holds a
    /// socket and a task only this long.
    pub fn handshake_timeout(mut self, timeout: Duration) -> Self {
        self.handshake_timeout = timeout;
        self
    }

    /// WebSocket subprotocols this server speaks, in order of preference: the first one a
    /// client offers (`Sec-WebSocket-Protocol`) is named in the handshake's answer. None by
    /// default, so a client that insists on one is refused by its own side, as the RFC asks.
    /// The session's [`SessionContext`] headers show what the client offered.
    ///
    /// ```no_run
    /// # async fn example() -> std::io::Result<()> {
    /// use capnweb_runtime::{Server, Stub, Value};
    ///
    /// let server = Server::builder(|_| Stub::from_fn(|_| async { Ok(Value::Null) }))
    ///     .subprotocols(["capnweb.v2", "capnweb.v1"]) // v2 preferred
    ///     .bind("127.0.0.1:8080")
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn subprotocols<I, S>(mut self, subprotocols: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.subprotocols = subprotocols.into_iter().map(Into::into).collect();
        self
    }

    /// Serves TLS only (`wss://` and `https://`) with `config`, e.g. from
    /// [`tls::server_config_from_pem`](crate::tls::server_config_from_pem). The TLS handshake
    /// counts toward the [handshake timeout](Self::handshake_timeout).
    #[cfg(feature = "tls")]
    pub fn tls(mut self, config: Arc<crate::tls::rustls::ServerConfig>) -> Self {
        self.tls = Some(config);
        self
    }

    /// Decides from a request's [`SessionContext`] (headers, peer address, WebSocket or batch)
    /// whether it may start a session, before `make_main` runs: an `Err` answers the WebSocket
    /// upgrade or the batch `POST` with the [`Refusal`]'s status, headers and message instead,
    /// and no session starts. For authentication by header, `Origin` checks, rate limits. The
    /// check runs on the connection's task, so it should be quick; a panic in it refuses the
    /// request with `500`. Default: every request is admitted.
    ///
    /// A client sees a connection that failed with that status (our clients: a
    /// [`RpcError::Connect`](crate::RpcError::Connect) naming it); a refusal is the answer to
    /// "who are you", while a main object chosen per caller in `make_main` answers "what may
    /// you do".
    ///
    /// ```no_run
    /// use capnweb_runtime::http::Refusal;
    /// use capnweb_runtime::{Server, Stub, Value};
    /// use http::header::{AUTHORIZATION, HeaderValue, WWW_AUTHENTICATE};
    ///
    /// # async fn run() -> std::io::Result<()> {
    /// let server = Server::builder(|_context| Stub::from_fn(|_: Vec<Value>| async { Ok(Value::Null) }))
    ///     .admit(|context| {
    ///         match context.headers().get(AUTHORIZATION) {
    ///             Some(token) if token == "Bearer s3cret" => Ok(()),
    ///             _ => Err(Refusal::unauthorized("a valid bearer token is required")
    ///                 .header(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"))),
    ///         }
    ///     })
    ///     .bind("127.0.0.1:8080")
    ///     .await?;
    /// # drop(server); Ok(()) }
    /// ```
    pub fn admit<F>(mut self, admit: F) -> Self
    where
        F: Fn(&SessionContext) -> Result<(), Refusal> + Send + Sync + 'static,
    {
        self.admit = Some(Arc::new(admit));
        self
    }

    /// Binds `addr` and starts serving.
    pub async fn bind(self, addr: impl ToSocketAddrs) -> std::io::Result<Server> {
        let listener = TcpListener::bind(addr).await?;
        self.listen(listener)
    }

    /// Starts serving on a listener you bound. Needs a tokio runtime (the server's tasks are
    /// spawned on the current one).
    pub fn listen(self, listener: TcpListener) -> std::io::Result<Server> {
        let local_addr = listener.local_addr()?;
        let shutdown = Shutdown::new(self.shutdown_timeout);
        let service = RpcService::new(
            self.make_main,
            self.admit,
            self.options,
            shutdown.clone(),
            self.subprotocols,
        );
        let mut http = hyper::server::conn::http1::Builder::new();
        // The timer enables the handshake timeout (slow-client protection).
        http.timer(TokioTimer::new())
            .header_read_timeout(self.handshake_timeout);
        let accepting = Accepting {
            service,
            http,
            shutdown: shutdown.clone(),
            #[cfg(feature = "tls")]
            handshake_timeout: self.handshake_timeout,
            #[cfg(feature = "tls")]
            tls: self.tls.map(tokio_rustls::TlsAcceptor::from),
        };
        shutdown.spawn(accept_loop(listener, accepting));
        Ok(Server {
            local_addr,
            shutdown,
        })
    }

    /// The server as a tower `Service`, to mount in a router of your own (axum's
    /// `Router::route_service`, or `RpcService::router` with the `axum` feature). Its
    /// WebSocket sessions are closed by [`RpcService::shutdown`].
    pub fn into_service(self) -> RpcService {
        RpcService::new(
            self.make_main,
            self.admit,
            self.options,
            Shutdown::new(self.shutdown_timeout),
            self.subprotocols,
        )
    }
}

/// What every accepted connection is served with.
#[derive(Clone)]
struct Accepting {
    service: RpcService,
    http: hyper::server::conn::http1::Builder,
    shutdown: Arc<Shutdown>,
    /// Also bounds the TLS handshake (hyper's own timer bounds the HTTP request head).
    #[cfg(feature = "tls")]
    handshake_timeout: Duration,
    #[cfg(feature = "tls")]
    tls: Option<tokio_rustls::TlsAcceptor>,
}

async fn accept_loop(listener: TcpListener, accepting: Accepting) {
    let shutdown = accepting.shutdown.clone();
    let begun = shutdown.begun();
    let mut begun = std::pin::pin!(begun);
    loop {
        let accepted = tokio::select! {
            biased;
            _ = &mut begun => return,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, peer)) => {
                let _ = stream.set_nodelay(true);
                shutdown.spawn(serve_accepted(stream, peer, accepting.clone()));
            }
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
            }
        }
    }
}

/// Serves one accepted connection: the TLS handshake first when the server has TLS.
async fn serve_accepted(stream: TcpStream, peer: SocketAddr, accepting: Accepting) {
    #[cfg(feature = "tls")]
    if let Some(tls) = &accepting.tls {
        let handshake = tokio::time::timeout(accepting.handshake_timeout, tls.accept(stream));
        // A connection still in its TLS handshake is not worth waiting for at shutdown.
        let handshake = tokio::select! {
            handshake = handshake => handshake,
            _ = accepting.shutdown.begun() => return,
        };
        match handshake {
            Ok(Ok(stream)) => serve_connection(stream, peer, accepting).await,
            Ok(Err(e)) => tracing::debug!("capnweb: TLS handshake with {peer} failed: {e}"),
            Err(_) => tracing::debug!("capnweb: TLS handshake with {peer} timed out"),
        }
        return;
    }
    serve_connection(stream, peer, accepting).await;
}

/// Serves one HTTP/1.1 connection until it ends, or until the shutdown deadline.
async fn serve_connection<I>(stream: I, peer: SocketAddr, accepting: Accepting)
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let Accepting {
        service,
        http,
        shutdown,
        ..
    } = accepting;
    let handler = hyper::service::service_fn(move |mut request: hyper::Request<_>| {
        let service = service.clone();
        request.extensions_mut().insert(PeerAddr(peer));
        async move { Ok::<_, std::convert::Infallible>(service.handle(request).await) }
    });
    let connection = http
        .serve_connection(TokioIo::new(stream), handler)
        .with_upgrades();
    let mut connection = std::pin::pin!(connection);
    let result = tokio::select! {
        result = connection.as_mut() => result,
        deadline = shutdown.begun() => {
            // Finishes the request in flight, then closes; an idle connection closes at once.
            connection.as_mut().graceful_shutdown();
            match tokio::time::timeout_at(deadline, connection.as_mut()).await {
                Ok(result) => result,
                Err(_) => {
                    tracing::debug!("capnweb: HTTP connection from {peer} cut at the shutdown deadline");
                    return;
                }
            }
        }
    };
    if let Err(e) = result {
        tracing::debug!("capnweb: HTTP connection from {peer} ended with an error: {e}");
    }
}
