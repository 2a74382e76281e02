//! The outbox: messages waiting for the writer (or the reader's write-through, or a batch's
//! request or response body).

use super::{SessionInner, State};
use crate::wire::message;

impl State {
    /// Queues a message for the writer (or the reader's write-through).
    pub(crate) fn queue(&mut self, message: String) {
        tracing::debug!(
            target: "capnweb::message",
            session = self.session_id,
            frame = %crate::task::Shortened(&message),
            "queued"
        );
        self.outbox_bytes += message.len();
        if is_answer(&message) {
            self.outbox_answer_bytes += message.len();
        }
        self.outbox.push(message);
        self.outbox_can_wait = false;
    }

    /// Queues the `release` of an import whose `resolve`/`reject` just arrived and woke a
    /// waiter. Unlike other messages it waits for the next write, or for that waiter to ask
    /// for it (see `io.rs`).
    pub(crate) fn queue_release_for_waiter(&mut self, id: i64) {
        self.outbox_can_wait = self.outbox.is_empty() || self.outbox_can_wait;
        let release = message::release_text(id, 1);
        self.outbox_bytes += release.len();
        self.outbox.push(release);
    }

    /// Takes everything queued.
    pub(crate) fn take_outbox(&mut self) -> Vec<String> {
        self.outbox_can_wait = false;
        self.outbox_bytes = 0;
        self.outbox_answer_bytes = 0;
        std::mem::take(&mut self.outbox)
    }

    /// Whether the outbox holds something that should be written now.
    pub(crate) fn must_write(&self) -> bool {
        !self.outbox.is_empty() && !self.outbox_can_wait
    }
}

impl SessionInner {
    /// Takes every message queued so far (pending releases of dropped handles included).
    pub(crate) fn take_outbox(&self) -> Vec<String> {
        self.with_state(|st, _| st.take_outbox())
    }

    /// How many messages are queued. Reads the tables without `with_state`, which would wake
    /// the writer (the batch client's driver) whenever the outbox is not empty, so checking
    /// would wake the checker again.
    pub(crate) fn queued(&self) -> usize {
        self.lock().outbox.len()
    }

    /// Bytes queued for the peer that the transport has not taken: the outbox, and what the
    /// writer or a write-through attempt took from it but has not handed over yet.
    pub(crate) fn queued_bytes(&self) -> usize {
        let st = self.lock();
        st.outbox_bytes + self.bytes_being_written().0
    }

    /// The part of [`Self::queued_bytes`] that answers the peer's calls (`resolve`/`reject`):
    /// what back-pressure bounds.
    pub(crate) fn queued_answer_bytes(&self) -> usize {
        let st = self.lock();
        st.outbox_answer_bytes + self.bytes_being_written().1
    }
}

/// Whether a queued message answers one of the peer's calls: the output that reading the
/// peer's messages produces, which back-pressure bounds. (Our own calls and releases are not
/// counted: pausing our reading would not make them go away, and a side that stopped reading
/// answers because its own calls were queued would deadlock with a peer doing the same.)
pub(crate) fn is_answer(message: &str) -> bool {
    message.starts_with("[\"resolve\",") || message.starts_with("[\"reject\",")
}
