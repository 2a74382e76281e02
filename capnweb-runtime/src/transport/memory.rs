//! An in-memory transport pair, for tests and in-process use.

use tokio::sync::mpsc;

use super::{CloseInfo, MessageReceiver, MessageSender, Transport};
use crate::error::RpcError;

/// One end of an in-memory connection.
pub struct MemoryTransport {
    tx: mpsc::UnboundedSender<Frame>,
    rx: mpsc::UnboundedReceiver<Frame>,
}

/// What one write puts on the channel: the messages of one `send` travel together, so the
/// reader finds all of them at once, as it would the bytes of one socket write.
enum Frame {
    Messages(Vec<String>),
    Close(CloseInfo),
}

/// Two connected ends.
pub fn pair() -> (MemoryTransport, MemoryTransport) {
    let (a_tx, a_rx) = mpsc::unbounded_channel();
    let (b_tx, b_rx) = mpsc::unbounded_channel();
    (
        MemoryTransport { tx: a_tx, rx: b_rx },
        MemoryTransport { tx: b_tx, rx: a_rx },
    )
}

/// The sending half of a [`MemoryTransport`].
pub struct MemorySender(mpsc::UnboundedSender<Frame>);

/// The receiving half of a [`MemoryTransport`].
pub struct MemoryReceiver {
    rx: mpsc::UnboundedReceiver<Frame>,
    /// The rest of the last write received.
    pending: std::collections::VecDeque<String>,
}

impl Transport for MemoryTransport {
    type Sender = MemorySender;
    type Receiver = MemoryReceiver;
    fn split(self) -> (MemorySender, MemoryReceiver) {
        (
            MemorySender(self.tx),
            MemoryReceiver {
                rx: self.rx,
                pending: std::collections::VecDeque::new(),
            },
        )
    }
}

impl MessageSender for MemorySender {
    async fn send(&mut self, messages: Vec<String>) -> Result<(), RpcError> {
        if messages.is_empty() {
            return Ok(());
        }
        self.0
            .send(Frame::Messages(messages))
            .map_err(|_| RpcError::disconnected("the in-memory peer is gone"))
    }

    async fn close(&mut self, info: CloseInfo) {
        let _ = self.0.send(Frame::Close(info));
    }

    fn try_send(&mut self, messages: &mut Vec<String>) -> bool {
        // An unbounded channel never makes us wait.
        messages.is_empty()
            || self
                .0
                .send(Frame::Messages(std::mem::take(messages)))
                .is_ok()
    }
}

impl MessageReceiver for MemoryReceiver {
    async fn recv(&mut self) -> Option<Result<String, RpcError>> {
        loop {
            if let Some(message) = self.pending.pop_front() {
                return Some(Ok(message));
            }
            match self.rx.recv().await? {
                Frame::Messages(messages) => self.pending.extend(messages),
                Frame::Close(info) => {
                    return Some(Err(RpcError::disconnected(format!(
                        "Peer closed the connection: {} {}",
                        info.code, info.reason
                    ))));
                }
            }
        }
    }
}
