//! A transport wrapper that simulates a slow return path: once a frame starting with a given
//! prefix has been received and processed, it holds back every later frame until released.
//! This makes ordering races (the case embargoes exist for) deterministic.

use std::sync::{Arc, Mutex};

use capnweb_runtime::RpcError;
use capnweb_runtime::transport::{MessageReceiver, Transport};
use tokio::sync::Notify;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    Waiting,
    Triggered,
    Holding,
    Released,
}

/// Shared control of a [`Gated`] transport.
pub struct Gate {
    prefix: String,
    phase: Mutex<Phase>,
    processed: Notify,
    released: Notify,
}

impl Gate {
    /// A gate that closes after the first frame starting with `prefix`.
    pub fn new(prefix: &str) -> Arc<Gate> {
        Arc::new(Gate {
            prefix: prefix.to_owned(),
            phase: Mutex::new(Phase::Waiting),
            processed: Notify::new(),
            released: Notify::new(),
        })
    }

    /// Waits until the trigger frame has been fully processed by the session.
    pub async fn triggered(&self) {
        tokio::time::timeout(std::time::Duration::from_secs(5), self.processed.notified())
            .await
            .expect("the trigger frame never arrived");
    }

    /// Lets the held frames through.
    pub fn release(&self) {
        *self.phase.lock().unwrap() = Phase::Released;
        self.released.notify_one();
    }
}

/// Wraps a transport's receiving side with a [`Gate`].
pub struct Gated<T> {
    /// The wrapped transport.
    pub inner: T,
    /// The gate.
    pub gate: Arc<Gate>,
}

/// The receiving half of a [`Gated`] transport.
pub struct GatedReceiver<R> {
    inner: R,
    gate: Arc<Gate>,
}

impl<T: Transport> Transport for Gated<T> {
    type Sender = T::Sender;
    type Receiver = GatedReceiver<T::Receiver>;
    fn split(self) -> (Self::Sender, Self::Receiver) {
        let (tx, rx) = self.inner.split();
        (
            tx,
            GatedReceiver {
                inner: rx,
                gate: self.gate,
            },
        )
    }
}

impl<R: MessageReceiver> MessageReceiver for GatedReceiver<R> {
    async fn recv(&mut self) -> Option<Result<String, RpcError>> {
        let phase = *self.gate.phase.lock().unwrap();
        if phase == Phase::Triggered {
            // The reader came back for more: the trigger frame has been applied.
            *self.gate.phase.lock().unwrap() = Phase::Holding;
            self.gate.processed.notify_one();
        }
        if matches!(phase, Phase::Triggered | Phase::Holding) {
            self.gate.released.notified().await;
        }
        let next = self.inner.recv().await;
        if let Some(Ok(text)) = &next {
            let mut phase = self.gate.phase.lock().unwrap();
            if *phase == Phase::Waiting && text.starts_with(&self.gate.prefix) {
                *phase = Phase::Triggered;
            }
        }
        next
    }
}
