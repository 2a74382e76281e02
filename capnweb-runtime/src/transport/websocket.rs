//! WebSocket transport on tokio-tungstenite: one text frame per message, close code 3000 on
//! abort (protocol.md section 2.1).

use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use futures_util::{Sink, SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};

use super::{CloseInfo, MessageReceiver, MessageSender, Transport, truncate_reason};
use crate::error::RpcError;
use crate::session::{Session, SessionOptions};
use crate::stub::Stub;

/// A WebSocket carrying one Cap'n Web session.
pub struct WebSocketTransport<S> {
    ws: WebSocketStream<S>,
}

impl<S> WebSocketTransport<S> {
    /// Wraps an established WebSocket.
    pub fn new(ws: WebSocketStream<S>) -> Self {
        WebSocketTransport { ws }
    }
}

/// The sending half of a [`WebSocketTransport`].
pub struct WebSocketSender<S> {
    sink: futures_util::stream::SplitSink<WebSocketStream<S>, Message>,
}

/// The receiving half of a [`WebSocketTransport`].
pub struct WebSocketReceiver<S> {
    stream: futures_util::stream::SplitStream<WebSocketStream<S>>,
}

impl<S> Transport for WebSocketTransport<S>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Sender = WebSocketSender<S>;
    type Receiver = WebSocketReceiver<S>;
    fn split(self) -> (Self::Sender, Self::Receiver) {
        let (sink, stream) = self.ws.split();
        (WebSocketSender { sink }, WebSocketReceiver { stream })
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
        loop {
            return match self.stream.next().await? {
                Ok(Message::Text(text)) => Some(Ok(text.as_str().to_owned())),
                Ok(Message::Binary(_)) => Some(Err(RpcError::protocol(
                    "received a binary WebSocket frame; Cap'n Web sends text frames only",
                ))),
                Ok(Message::Close(frame)) => Some(Err(RpcError::Disconnected(match frame {
                    Some(f) => format!("Peer closed WebSocket: {} {}", u16::from(f.code), f.reason),
                    None => "Peer closed WebSocket: 1005 ".to_owned(),
                }))),
                Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_)) => continue,
                Err(e) => Some(Err(disconnected(e))),
            };
        }
    }
}

fn disconnected(e: tokio_tungstenite::tungstenite::Error) -> RpcError {
    RpcError::Disconnected(format!("WebSocket error: {e}"))
}

/// Bytes per socket read, and the read buffer an idle connection keeps.
const READ_BUFFER_BYTES: usize = 4 * 1024;

fn ws_config(options: &SessionOptions) -> WebSocketConfig {
    // Let the protocol limit be the one that trips (with a clear abort), not the transport's.
    WebSocketConfig::default()
        // tungstenite allocates its read buffer up front (128 KiB by default), which would be
        // almost all of an idle session's memory. The buffer still grows to fit large frames;
        // this only bounds how much one read call takes.
        .read_buffer_size(READ_BUFFER_BYTES)
        .max_message_size(Some(
            options
                .limits
                .max_message_size
                .saturating_mul(3)
                .max(1 << 20),
        ))
        .max_frame_size(Some(
            options
                .limits
                .max_message_size
                .saturating_mul(3)
                .max(1 << 20),
        ))
}

/// Connects to a Cap'n Web WebSocket server; `local_main` is what the server sees as our main
/// object (usually `None` for a client).
pub async fn connect(url: &str, local_main: Option<Stub>) -> Result<Session, RpcError> {
    connect_with_options(url, local_main, SessionOptions::default()).await
}

/// [`connect`] with explicit session options.
pub async fn connect_with_options(
    url: &str,
    local_main: Option<Stub>,
    options: SessionOptions,
) -> Result<Session, RpcError> {
    let config = ws_config(&options);
    let (ws, _response) = tokio_tungstenite::connect_async_with_config(url, Some(config), true)
        .await
        .map_err(|e| RpcError::Disconnected(format!("WebSocket connection failed: {e}")))?;
    Ok(Session::with_options(
        WebSocketTransport::new(ws),
        local_main,
        options,
    ))
}

/// Completes the WebSocket handshake on an accepted TCP connection and starts a session.
pub async fn accept(
    stream: TcpStream,
    local_main: Option<Stub>,
    options: SessionOptions,
) -> Result<Session, RpcError> {
    accept_with_setup(stream, local_main, options, |_| {}).await
}

/// [`accept`] that runs `setup` with the session before it reads the peer's first message
/// (see [`Session::with_setup`]).
pub async fn accept_with_setup(
    stream: TcpStream,
    local_main: Option<Stub>,
    options: SessionOptions,
    setup: impl FnOnce(&Session),
) -> Result<Session, RpcError> {
    let config = ws_config(&options);
    let ws = tokio_tungstenite::accept_async_with_config(stream, Some(config))
        .await
        .map_err(|e| RpcError::Disconnected(format!("WebSocket handshake failed: {e}")))?;
    Ok(Session::with_setup(
        WebSocketTransport::new(ws),
        local_main,
        options,
        setup,
    ))
}

/// Starts a session on a connection whose WebSocket handshake an HTTP server has already
/// completed (an upgraded hyper connection, say): from here on `io` carries WebSocket frames.
pub async fn accept_upgraded<S>(io: S, local_main: Option<Stub>, options: SessionOptions) -> Session
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    accept_upgraded_with_setup(io, local_main, options, |_| {}).await
}

/// [`accept_upgraded`] that runs `setup` with the session before it reads the peer's first
/// message (see [`Session::with_setup`]).
pub async fn accept_upgraded_with_setup<S>(
    io: S,
    local_main: Option<Stub>,
    options: SessionOptions,
    setup: impl FnOnce(&Session),
) -> Session
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let config = ws_config(&options);
    let ws = WebSocketStream::from_raw_socket(
        io,
        tokio_tungstenite::tungstenite::protocol::Role::Server,
        Some(config),
    )
    .await;
    Session::with_setup(WebSocketTransport::new(ws), local_main, options, setup)
}

/// Serves every connection on `listener` with a fresh session whose main object comes from
/// `make_main`, until the listener fails. Each session lives until its peer disconnects; a
/// session that fails never affects the others.
pub async fn serve<F>(listener: TcpListener, make_main: F) -> std::io::Result<()>
where
    F: Fn() -> Stub + Send + Sync + 'static,
{
    serve_with_options(listener, make_main, SessionOptions::default()).await
}

/// [`serve`] with explicit session options.
pub async fn serve_with_options<F>(
    listener: TcpListener,
    make_main: F,
    options: SessionOptions,
) -> std::io::Result<()>
where
    F: Fn() -> Stub + Send + Sync + 'static,
{
    loop {
        let (stream, _) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        let main = make_main();
        let options = options.clone();
        tokio::spawn(async move {
            match accept(stream, Some(main), options).await {
                Ok(session) => {
                    let reason = session.closed().await;
                    tracing::debug!("capnweb session ended: {reason}");
                }
                Err(e) => tracing::debug!("capnweb: {e}"),
            }
        });
    }
}
