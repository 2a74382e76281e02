//! Transports: how a session's messages travel. Bring your own by implementing [`Transport`].

pub mod memory;
mod received_text;
pub mod websocket;

pub use received_text::ReceivedText;

use std::future::Future;

use crate::error::RpcError;

/// How a transport should close.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CloseInfo {
    /// WebSocket close code: 3000 for an abort (as capnweb), 1000 for a normal shutdown.
    pub code: u16,
    /// Close reason (at most 123 UTF-8 bytes for WebSocket).
    pub reason: String,
}

/// A bidirectional message channel that can be split into a sending and a receiving half.
pub trait Transport: Send + 'static {
    /// The sending half.
    type Sender: MessageSender;
    /// The receiving half.
    type Receiver: MessageReceiver;
    /// Splits the transport so reading and writing can proceed independently.
    fn split(self) -> (Self::Sender, Self::Receiver);
}

/// The sending half of a transport.
pub trait MessageSender: Send + 'static {
    /// Sends `messages` in order, one per frame, with a single flush at the end.
    fn send(&mut self, messages: Vec<String>) -> impl Future<Output = Result<(), RpcError>> + Send;
    /// Closes the connection.
    fn close(&mut self, info: CloseInfo) -> impl Future<Output = ()> + Send;

    /// Hands messages to the transport without waiting, from the front of `messages`,
    /// removing those it took, and starts writing them. Returns `true` if everything was taken
    /// and written out; `false` leaves the rest (and any unfinished write) to [`send`], which
    /// the session then calls from its writer task. The default takes nothing.
    ///
    /// This lets the task that produced a message write it at once instead of waking another
    /// task to do it, which is most of a round trip's latency.
    ///
    /// [`send`]: MessageSender::send
    fn try_send(&mut self, messages: &mut Vec<String>) -> bool {
        let _ = messages;
        false
    }

    /// How often the session should call [`ping`](Self::ping) while the connection is open:
    /// `None` (the default) for a transport without liveness checks.
    fn keepalive_interval(&self) -> Option<std::time::Duration> {
        None
    }

    /// Sends a liveness probe the peer answers by itself (a WebSocket ping), so that a peer
    /// that vanished without closing is noticed by the receiving half. The default sends
    /// nothing.
    fn ping(&mut self) -> impl Future<Output = Result<(), RpcError>> + Send {
        std::future::ready(Ok(()))
    }
}

/// The receiving half of a transport.
pub trait MessageReceiver: Send + 'static {
    /// The next message; `None` once the peer closed cleanly.
    ///
    /// Return [`RpcError::Protocol`] for a frame the peer sent that the transport refuses
    /// while the connection still works (the session then sends an `abort` message saying
    /// why, and closes); any other error ends the session as a lost connection.
    ///
    /// Must be cancel-safe: a session that stops reading for back-pressure drops a pending
    /// `recv` and calls it again when it resumes, so a message must not be lost in between.
    fn recv(&mut self) -> impl Future<Output = Option<Result<String, RpcError>>> + Send;

    /// The next message, as [`recv`](Self::recv) returns it but in a [`ReceivedText`]: what
    /// the session reads through. The default wraps [`recv`](Self::recv)'s `String`; a
    /// transport that keeps received frames in buffers of its own overrides this to hand them
    /// over without copying them into a `String`. Cancel-safe, as `recv` must be.
    ///
    /// ```
    /// use capnweb_runtime::RpcError;
    /// use capnweb_runtime::transport::MessageReceiver;
    ///
    /// /// A receiver of canned messages: only `recv` is written, `recv_text` wraps it.
    /// struct Canned(std::vec::IntoIter<String>);
    ///
    /// impl MessageReceiver for Canned {
    ///     async fn recv(&mut self) -> Option<Result<String, RpcError>> {
    ///         self.0.next().map(Ok)
    ///     }
    /// }
    ///
    /// let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    /// runtime.block_on(async {
    ///     let mut canned = Canned(vec![r#"["pull",1]"#.to_owned()].into_iter());
    ///     let text = canned.recv_text().await.unwrap().unwrap();
    ///     assert_eq!(text.as_str(), r#"["pull",1]"#);
    ///     assert!(canned.recv_text().await.is_none());
    /// });
    /// ```
    fn recv_text(&mut self) -> impl Future<Output = Option<Result<ReceivedText, RpcError>>> + Send {
        async { Some(self.recv().await?.map(ReceivedText::from)) }
    }
}

/// Cuts a close reason to `max` UTF-8 bytes on a character boundary.
pub(crate) fn truncate_reason(reason: &str, max: usize) -> String {
    if reason.len() <= max {
        return reason.to_owned();
    }
    let mut end = max;
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    reason[..end].to_owned()
}
