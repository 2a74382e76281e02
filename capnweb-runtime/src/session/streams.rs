//! Streams in the session (protocol.md section 10): pipes the peer opens on us (`["pipe"]`,
//! read through `["readable", id]`), `stream` calls (answered unasked, never released), and
//! the writer that sends a [`ReadableStream`] of ours into a pipe on the peer.

use std::collections::VecDeque;
use std::sync::Arc;

use futures_util::StreamExt;
use tokio::sync::oneshot;

use super::import_handles::ImportedCap;
use super::{Effects, ImportSlot, SessionInner, State};
use crate::error::RpcError;
use crate::hook::Hook;
use crate::stream::{ReadableStream, STREAM_WINDOW, WritableStream, pipe};
use crate::value::{PropertyKey, Value};
use crate::wire::{Args, encode, limit_exceeded, message};

impl SessionInner {
    /// Streams need a connection that stays open: a stream's chunks and their answers take
    /// round trips an HTTP batch (one request, one response) does not have. A write the peer
    /// could only answer in a next request would wait forever, so streams are refused there,
    /// in both directions, with this error.
    pub(super) fn refuse_streams_in_batches(&self) -> Result<(), RpcError> {
        match self.mode {
            super::Mode::Connection(_) => Ok(()),
            _ => Err(RpcError::type_error(
                "streams cannot travel in an HTTP batch (one request and one response cannot \
                 carry a stream's chunks and their answers); use a WebSocket session",
            )),
        }
    }
}

impl State {
    /// `["pipe"]`: the peer opens a pipe on us, taking the next push ID. Its writable end is
    /// the export the peer's `stream` writes go to; its readable end waits for `["readable",
    /// id]`.
    pub(super) fn receive_pipe(&mut self, session: &SessionInner) -> Result<(), RpcError> {
        if let Some(reason) = &self.broken {
            return Err(reason.clone());
        }
        session.refuse_streams_in_batches()?;
        if self.exports.len() >= session.limits.max_exports {
            return Err(limit_exceeded("max_exports", session.limits.max_exports));
        }
        self.peer_push_count += 1;
        let id = self.peer_push_count;
        let (writer, readable) = pipe();
        self.exports.insert(
            id,
            super::ExportEntry {
                hook: Hook::Target(Arc::new(writer)),
                refcount: 1,
                pulled: false,
                stream: false,
            },
        );
        self.pipes.insert(id, readable);
        Ok(())
    }

    /// Makes export `id`, just added for a `stream` call, answered unasked and forgotten once
    /// answered.
    pub(super) fn stream_call_received(&mut self, id: i64, fx: &mut Effects) {
        if let Some(entry) = self.exports.get_mut(&id) {
            entry.stream = true;
            entry.pulled = true;
            fx.settlements.push((id, entry.hook.clone()));
        }
    }

    /// `["readable", id]`: the readable end of the pipe the peer opened as `id` (once).
    pub(super) fn claim_pipe(&mut self, id: i64) -> Result<Value, RpcError> {
        match self.pipes.remove(&id) {
            Some(readable) => Ok(Value::ReadableStream(readable)),
            None => Err(RpcError::protocol(format!(
                "[\"readable\",{id}] names no pipe the peer opened (or one already read)"
            ))),
        }
    }

    /// Opens a pipe on the peer (`["pipe"]`, taking our next push ID) and returns our handle
    /// on its writable end; dropping the handle releases it.
    pub(super) fn open_pipe(&mut self, session: &Arc<SessionInner>) -> Arc<ImportedCap> {
        self.last_push_id += 1;
        let id = self.last_push_id;
        let cap = Arc::new(ImportedCap {
            session: session.clone(),
            id,
        });
        self.imports.insert(
            id,
            ImportSlot::Cap {
                weak: Arc::downgrade(&cap),
                refcount: 1,
            },
        );
        self.queue(r#"["pipe"]"#.to_owned());
        cap
    }

    /// Sends `["stream", ["pipeline", target, [method], args]]`, taking the next push ID;
    /// returns the message's length (for the window) and its answer.
    fn send_stream_call(
        &mut self,
        session: &Arc<SessionInner>,
        fx: &mut Effects,
        target: i64,
        method: &str,
        args: Args,
    ) -> Result<(usize, oneshot::Receiver<Result<(), RpcError>>), RpcError> {
        if let Some(reason) = &self.broken {
            return Err(reason.clone());
        }
        let path = [PropertyKey::Name(method.to_owned())];
        let mark = self.last_export_id;
        let text = message::pipeline_stream_text(target, &path, |out| {
            let mut enc = super::refs::SessionEncoder {
                st: &mut *self,
                fx: &mut *fx,
                session,
            };
            encode::encode_args(&args, &mut enc, out)
        });
        let text = match text {
            Ok(text) => text,
            Err(e) => {
                self.unexport_since(mark, fx);
                return Err(e);
            }
        };
        self.last_push_id += 1;
        let (done, answer) = oneshot::channel();
        self.imports
            .insert(self.last_push_id, ImportSlot::StreamCall { done });
        let len = text.len();
        self.queue(text);
        Ok((len, answer))
    }
}

/// Writes into a stream the peer hosts (a pipe we opened) with `stream` calls, keeping at
/// most [`STREAM_WINDOW`] bytes unanswered.
pub(crate) struct RemoteWriter {
    target: Arc<ImportedCap>,
    in_flight: VecDeque<(usize, oneshot::Receiver<Result<(), RpcError>>)>,
    bytes: usize,
}

impl RemoteWriter {
    pub(crate) fn new(target: Arc<ImportedCap>) -> Self {
        RemoteWriter {
            target,
            in_flight: VecDeque::new(),
            bytes: 0,
        }
    }

    /// Sends `method(args)` once the window has room.
    async fn call(&mut self, method: &str, args: Args) -> Result<(), RpcError> {
        while self.bytes >= STREAM_WINDOW {
            self.settle_oldest().await?;
        }
        let session = self.target.session.clone();
        let id = self.target.id;
        let (len, answer) =
            session.with_state(|st, fx| st.send_stream_call(&session, fx, id, method, args))?;
        session.flush_now();
        self.bytes += len;
        self.in_flight.push_back((len, answer));
        Ok(())
    }

    /// Waits for the oldest unanswered call; a refused write fails the stream.
    async fn settle_oldest(&mut self) -> Result<(), RpcError> {
        let Some((len, answer)) = self.in_flight.pop_front() else {
            return Ok(());
        };
        self.bytes -= len;
        match answer.await {
            Ok(outcome) => outcome,
            Err(_) => Err(self
                .target
                .session
                .broken_reason()
                .unwrap_or_else(|| RpcError::disconnected("the session ended"))),
        }
    }

    /// Writes one chunk (waiting while the window is full, not for the answer).
    pub(crate) async fn write(&mut self, chunk: Value) -> Result<(), RpcError> {
        self.call("write", Args::from(vec![chunk])).await
    }

    /// Closes the stream and waits until the peer has taken every chunk and the close.
    pub(crate) async fn close(&mut self) -> Result<(), RpcError> {
        self.call("close", Args::default()).await?;
        while !self.in_flight.is_empty() {
            self.settle_oldest().await?;
        }
        Ok(())
    }

    /// Aborts the stream with `reason`; the peer's end errors with it.
    pub(crate) async fn abort(&mut self, reason: &RpcError) -> Result<(), RpcError> {
        self.call("abort", Args::from(vec![reason.to_wire_value()]))
            .await
    }

    /// Sends every chunk of `chunks`, then closes the stream (or aborts it with the error the
    /// chunks ended with), and waits for the answers. The pipe is released when this returns.
    async fn pump(mut self, mut chunks: crate::stream::Chunks) -> Result<(), RpcError> {
        while let Some(chunk) = chunks.next().await {
            match chunk {
                Ok(chunk) => self.write(chunk).await?,
                Err(error) => return self.abort(&error).await,
            }
        }
        self.close().await
    }
}

impl super::refs::SessionEncoder<'_> {
    /// A writable stream, sent: the peer writes into it with `stream` calls on the export.
    pub(super) fn send_writable(
        &mut self,
        stream: &WritableStream,
        out: &mut String,
    ) -> Result<(), RpcError> {
        self.session.refuse_streams_in_batches()?;
        let hook = Hook::Target(Arc::new(stream.as_target()));
        let id = self.st.export(self.session, hook, false, self.fx)?;
        encode::write_ref(out, "writable", id);
        Ok(())
    }

    /// A readable stream of ours, sent: open a pipe on the peer, name its readable end, and
    /// copy the chunks into it once the lock is released (a task of the session's, cancelled
    /// when it ends).
    pub(super) fn send_readable(
        &mut self,
        stream: &ReadableStream,
        out: &mut String,
    ) -> Result<(), RpcError> {
        self.session.refuse_streams_in_batches()?;
        let chunks = stream.take().ok_or_else(|| {
            RpcError::type_error("this ReadableStream was already sent or read; send it once")
        })?;
        let target = self.st.open_pipe(self.session);
        encode::write_ref(out, "readable", target.id);
        let writer = RemoteWriter::new(target);
        // Nobody awaits the copy: a failure reaches the peer as the stream's end.
        let _copying = self.fx.defer_start(Box::pin(async move {
            let _ = writer.pump(chunks).await;
            Ok(Value::Undefined)
        }));
        Ok(())
    }
}
