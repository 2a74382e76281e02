//! A transport wrapper that records every frame in both directions, for tests that check the
//! exact messages or count round trips.

use std::sync::{Arc, Mutex};

use capnweb_runtime::RpcError;
use capnweb_runtime::transport::{CloseInfo, MessageReceiver, MessageSender, Transport};

/// Frames in the order they were sent or received: `(">>", text)` sent, `("<<", text)` received.
pub type Log = Arc<Mutex<Vec<(&'static str, String)>>>;

/// Wraps a transport and records its traffic into a [`Log`].
pub struct Tap<T> {
    /// The wrapped transport.
    pub inner: T,
    /// Where frames are recorded.
    pub log: Log,
}

/// The sending half of a [`Tap`].
pub struct TapSender<S> {
    inner: S,
    log: Log,
}

/// The receiving half of a [`Tap`].
pub struct TapReceiver<R> {
    inner: R,
    log: Log,
}

impl<T: Transport> Transport for Tap<T> {
    type Sender = TapSender<T::Sender>;
    type Receiver = TapReceiver<T::Receiver>;
    fn split(self) -> (Self::Sender, Self::Receiver) {
        let (tx, rx) = self.inner.split();
        (
            TapSender {
                inner: tx,
                log: self.log.clone(),
            },
            TapReceiver {
                inner: rx,
                log: self.log,
            },
        )
    }
}

impl<S: MessageSender> MessageSender for TapSender<S> {
    async fn send(&mut self, messages: Vec<String>) -> Result<(), RpcError> {
        self.log
            .lock()
            .unwrap()
            .extend(messages.iter().map(|m| (">>", m.clone())));
        self.inner.send(messages).await
    }
    async fn close(&mut self, info: CloseInfo) {
        self.inner.close(info).await
    }
}

impl<R: MessageReceiver> MessageReceiver for TapReceiver<R> {
    async fn recv(&mut self) -> Option<Result<String, RpcError>> {
        let next = self.inner.recv().await;
        if let Some(Ok(text)) = &next {
            self.log.lock().unwrap().push(("<<", text.clone()));
        }
        next
    }
}

/// Messages we sent (other than releases) after the first message we received: zero means
/// everything went out before any answer came back, i.e. one round trip.
pub fn sent_after_first_answer(log: &Log) -> Vec<String> {
    let log = log.lock().unwrap();
    let first_in = log
        .iter()
        .position(|(dir, _)| *dir == "<<")
        .unwrap_or(log.len());
    log[first_in..]
        .iter()
        .filter(|(dir, text)| *dir == ">>" && !text.starts_with("[\"release\""))
        .map(|(_, text)| text.clone())
        .collect()
}

/// Every frame we sent.
pub fn sent(log: &Log) -> Vec<String> {
    log.lock()
        .unwrap()
        .iter()
        .filter(|(dir, _)| *dir == ">>")
        .map(|(_, t)| t.clone())
        .collect()
}

/// A recorded client session to `server_main` over the in-memory transport: (client, server,
/// log). `slot` receives the server session (for a main object that reports its stats).
pub fn tapped_memory_pair(
    server_main: capnweb_runtime::Stub,
    slot: &std::sync::OnceLock<capnweb_runtime::Session>,
) -> (capnweb_runtime::Session, capnweb_runtime::Session, Log) {
    let (a, b) = capnweb_runtime::transport::memory::pair();
    let server = capnweb_runtime::Session::new(b, Some(server_main));
    let _ = slot.set(server.clone());
    let log = Log::default();
    let client = capnweb_runtime::Session::new(
        Tap {
            inner: a,
            log: log.clone(),
        },
        None,
    );
    (client, server, log)
}

/// A recorded client session over WebSocket to `url` (e.g. the Node server).
pub async fn tapped_websocket(url: &str) -> (capnweb_runtime::Session, Log) {
    let (ws, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("connect");
    let log = Log::default();
    let inner = capnweb_runtime::transport::websocket::WebSocketTransport::new(ws);
    (
        capnweb_runtime::Session::new(
            Tap {
                inner,
                log: log.clone(),
            },
            None,
        ),
        log,
    )
}
