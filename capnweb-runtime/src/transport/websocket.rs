//! WebSocket transport on tokio-tungstenite: one text frame per message, close code 3000 on
//! abort (protocol.md section 2.1).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use futures_util::{Sink, SinkExt, StreamExt};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};

use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::error::{CapacityError, Error as WsError};
use tokio_tungstenite::tungstenite::handshake::client::Request;
use tokio_tungstenite::tungstenite::http::{HeaderName, HeaderValue};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};

use super::{CloseInfo, MessageReceiver, MessageSender, ReceivedText, Transport, truncate_reason};
use crate::error::RpcError;
use crate::session::{Session, SessionBuilder, SessionOptions};
use crate::stub::Stub;

/// A WebSocket carrying one Cap'n Web session.
pub struct WebSocketTransport<S> {
    ws: WebSocketStream<S>,
    keepalive: Option<Duration>,
}

impl<S> WebSocketTransport<S> {
    /// Wraps an established WebSocket.
    pub fn new(ws: WebSocketStream<S>) -> Self {
        WebSocketTransport {
            ws,
            keepalive: None,
        }
    }

    /// Pings the peer every `interval`, and ends the session when nothing at all (no message,
    /// no pong) has arrived for twice that: a peer that vanished without closing (a dead
    /// host, a dropped route, a half-open connection) is noticed within `2 * interval`.
    pub fn keepalive(mut self, interval: Duration) -> Self {
        self.keepalive = Some(interval);
        self
    }
}

/// The sending half of a [`WebSocketTransport`].
pub struct WebSocketSender<S> {
    sink: futures_util::stream::SplitSink<WebSocketStream<S>, Message>,
    keepalive: Option<Duration>,
}

/// The receiving half of a [`WebSocketTransport`].
pub struct WebSocketReceiver<S> {
    stream: futures_util::stream::SplitStream<WebSocketStream<S>>,
    /// Boxed: the receiving future, which every idle session holds, keeps a pointer only.
    silence: Option<Box<SilenceLimit>>,
}

/// With keepalive: how long the peer may stay silent, and the timer that counts it. One timer
/// for the connection, re-armed when a wait starts: not a new one in every `recv` (which would
/// also make the receiving future, held by every idle session, larger by a timer entry).
struct SilenceLimit {
    limit: Duration,
    timer: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl SilenceLimit {
    /// Starts counting from now (the timer is made on first use: inside the runtime).
    fn arm(&mut self) {
        let deadline = tokio::time::Instant::now() + self.limit;
        match &mut self.timer {
            Some(timer) => timer.as_mut().reset(deadline),
            None => self.timer = Some(Box::pin(tokio::time::sleep_until(deadline))),
        }
    }
}

impl<S> Transport for WebSocketTransport<S>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Sender = WebSocketSender<S>;
    type Receiver = WebSocketReceiver<S>;
    fn split(self) -> (Self::Sender, Self::Receiver) {
        let (sink, stream) = self.ws.split();
        let keepalive = self.keepalive;
        (
            WebSocketSender { sink, keepalive },
            WebSocketReceiver {
                stream,
                silence: keepalive.map(|interval| {
                    Box::new(SilenceLimit {
                        limit: interval * 2,
                        timer: None,
                    })
                }),
            },
        )
    }
}

impl<S> MessageSender for WebSocketSender<S>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    async fn send(&mut self, messages: Vec<String>) -> Result<(), RpcError> {
        // Queue every ready frame, then flush once: one write syscall for the batch.
        for m in messages {
            self.sink
                .feed(Message::text(m))
                .await
                .map_err(disconnected)?;
        }
        self.sink.flush().await.map_err(disconnected)
    }

    fn try_send(&mut self, messages: &mut Vec<String>) -> bool {
        let mut cx = Context::from_waker(Waker::noop());
        let mut pending = std::mem::take(messages).into_iter();
        while let Some(m) = pending.next() {
            let ready = matches!(
                Pin::new(&mut self.sink).poll_ready(&mut cx),
                Poll::Ready(Ok(()))
            );
            if !ready {
                messages.push(m);
                messages.extend(pending);
                return false;
            }
            if Pin::new(&mut self.sink)
                .start_send(Message::text(m))
                .is_err()
            {
                // The connection failed: the writer task will see it and end the session.
                return false;
            }
        }
        // What the socket cannot take now stays buffered; the writer task finishes it.
        messages.is_empty()
            && matches!(
                Pin::new(&mut self.sink).poll_flush(&mut cx),
                Poll::Ready(Ok(()))
            )
    }

    fn keepalive_interval(&self) -> Option<Duration> {
        self.keepalive
    }

    async fn ping(&mut self) -> Result<(), RpcError> {
        self.sink
            .send(Message::Ping(Default::default()))
            .await
            .map_err(disconnected)
    }

    async fn close(&mut self, info: CloseInfo) {
        let frame = CloseFrame {
            code: CloseCode::from(info.code),
            reason: truncate_reason(&info.reason, 123).into(),
        };
        let _ = self.sink.send(Message::Close(Some(frame))).await;
        let _ = self.sink.close().await;
    }
}

impl<S> MessageReceiver for WebSocketReceiver<S>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    async fn recv(&mut self) -> Option<Result<String, RpcError>> {
        Some(self.recv_text().await?.map(String::from))
    }

    async fn recv_text(&mut self) -> Option<Result<ReceivedText, RpcError>> {
        // Silence counts only while we listen: not while the session applies what arrived, nor
        // while it has stopped reading for back-pressure (the peer's pongs wait unread then).
        // (The clock is read only with keepalive, and only when a wait starts.)
        let WebSocketReceiver { stream, silence } = self;
        loop {
            let frame = match silence {
                None => stream.next().await?,
                Some(silence) => {
                    // Armed only when a wait starts: the clock is not read for a frame that
                    // is already there.
                    let mut armed = false;
                    let frame = std::future::poll_fn(|cx| {
                        if let Poll::Ready(frame) = stream.poll_next_unpin(cx) {
                            return Poll::Ready(Some(frame));
                        }
                        if !armed {
                            armed = true;
                            silence.arm();
                        }
                        match &mut silence.timer {
                            Some(timer) => timer.as_mut().poll(cx).map(|()| None),
                            None => Poll::Pending,
                        }
                    })
                    .await;
                    match frame {
                        Some(frame) => frame?,
                        None => {
                            return Some(Err(RpcError::disconnected(format!(
                                "the peer sent nothing, not even a pong, for {:?}",
                                silence.limit
                            ))));
                        }
                    }
                }
            };
            // Something arrived: the next wait starts its own count.
            return match frame {
                // Handed over in tungstenite's buffer: no copy into a `String`.
                Ok(Message::Text(text)) => Some(Ok(ReceivedText::from(text))),
                Ok(Message::Binary(_)) => Some(Err(RpcError::protocol(
                    "received a binary WebSocket frame; Cap'n Web sends text frames only",
                ))),
                Ok(Message::Close(frame)) => Some(Err(RpcError::disconnected(match frame {
                    Some(f) => format!("Peer closed WebSocket: {} {}", u16::from(f.code), f.reason),
                    None => "Peer closed WebSocket: 1005 ".to_owned(),
                }))),
                Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_)) => continue,
                Err(WsError::Utf8(e)) => Some(Err(RpcError::protocol(format!(
                    "received a WebSocket text frame that is not valid UTF-8: {e}"
                )))),
                Err(WsError::Capacity(CapacityError::MessageTooLong { size, max_size })) => {
                    Some(Err(RpcError::protocol_as(
                        "TypeError",
                        format!(
                            "received a WebSocket frame of {size} bytes, over the limit of \
                             {max_size} bytes"
                        ),
                    )))
                }
                Err(e) => Some(Err(disconnected(e))),
            };
        }
    }
}

fn disconnected(e: tokio_tungstenite::tungstenite::Error) -> RpcError {
    RpcError::disconnected_by(format!("WebSocket error: {e}"), e)
}

/// Bytes per socket read, and the read buffer an idle connection keeps.
const READ_BUFFER_BYTES: usize = 4 * 1024;

/// The tungstenite settings a session with `options` uses: a small read buffer (an idle
/// session's memory is mostly its buffers) and frame limits above the protocol's own, so the
/// protocol limit is the one that trips, with a clear abort. For accepting WebSockets with a
/// server of your own and wrapping them in [`WebSocketTransport`].
///
/// The write buffer keeps tungstenite's defaults (`write_buffer_size` 128 KiB, no
/// `max_write_buffer_size`): the sender hands a frame over only when the sink is ready, and
/// the sink is not ready while more than `write_buffer_size` is unwritten, so the buffer holds
/// at most that plus one frame. What waits beyond that is the session's, and counts toward its
/// back-pressure ([`SessionOptions::pause_reading_above`]). A maximum would only turn one large
/// answer into an error.
pub fn config(options: &SessionOptions) -> WebSocketConfig {
    let frame_limit = options
        .limits
        .max_message_size
        .saturating_mul(3)
        .max(1 << 20);
    WebSocketConfig::default()
        // tungstenite allocates its read buffer up front (128 KiB by default), which would be
        // almost all of an idle session's memory. The buffer still grows to fit large frames;
        // this only bounds how much one read call takes.
        .read_buffer_size(READ_BUFFER_BYTES)
        .max_message_size(Some(frame_limit))
        .max_frame_size(Some(frame_limit))
}

/// Connects to a Cap'n Web WebSocket server with default settings and no main object of our
/// own: `Connector::new(url).connect()`, shorter.
pub async fn connect(url: &str) -> Result<Session, RpcError> {
    Connector::new(url).connect().await
}

/// Configures and opens a client WebSocket session.
///
/// ```no_run
/// use std::time::Duration;
/// use capnweb_runtime::transport::websocket::Connector;
/// use capnweb_runtime::{SessionOptions, Stub, Value};
///
/// # async fn run() -> Result<(), capnweb_runtime::RpcError> {
/// // What the server sees as our main object: here a callback it may invoke.
/// let callback = Stub::from_fn(|_args: Vec<Value>| async { Ok(Value::Null) });
/// let mut options = SessionOptions::default();
/// options.keepalive = Some(Duration::from_secs(15));
/// let session = Connector::new("ws://127.0.0.1:8080/rpc") // wss:// with the `tls` feature
///     .bearer_token("secret")
///     .connect_timeout(Duration::from_secs(5))
///     .options(options)
///     .main(callback)
///     .connect()
///     .await?;
/// let greeting = session.main().call("hello", ("world",)).await?;
/// # Ok(()) }
/// ```
#[must_use = "a connector does nothing until `connect` is awaited"]
pub struct Connector {
    url: String,
    session: SessionBuilder,
    options: SessionOptions,
    headers: Vec<(String, String)>,
    subprotocols: Vec<String>,
    connect_timeout: Option<Duration>,
    nodelay: bool,
    #[cfg(feature = "tls")]
    tls: Option<std::sync::Arc<crate::tls::rustls::ClientConfig>>,
}

impl Connector {
    /// A connection to `url` (`ws://host:port/path`).
    pub fn new(url: impl Into<String>) -> Self {
        Connector {
            url: url.into(),
            session: Session::builder(),
            options: SessionOptions::default(),
            headers: Vec::new(),
            subprotocols: Vec::new(),
            connect_timeout: None,
            nodelay: true,
            #[cfg(feature = "tls")]
            tls: None,
        }
    }

    /// The TLS configuration for a `wss://` URL (default:
    /// [`tls::default_client_config`](crate::tls::default_client_config), the webpki roots).
    #[cfg(feature = "tls")]
    pub fn tls_config(mut self, config: std::sync::Arc<crate::tls::rustls::ClientConfig>) -> Self {
        self.tls = Some(config);
        self
    }

    /// Adds a header to the handshake request (authentication, say). An invalid name or value
    /// makes [`connect`](Self::connect) fail with [`RpcError::Connect`].
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// `Authorization: Bearer <token>` on the handshake request.
    pub fn bearer_token(self, token: impl std::fmt::Display) -> Self {
        self.header("authorization", format!("Bearer {token}"))
    }

    /// Offers a WebSocket subprotocol (`Sec-WebSocket-Protocol`; call again to offer more, in
    /// order of preference). The server must then choose one of them, or
    /// [`connect`](Self::connect) fails with [`RpcError::Connect`].
    ///
    /// ```no_run
    /// # async fn example() -> Result<(), capnweb_runtime::RpcError> {
    /// use capnweb_runtime::transport::websocket::Connector;
    ///
    /// let session = Connector::new("ws://127.0.0.1:8080/rpc")
    ///     .subprotocol("capnweb.v1")
    ///     .connect()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn subprotocol(mut self, name: impl Into<String>) -> Self {
        self.subprotocols.push(name.into());
        self
    }

    /// Gives up on opening the connection (TCP connect and WebSocket handshake) after
    /// `timeout`, with [`RpcError::Connect`]. Without one (the default) the operating system's
    /// connect timeout and the server decide.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// Whether to send small frames at once (TCP_NODELAY, the default: RPC messages are
    /// latency-bound) or let the kernel coalesce them.
    pub fn nodelay(mut self, nodelay: bool) -> Self {
        self.nodelay = nodelay;
        self
    }

    /// What the server sees as our main object (its import 0); usually none for a client.
    pub fn main(mut self, main: impl Into<Stub>) -> Self {
        self.session = self.session.main(main);
        self
    }

    /// Options of the session (limits on what the server sends).
    pub fn options(mut self, options: SessionOptions) -> Self {
        self.options = options;
        self
    }

    /// Runs `setup` with the session before it reads the server's first message (see
    /// [`SessionBuilder::on_start`]).
    pub fn on_start(mut self, setup: impl FnOnce(&Session) + Send + 'static) -> Self {
        self.session = self.session.on_start(setup);
        self
    }

    /// Opens the connection and starts the session. Every failure to open it is
    /// [`RpcError::Connect`].
    pub async fn connect(self) -> Result<Session, RpcError> {
        let request = self.request()?;
        let url = self.url.clone();
        match self.connect_timeout {
            Some(limit) => tokio::time::timeout(limit, self.open(request))
                .await
                .map_err(|_| {
                    RpcError::connect_failed(format!(
                        "WebSocket connection to {url} timed out after {limit:?}"
                    ))
                })?,
            None => self.open(request).await,
        }
    }

    /// Opens the connection (TCP, TLS for `wss://`, the WebSocket handshake) and starts the
    /// session over it.
    async fn open(self, request: Request) -> Result<Session, RpcError> {
        let url = self.url.clone();
        let failed = |e: tokio_tungstenite::tungstenite::Error| {
            let said = refusal_text(&e);
            RpcError::connect_failed_by(
                format!("WebSocket connection to {url} failed: {e}{said}"),
                e,
            )
        };
        let config = config(&self.options);
        if request.uri().scheme_str() == Some("wss") {
            #[cfg(feature = "tls")]
            {
                let tls = self.tls.clone();
                let stream = open_tls(&url, &request, self.nodelay, tls).await?;
                let (ws, _response) =
                    tokio_tungstenite::client_async_with_config(request, stream, Some(config))
                        .await
                        .map_err(failed)?;
                return Ok(self.start(WebSocketTransport::new(ws)));
            }
            #[cfg(not(feature = "tls"))]
            return Err(RpcError::connect_failed(format!(
                "{} needs TLS: build capnweb-runtime with the `tls` feature",
                self.url
            )));
        }
        let (ws, _response) =
            tokio_tungstenite::connect_async_with_config(request, Some(config), self.nodelay)
                .await
                .map_err(failed)?;
        Ok(self.start(WebSocketTransport::new(ws)))
    }

    /// Starts the session over an open WebSocket.
    fn start<S>(self, transport: WebSocketTransport<S>) -> Session
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let transport = with_keepalive(transport, &self.options);
        self.session.options(self.options).start(transport)
    }

    /// The handshake request: the URL with the headers added.
    fn request(&self) -> Result<Request, RpcError> {
        let mut request = self.url.as_str().into_client_request().map_err(|e| {
            RpcError::connect_failed_by(format!("invalid WebSocket URL {:?}: {e}", self.url), e)
        })?;
        // One header line listing every offer, as browsers send it.
        let offer = (!self.subprotocols.is_empty()).then(|| {
            (
                "sec-websocket-protocol".to_owned(),
                self.subprotocols.join(", "),
            )
        });
        for (name, value) in self.headers.iter().chain(offer.as_ref()) {
            let name = HeaderName::from_bytes(name.as_bytes()).map_err(|e| {
                RpcError::connect_failed_by(format!("invalid header name {name:?}: {e}"), e)
            })?;
            let value = HeaderValue::from_str(value).map_err(|e| {
                RpcError::connect_failed_by(format!("invalid value for header {name}: {e}"), e)
            })?;
            request.headers_mut().append(name, value);
        }
        Ok(request)
    }
}

impl std::fmt::Debug for Connector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connector")
            .field("url", &self.url)
            .field("options", &self.options)
            // Header values may be credentials: names only.
            .field(
                "headers",
                &self
                    .headers
                    .iter()
                    .map(|(name, _)| name)
                    .collect::<Vec<_>>(),
            )
            .field("connect_timeout", &self.connect_timeout)
            .field("subprotocols", &self.subprotocols)
            .field("nodelay", &self.nodelay)
            .finish_non_exhaustive()
    }
}

/// TCP, then the TLS handshake with the URL's host. (A free function: a future that borrowed
/// the `Connector` would need it to be `Sync`.)
#[cfg(feature = "tls")]
async fn open_tls(
    url: &str,
    request: &Request,
    nodelay: bool,
    config: Option<std::sync::Arc<crate::tls::rustls::ClientConfig>>,
) -> Result<tokio_rustls::client::TlsStream<tokio::net::TcpStream>, RpcError> {
    use crate::tls::rustls::pki_types::ServerName;
    let uri = request.uri();
    let host = uri.host().unwrap_or_default();
    // `[::1]` in a URL is `::1` to the resolver and to the certificate check.
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let port = uri.port_u16().unwrap_or(443);
    let tcp = tokio::net::TcpStream::connect((host.as_str(), port))
        .await
        .map_err(|e| {
            RpcError::connect_failed_by(format!("TCP connection to {url} failed: {e}"), e)
        })?;
    let _ = tcp.set_nodelay(nodelay);
    let name = ServerName::try_from(host.clone()).map_err(|e| {
        RpcError::connect_failed_by(format!("{host:?} is not a TLS server name: {e}"), e)
    })?;
    let config = config.unwrap_or_else(crate::tls::default_client_config);
    tokio_rustls::TlsConnector::from(config)
        .connect(name, tcp)
        .await
        .map_err(|e| {
            RpcError::connect_failed_by(format!("TLS handshake with {url} failed: {e}"), e)
        })
}

/// The transport for a connection whose WebSocket handshake an HTTP server has already
/// completed (an upgraded hyper connection): from here on `io` carries WebSocket frames.
#[cfg(feature = "server")]
pub(crate) async fn server_transport<S>(io: S, options: &SessionOptions) -> WebSocketTransport<S>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let ws = WebSocketStream::from_raw_socket(
        io,
        tokio_tungstenite::tungstenite::protocol::Role::Server,
        Some(config(options)),
    )
    .await;
    with_keepalive(WebSocketTransport::new(ws), options)
}

fn with_keepalive<S>(
    transport: WebSocketTransport<S>,
    options: &SessionOptions,
) -> WebSocketTransport<S> {
    match options.keepalive {
        Some(interval) => transport.keepalive(interval),
        None => transport,
    }
}

/// What a server that answered the handshake with an error status said in its body (`": "`
/// and the text, at most 200 characters), e.g. why it refused the request.
fn refusal_text(e: &tokio_tungstenite::tungstenite::Error) -> String {
    let tokio_tungstenite::tungstenite::Error::Http(response) = e else {
        return String::new();
    };
    let text = response
        .body()
        .as_deref()
        .map(String::from_utf8_lossy)
        .unwrap_or_default();
    let text = text.trim();
    if text.is_empty() {
        return String::new();
    }
    let shown: String = text.chars().take(200).collect();
    let cut = if shown.len() < text.len() { "..." } else { "" };
    format!(": {shown}{cut}")
}
