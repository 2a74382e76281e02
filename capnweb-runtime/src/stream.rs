//! Streams as values: a [`ReadableStream`] the peer sent (or one you send) is a
//! `futures::Stream` of chunks.
//!
//! On the wire (protocol.md section 10) the sender of a readable stream opens a pipe
//! (`["pipe"]`) on the receiver, names its readable end in a value (`["readable", id]`) and
//! writes the chunks into it with `stream` messages, each answered when the receiver has taken
//! the chunk. Flow control is the sender's: it keeps a window of bytes in flight and waits for
//! answers beyond it. The receiving end here buffers at most [`PIPE_BUFFER`] chunks; a writer
//! with more in flight waits for our answers, which come as the reader takes chunks.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use futures_util::Stream;
use tokio::sync::mpsc;

use crate::error::RpcError;
use crate::target::{CallFuture, RpcTarget};
use crate::value::Value;
use crate::wire::Args;

/// Chunks the receiving end of a pipe holds before its writer's next write waits.
pub const PIPE_BUFFER: usize = 16;

pub(crate) type Chunks = Pin<Box<dyn Stream<Item = Result<Value, RpcError>> + Send>>;

/// A readable stream: a `futures::Stream` of chunks, each a [`Value`], ending with an error if
/// the writer aborted or went away without closing.
///
/// Received from the peer, it reads the peer's stream; made with [`ReadableStream::new`] and
/// sent (as an argument or a result), the peer reads it as a JavaScript `ReadableStream`.
/// Clones share one stream (a stream is read once): sending it, or reading it, consumes it.
///
/// ```
/// use capnweb_runtime::Value;
/// use capnweb_runtime::stream::ReadableStream;
/// use futures_util::StreamExt;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let numbers = futures_util::stream::iter([1, 2, 3]).map(|n| Ok(Value::from(n)));
/// let mut stream = ReadableStream::new(numbers);
/// assert_eq!(stream.next().await.unwrap().unwrap(), Value::from(1));
/// # }
/// ```
#[derive(Clone)]
pub struct ReadableStream {
    chunks: Arc<Mutex<Option<Chunks>>>,
}

impl ReadableStream {
    /// A stream of `chunks` to send to the peer (or to read here).
    pub fn new(chunks: impl Stream<Item = Result<Value, RpcError>> + Send + 'static) -> Self {
        ReadableStream {
            chunks: Arc::new(Mutex::new(Some(Box::pin(chunks)))),
        }
    }

    /// Takes the chunks out (to send them); later reads see a consumed stream.
    pub(crate) fn take(&self) -> Option<Chunks> {
        self.chunks.lock().unwrap_or_else(|e| e.into_inner()).take()
    }

    /// Whether both handles are the same stream.
    pub fn same_stream(&self, other: &ReadableStream) -> bool {
        Arc::ptr_eq(&self.chunks, &other.chunks)
    }
}

impl Stream for ReadableStream {
    type Item = Result<Value, RpcError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let mut chunks = self.chunks.lock().unwrap_or_else(|e| e.into_inner());
        match chunks.as_mut() {
            Some(stream) => stream.as_mut().poll_next(cx),
            None => Poll::Ready(Some(Err(RpcError::type_error(
                "this ReadableStream was already sent or taken",
            )))),
        }
    }
}

impl std::fmt::Debug for ReadableStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ReadableStream")
    }
}

/// The receiving end of a pipe the peer opened: a target for its `write`, `close` and
/// `abort` stream calls, and the [`ReadableStream`] the application reads.
pub(crate) fn pipe() -> (PipeWriter, ReadableStream) {
    let (tx, rx) = mpsc::channel(PIPE_BUFFER);
    let ending: Arc<Mutex<Option<RpcError>>> = Arc::default();
    let end = ending.clone();
    let chunks = futures_util::stream::unfold(Some(rx), move |rx| {
        let end = end.clone();
        async move {
            let mut rx = rx?;
            match rx.recv().await {
                Some(chunk) => Some((chunk, Some(rx))),
                // The writer is gone: closed normally, or with the error it left.
                None => {
                    let error = end.lock().unwrap_or_else(|e| e.into_inner()).take();
                    error.map(|e| (Err(e), None))
                }
            }
        }
    });
    let writer = PipeWriter {
        sender: Mutex::new(Some(tx)),
        ending,
    };
    (writer, ReadableStream::new(chunks))
}

/// The writable end of a pipe, hosted for the peer.
pub(crate) struct PipeWriter {
    sender: Mutex<Option<mpsc::Sender<Result<Value, RpcError>>>>,
    /// The error the reader sees after the last chunk, if the stream did not close normally.
    ending: Arc<Mutex<Option<RpcError>>>,
}

impl PipeWriter {
    fn sender(&self) -> Option<mpsc::Sender<Result<Value, RpcError>>> {
        self.sender
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Ends the stream: normally (`None`) or with an error the reader sees.
    fn finish(&self, error: Option<RpcError>) {
        let sender = self.sender.lock().unwrap_or_else(|e| e.into_inner()).take();
        if sender.is_some() {
            *self.ending.lock().unwrap_or_else(|e| e.into_inner()) = error;
        }
    }
}

impl RpcTarget for PipeWriter {
    fn call(self: Arc<Self>, method: &str, args: Args) -> CallFuture {
        match method {
            "write" => {
                let sender = self.sender();
                let chunk = args.into_values().into_iter().next().unwrap_or_default();
                Box::pin(async move {
                    let sender = sender
                        .ok_or_else(|| RpcError::type_error("write() after the stream closed"))?;
                    // Waits while the reader is behind: our answer, and so the writer's next
                    // write beyond its window, waits with it.
                    sender
                        .send(Ok(chunk))
                        .await
                        .map_err(|_| RpcError::new("Error", "the stream's reader is gone"))?;
                    Ok(Value::Undefined)
                })
            }
            "close" => {
                self.finish(None);
                Box::pin(std::future::ready(Ok(Value::Undefined)))
            }
            "abort" => {
                let reason = args.into_values().into_iter().next().unwrap_or_default();
                let error = match reason {
                    Value::Error(e) => RpcError::Remote(e),
                    other => RpcError::Thrown(Box::new(other)),
                };
                self.finish(Some(error));
                Box::pin(std::future::ready(Ok(Value::Undefined)))
            }
            other => Box::pin(std::future::ready(Err(RpcError::no_such_method(other)))),
        }
    }
}

impl Drop for PipeWriter {
    fn drop(&mut self) {
        // Released (or its session ended) before `close`: the reader must not mistake the
        // end for a complete stream.
        self.finish(Some(RpcError::new(
            "Error",
            "the stream ended without being closed: its writer was released or its session ended",
        )));
    }
}
