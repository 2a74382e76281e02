//! The engine side of HTTP batch (protocol.md section 2.2).
//!
//! A batch is an ordinary session that has no reader or writer task: the server applies the
//! request's messages with `handle_text` and answers with the outbox once the session has
//! drained; the client sends its outbox as the request and applies the response's messages.
//! Tables, IDs, evaluation, delivery and settlement are the same engine as over WebSocket.

use std::sync::Arc;
use std::time::Duration;

use super::{Mode, SessionInner};
use crate::batch::BATCH_ENDED_MESSAGE;
use crate::error::RpcError;

/// Ends the session when dropped: a batch server whose caller gave up (the HTTP connection
/// closed) must still drop its exports instead of keeping them for settlement tasks that will
/// never be read.
struct EndOnDrop(Arc<SessionInner>);

impl Drop for EndOnDrop {
    fn drop(&mut self) {
        self.0
            .abort(RpcError::BatchEnded(BATCH_ENDED_MESSAGE.into()), false);
    }
}

impl SessionInner {
    pub(super) fn broken_reason(&self) -> Option<RpcError> {
        self.with_state(|st, _| st.broken.clone())
    }

    /// Serves one HTTP batch: applies `lines` in order, waits until the session has drained
    /// (every pulled export and every promise export we sent has been answered), then ends the
    /// session and returns every message it produced, in order.
    ///
    /// Ending the session drops its exports, so targets the client still referenced see `Drop`
    /// (capnweb keeps them; nobody can ever use them again). `Err` is why the session aborted
    /// instead (a bad message, say), or [`RpcError::Timeout`] once `timeout` has passed.
    ///
    /// A batch cannot make its client wait (the whole request is here already, and nothing is
    /// read until the response is complete), so the response has a hard limit instead of
    /// back-pressure: once it holds more than `max_response` bytes the session aborts with an
    /// error naming the limit, while it is applying the request or as the calls it started
    /// settle.
    pub(crate) async fn serve_batch<'a>(
        &self,
        lines: impl IntoIterator<Item = &'a str>,
        timeout: Option<Duration>,
        max_response: usize,
    ) -> Result<Vec<String>, RpcError> {
        let _end = EndOnDrop(self.arc());
        for line in lines {
            self.handle_text(line);
            if let Some(reason) = self.batch_failure(max_response) {
                return Err(reason);
            }
            // A long batch must not hold the worker thread: yield when the task's budget is
            // spent (capnweb's read loop likewise lets other work run between messages).
            tokio::task::coop::consume_budget().await;
        }
        let drained = async {
            tokio::select! {
                drained = self.drained() => drained,
                reason = self.response_overflow(max_response) => Err(reason),
            }
        };
        match timeout {
            Some(limit) => tokio::time::timeout(limit, drained)
                .await
                .map_err(|_| RpcError::Timeout)??,
            None => drained.await?,
        }
        if let Some(reason) = self.batch_failure(max_response) {
            return Err(reason);
        }
        self.abort(RpcError::BatchEnded(BATCH_ENDED_MESSAGE.into()), false);
        Ok(self.take_outbox())
    }

    /// Why a batch must stop now: the session aborted, or its response is over `max_response`
    /// bytes (then it aborts, so the calls still running for it stop).
    fn batch_failure(&self, max_response: usize) -> Option<RpcError> {
        // Not `with_state`: it would wake `wake_writer` (the outbox is not empty), and
        // `response_overflow` would find its own wake-up and spin.
        let (broken, bytes) = {
            let st = self.lock();
            (st.broken.clone(), st.outbox_bytes)
        };
        if broken.is_some() {
            return broken;
        }
        (bytes > max_response).then(|| {
            let reason = RpcError::Aborted(format!(
                "the batch's response exceeds the limit of {max_response} bytes \
                 (BatchServerOptions::max_response_bytes)"
            ));
            self.abort(reason.clone(), false);
            reason
        })
    }

    /// Waits until the response grows over `max_response` bytes (every locked section that
    /// queues a message wakes `wake_writer`, which a batch server has no other use for).
    async fn response_overflow(&self, max_response: usize) -> RpcError {
        loop {
            let queued = self.wake_writer.notified();
            if let Some(reason) = self.batch_failure(max_response) {
                return reason;
            }
            queued.await;
        }
    }

    /// Batch client: tells the driver a task waits for a result, after letting that task yield
    /// once. Everything polled in the same pass as the await (the other futures of a `join!` or
    /// `join_all`) queues its messages before the task is polled again, so they all make the
    /// batch, on any runtime: the driver cannot see the await before the pass is over.
    pub(crate) async fn announce_await(&self) {
        tokio::task::yield_now().await;
        if let Mode::BatchClient { awaited } = &self.mode {
            awaited.store(true, std::sync::atomic::Ordering::SeqCst);
        }
        self.wake_writer.notify_one();
    }

    /// Batch client: whether a task waits for a result (see [`Self::announce_await`]).
    pub(crate) fn awaited(&self) -> bool {
        matches!(
            &self.mode,
            Mode::BatchClient { awaited } if awaited.load(std::sync::atomic::Ordering::SeqCst)
        )
    }

    /// Client side: applies the response's messages in order, then ends the session. Whatever
    /// they did not settle fails with `BatchEnded`, and so does every later call on a stub of
    /// this session. Messages queued meanwhile (the usual `release` after a `resolve`) have
    /// nowhere to go and are discarded, as in capnweb.
    pub(crate) fn finish_batch<'a>(&self, lines: impl IntoIterator<Item = &'a str>) {
        for line in lines {
            self.handle_text(line);
            if self.broken_reason().is_some() {
                break;
            }
        }
        self.fail_batch(RpcError::BatchEnded(BATCH_ENDED_MESSAGE.into()));
    }

    /// Client side: ends the session with `reason` (the request failed, or the batch is over).
    pub(crate) fn fail_batch(&self, reason: RpcError) {
        self.abort(reason, false);
        drop(self.take_outbox());
    }
}
