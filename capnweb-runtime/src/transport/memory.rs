//! An in-memory transport pair, for tests and in-process use.

use tokio::sync::mpsc;

use super::{CloseInfo, MessageReceiver, MessageSender, Transport};
use crate::error::RpcError;

/// One end of an in-memory connection.
pub struct MemoryTransport {
    tx: mpsc::UnboundedSender<Frame>,
    rx: mpsc::UnboundedReceiver<Frame>,
}

enum Frame {
    Message(String),
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
pub struct MemoryReceiver(mpsc::UnboundedReceiver<Frame>);

impl Transport for MemoryTransport {
    type Sender = MemorySender;
    type Receiver = MemoryReceiver;
    fn split(self) -> (MemorySender, MemoryReceiver) {
        (MemorySender(self.tx), MemoryReceiver(self.rx))
    }
}

impl MessageSender for MemorySender {
    async fn send(&mut self, messages: Vec<String>) -> Result<(), RpcError> {
        for m in messages {
            self.0
                .send(Frame::Message(m))
                .map_err(|_| RpcError::disconnected("the in-memory peer is gone"))?;
        }
        Ok(())
    }

    async fn close(&mut self, info: CloseInfo) {
        let _ = self.0.send(Frame::Close(info));
    }

    fn try_send(&mut self, messages: &mut Vec<String>) -> bool {
        // An unbounded channel never makes us wait.
        for m in messages.drain(..) {
            if self.0.send(Frame::Message(m)).is_err() {
                return false;
            }
        }
        true
    }
}

impl MessageReceiver for MemoryReceiver {
    async fn recv(&mut self) -> Option<Result<String, RpcError>> {
        match self.0.recv().await {
            Some(Frame::Message(m)) => Some(Ok(m)),
            Some(Frame::Close(info)) => Some(Err(RpcError::disconnected(format!(
                "Peer closed the connection: {} {}",
                info.code, info.reason
            )))),
            None => None,
        }
    }
}
