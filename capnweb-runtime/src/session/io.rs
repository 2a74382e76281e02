//! Moving messages between a session and its transport.
//!
//! Latency is mostly task hand-offs, so the task that produces messages writes them itself
//! when the transport can take them without waiting ("write-through"): the reader after it has
//! applied everything that was readable, a caller right after queueing the `pull` it is about
//! to wait for, a finished call right after queueing its settlement. Those attempts never wait
//! (a reader that waited on a full socket could deadlock with a peer doing the same); whatever
//! they cannot finish, and messages nobody is about to flush (pipelined pushes, releases), go
//! through the writer task.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::Poll;

use super::SessionInner;
use super::driver::CloseRequest;
use crate::error::RpcError;
use crate::transport::{MessageReceiver, MessageSender, Transport};

/// The sending half, shared by the writer task and write-through attempts.
struct SenderSlot<S> {
    sender: S,
    /// Messages a write-through attempt took out of the outbox but could not hand over; they go
    /// before anything newer.
    leftover: Vec<String>,
    /// Whether a write-through attempt left data buffered in the transport.
    unflushed: bool,
}

type SharedSender<S> = tokio::sync::Mutex<SenderSlot<S>>;

/// A write-through attempt, without the transport's type.
pub(crate) trait WriteThrough: Send + Sync {
    fn flush_now(&self, inner: &SessionInner);
}

impl<S: MessageSender> WriteThrough for SharedSender<S> {
    fn flush_now(&self, inner: &SessionInner) {
        // The writer task is busy with the transport: it will take the outbox when done.
        let Ok(mut slot) = self.try_lock() else {
            return;
        };
        if !slot.leftover.is_empty() || slot.unflushed {
            return;
        }
        let Some(mut batch) = inner.take_urgent_outbox() else {
            return;
        };
        if !slot.sender.try_send(&mut batch) {
            slot.leftover = batch;
            slot.unflushed = true;
            inner.wake_writer.notify_one();
        }
    }
}

/// Starts the reader and writer tasks of a session over `transport`.
pub(crate) fn start<T: Transport>(inner: &Arc<SessionInner>, transport: T) {
    let (sender, receiver) = transport.split();
    let shared = Arc::new(SharedSender::new(SenderSlot {
        sender,
        leftover: Vec::new(),
        unflushed: false,
    }));
    // Weak: the writer task owns the transport, so the connection closes when it is done.
    let weak: std::sync::Weak<dyn WriteThrough> = Arc::downgrade(&shared) as _;
    let _ = inner.write_through.set(weak);
    tokio::spawn(read_loop(inner.clone(), receiver));
    tokio::spawn(write_loop(inner.clone(), shared));
}

impl SessionInner {
    /// Writes queued messages from the calling task if the transport can take them at once.
    pub(crate) fn flush_now(&self) {
        if let Some(w) = self.write_through.get().and_then(std::sync::Weak::upgrade) {
            w.flush_now(self);
        }
    }

    /// The outbox, if it holds something urgent and the session is not closing (closing is the
    /// writer's job).
    fn take_urgent_outbox(&self) -> Option<Vec<String>> {
        self.with_state(|st, _| {
            if !st.outbox_urgent || st.close.is_some() {
                return None;
            }
            st.outbox_urgent = false;
            Some(std::mem::take(&mut st.outbox))
        })
    }

    /// Everything the writer should send now, and whether to close afterwards.
    fn take_outgoing(&self) -> (Vec<String>, Option<CloseRequest>) {
        self.with_state(|st, _| {
            st.outbox_urgent = false;
            (std::mem::take(&mut st.outbox), st.close.take())
        })
    }
}

/// Polls `fut` once; `None` if it is not ready (it stays registered for a wake-up).
async fn poll_once<F: Future + Unpin>(fut: &mut F) -> Option<F::Output> {
    std::future::poll_fn(|cx| {
        Poll::Ready(match std::pin::Pin::new(&mut *fut).poll(cx) {
            Poll::Ready(v) => Some(v),
            Poll::Pending => None,
        })
    })
    .await
}

async fn read_loop<R: MessageReceiver>(inner: Arc<SessionInner>, mut receiver: R) {
    let mut ended = inner.ended.subscribe();
    if ended.borrow_and_update().is_some() {
        return;
    }
    // One registration for the whole session, not one per message.
    let mut ended = pin!(ended.changed());
    loop {
        let next = async {
            let mut next = pin!(receiver.recv());
            match poll_once(&mut next).await {
                Some(message) => message,
                None => {
                    // Everything readable has been applied. Give a burst that is still arriving
                    // one scheduler turn, then answer it all before waiting.
                    tokio::task::yield_now().await;
                    if let Some(message) = poll_once(&mut next).await {
                        return message;
                    }
                    inner.flush_now();
                    next.await
                }
            }
        };
        tokio::select! {
            biased;
            _ = &mut ended => return,
            next = next => match next {
                Some(Ok(text)) => inner.handle_text(&text),
                Some(Err(e)) => return inner.abort(e, false),
                None => return inner.abort(RpcError::Disconnected("the peer closed the connection".into()), false),
            },
        }
    }
}

async fn write_loop<S: MessageSender>(inner: Arc<SessionInner>, shared: Arc<SharedSender<S>>) {
    // Registered once and renewed when they fire, rather than made and dropped every turn.
    let mut urgent = pin!(inner.wake_writer.notified());
    let mut lazy = pin!(inner.wake_lazy.notified());
    loop {
        tokio::select! {
            biased;
            _ = &mut urgent => urgent.set(inner.wake_writer.notified()),
            _ = &mut lazy => {
                lazy.set(inner.wake_lazy.notified());
                // Only releases are waiting: let the task that is about to make the next call
                // (usually woken by the same resolve) queue it, and send both in one write.
                tokio::task::yield_now().await;
                tokio::task::yield_now().await;
            }
        }
        let mut slot = shared.lock().await;
        let (batch, close) = inner.take_outgoing();
        let mut all = std::mem::take(&mut slot.leftover);
        all.extend(batch);
        if (!all.is_empty() || slot.unflushed)
            && let Err(e) = slot.sender.send(all).await
        {
            drop(slot);
            // The peer may already have told us why it left (an `abort` still queued on our
            // receiving side): give the reader a moment to report that reason first.
            let mut ended = inner.ended.subscribe();
            let reader_reported = ended.wait_for(Option::is_some);
            let _ = tokio::time::timeout(std::time::Duration::from_secs(1), reader_reported).await;
            inner.abort(e, false);
            return;
        }
        slot.unflushed = false;
        if let Some(close) = close {
            if let Some(abort) = close.abort_message {
                let _ = slot.sender.send(vec![abort]).await;
            }
            slot.sender.close(close.info).await;
            return;
        }
    }
}
