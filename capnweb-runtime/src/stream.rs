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

/// Bytes of `stream` messages a writer has in flight before it waits for answers: capnweb's
/// starting window. (capnweb then adapts it to the measured bandwidth; a fixed window keeps
/// what one stream can make the peer buffer bounded and predictable.)
pub const STREAM_WINDOW: usize = 256 * 1024;

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

type BoxSink = Pin<Box<dyn futures_util::Sink<Value, Error = RpcError> + Send>>;

/// A writable stream: chunks written into it go to a sink of yours, or to the peer's
/// JavaScript `WritableStream`.
///
/// Received from the peer, each [`write`](Self::write) sends a chunk to it (at most
/// [`STREAM_WINDOW`] bytes unanswered; beyond that a write waits
/// for the peer to take chunks), [`close`](Self::close) waits until it took them all, and
/// dropping every handle without closing aborts the peer's stream. Made with
/// [`WritableStream::new`] around a `futures::Sink` and sent, the peer writes into your sink.
/// Clones share one stream.
///
/// ```
/// use capnweb_runtime::stream::WritableStream;
/// use capnweb_runtime::{RpcError, Value};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), RpcError> {
/// let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Value>();
/// let sink = futures_util::sink::unfold(tx, |tx, chunk: Value| async move {
///     tx.send(chunk).map_err(|_| RpcError::new("Error", "nobody reads"))?;
///     Ok::<_, RpcError>(tx)
/// });
/// let writable = WritableStream::new(sink);
/// writable.write("hello").await?;
/// writable.close().await?;
/// assert_eq!(rx.recv().await, Some(Value::from("hello")));
/// assert_eq!(rx.recv().await, None); // closed: the sink was dropped
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct WritableStream {
    inner: Arc<tokio::sync::Mutex<Writable>>,
}

enum Writable {
    /// The application's sink (`None` once closed or aborted).
    Local(Option<BoxSink>),
    /// The peer's stream.
    Remote(crate::session::RemoteWriter),
}

impl WritableStream {
    /// A writable stream that writes into `sink` (send it to let the peer write).
    pub fn new(sink: impl futures_util::Sink<Value, Error = RpcError> + Send + 'static) -> Self {
        WritableStream::from(Writable::Local(Some(Box::pin(sink))))
    }

    pub(crate) fn remote(writer: crate::session::RemoteWriter) -> Self {
        WritableStream::from(Writable::Remote(writer))
    }

    fn from(writable: Writable) -> Self {
        WritableStream {
            inner: Arc::new(tokio::sync::Mutex::new(writable)),
        }
    }

    /// Writes one chunk.
    pub async fn write(&self, chunk: impl Into<Value>) -> Result<(), RpcError> {
        use futures_util::SinkExt;
        match &mut *self.inner.lock().await {
            Writable::Local(Some(sink)) => sink.send(chunk.into()).await,
            Writable::Local(None) => Err(closed()),
            Writable::Remote(writer) => writer.write(chunk.into()).await,
        }
    }

    /// Closes the stream: the reader sees its end after the chunks written before.
    pub async fn close(&self) -> Result<(), RpcError> {
        use futures_util::SinkExt;
        match &mut *self.inner.lock().await {
            Writable::Local(sink) => match sink.take() {
                Some(mut sink) => sink.close().await,
                None => Err(closed()),
            },
            Writable::Remote(writer) => writer.close().await,
        }
    }

    /// Aborts the stream with `reason`: the reader sees it as an error. A local sink is
    /// dropped without being closed.
    pub async fn abort(&self, reason: RpcError) -> Result<(), RpcError> {
        match &mut *self.inner.lock().await {
            Writable::Local(sink) => {
                sink.take();
                Ok(())
            }
            Writable::Remote(writer) => writer.abort(&reason).await,
        }
    }

    /// This stream as a `futures::Sink` (`send` writes, `close` closes; `SinkExt::send_all`
    /// from a local stream and the rest of `SinkExt` work on it).
    ///
    /// ```
    /// use capnweb_runtime::stream::WritableStream;
    /// use capnweb_runtime::{RpcError, Value};
    /// use futures_util::SinkExt;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), RpcError> {
    /// let writable = WritableStream::new(futures_util::sink::drain().sink_map_err(|e| match e {}));
    /// let mut sink = writable.into_sink();
    /// let mut chunks = futures_util::stream::iter([Ok(Value::from(1)), Ok(Value::from(2))]);
    /// sink.send_all(&mut chunks).await?;
    /// sink.close().await?;
    /// # Ok(()) }
    /// ```
    pub fn into_sink(self) -> WritableSink {
        WritableSink {
            stream: self,
            pending: None,
            closing: false,
        }
    }

    /// Whether both handles are the same stream.
    pub fn same_stream(&self, other: &WritableStream) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    /// The target the peer's `stream` calls reach when this stream is sent.
    pub(crate) fn as_target(&self) -> WriterTarget {
        WriterTarget {
            stream: self.clone(),
        }
    }
}

/// A write or close under way.
type Step = Pin<Box<dyn std::future::Future<Output = Result<(), RpcError>> + Send>>;

/// A [`WritableStream`] as a `futures::Sink` (see [`WritableStream::into_sink`]).
pub struct WritableSink {
    stream: WritableStream,
    /// The write (or close) under way.
    pending: Option<Step>,
    closing: bool,
}

impl WritableSink {
    fn poll_pending(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), RpcError>> {
        match self.pending.as_mut() {
            None => Poll::Ready(Ok(())),
            Some(fut) => {
                let outcome = std::task::ready!(fut.as_mut().poll(cx));
                self.pending = None;
                Poll::Ready(outcome)
            }
        }
    }
}

impl futures_util::Sink<Value> for WritableSink {
    type Error = RpcError;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), RpcError>> {
        self.get_mut().poll_pending(cx)
    }

    fn start_send(self: Pin<&mut Self>, chunk: Value) -> Result<(), RpcError> {
        let this = self.get_mut();
        let stream = this.stream.clone();
        this.pending = Some(Box::pin(async move { stream.write(chunk).await }));
        Ok(())
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), RpcError>> {
        self.get_mut().poll_pending(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), RpcError>> {
        let this = self.get_mut();
        if !this.closing {
            std::task::ready!(this.poll_pending(cx))?;
            this.closing = true;
            let stream = this.stream.clone();
            this.pending = Some(Box::pin(async move { stream.close().await }));
        }
        this.poll_pending(cx)
    }
}

impl std::fmt::Debug for WritableSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WritableSink")
    }
}

fn closed() -> RpcError {
    RpcError::type_error("the WritableStream is closed")
}

impl std::fmt::Debug for WritableStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WritableStream")
    }
}

/// A writable stream hosted for the peer: its `write`, `close` and `abort` calls.
pub(crate) struct WriterTarget {
    stream: WritableStream,
}

impl RpcTarget for WriterTarget {
    fn call(self: Arc<Self>, method: &str, args: Args) -> CallFuture {
        let stream = self.stream.clone();
        let first = args.into_values().into_iter().next().unwrap_or_default();
        match method {
            "write" => {
                Box::pin(async move { stream.write(first).await.map(|()| Value::Undefined) })
            }
            "close" => Box::pin(async move { stream.close().await.map(|()| Value::Undefined) }),
            "abort" => Box::pin(async move {
                let reason = match first {
                    Value::Error(e) => RpcError::Remote(e),
                    other => RpcError::Thrown(Box::new(other)),
                };
                stream.abort(reason).await.map(|()| Value::Undefined)
            }),
            other => Box::pin(std::future::ready(Err(RpcError::no_such_method(other)))),
        }
    }
}

/// A [`ReadableStream`] whose chunks are a serde type `T`: for `#[rpc_interface]` signatures
/// (`async fn events(&self) -> RpcStream<Event>`). Each chunk converts as an argument would;
/// one that does not is an error item, and the stream goes on.
///
/// ```
/// use capnweb_runtime::stream::RpcStream;
/// use futures_util::StreamExt;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let mut numbers: RpcStream<u32> = RpcStream::new(futures_util::stream::iter([1, 2, 3]));
/// assert_eq!(numbers.next().await.unwrap().unwrap(), 1);
/// # }
/// ```
pub struct RpcStream<T> {
    inner: ReadableStream,
    _chunk: std::marker::PhantomData<fn() -> T>,
}

impl<T: serde::Serialize> RpcStream<T> {
    /// A stream of `chunks` to send (or to read here).
    pub fn new(chunks: impl Stream<Item = T> + Send + 'static) -> Self {
        use futures_util::StreamExt;
        RpcStream::from(ReadableStream::new(
            chunks.map(|chunk| crate::value::to_value(&chunk)),
        ))
    }

    /// A stream of `chunks` that may end with an error (the reader sees it after the chunks
    /// before it).
    pub fn try_new(chunks: impl Stream<Item = Result<T, RpcError>> + Send + 'static) -> Self {
        use futures_util::StreamExt;
        RpcStream::from(ReadableStream::new(
            chunks.map(|chunk| chunk.and_then(|chunk| crate::value::to_value(&chunk))),
        ))
    }
}

impl<T> RpcStream<T> {
    /// The untyped stream underneath.
    pub fn into_untyped(self) -> ReadableStream {
        self.inner
    }
}

impl<T> From<ReadableStream> for RpcStream<T> {
    fn from(inner: ReadableStream) -> Self {
        RpcStream {
            inner,
            _chunk: std::marker::PhantomData,
        }
    }
}

impl<T: serde::de::DeserializeOwned> Stream for RpcStream<T> {
    type Item = Result<T, RpcError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Pin::new(&mut self.inner)
            .poll_next(cx)
            .map(|item| item.map(|chunk| chunk.and_then(crate::value::from_value)))
    }
}

impl<T> Clone for RpcStream<T> {
    fn clone(&self) -> Self {
        RpcStream::from(self.inner.clone())
    }
}

impl<T> std::fmt::Debug for RpcStream<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RpcStream<{}>", std::any::type_name::<T>())
    }
}

impl<T> serde::Serialize for RpcStream<T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.inner.serialize(serializer)
    }
}

impl<'de, T> serde::Deserialize<'de> for RpcStream<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        ReadableStream::deserialize(deserializer).map(RpcStream::from)
    }
}

/// A [`WritableStream`] whose chunks are a serde type `T`, for `#[rpc_interface]` signatures
/// (`async fn upload(&self, into: RpcSink<Row>)`).
///
/// ```
/// use capnweb_runtime::{RpcError, RpcSink};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), RpcError> {
/// let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<u32>();
/// let sink = RpcSink::new(futures_util::sink::unfold(tx, |tx, n: u32| async move {
///     tx.send(n).map_err(|_| RpcError::new("Error", "nobody reads"))?;
///     Ok::<_, RpcError>(tx)
/// }));
/// sink.write(7).await?; // what the peer's writes do when the sink is sent to it
/// assert_eq!(rx.recv().await, Some(7));
/// # Ok(()) }
/// ```
pub struct RpcSink<T> {
    inner: WritableStream,
    _chunk: std::marker::PhantomData<fn(T)>,
}

impl<T: serde::de::DeserializeOwned + Send + 'static> RpcSink<T> {
    /// A writable stream that writes into `sink` (send it to let the peer write); a chunk
    /// that does not convert to `T` fails that write.
    pub fn new(sink: impl futures_util::Sink<T, Error = RpcError> + Send + 'static) -> Self {
        use futures_util::SinkExt;
        let sink =
            sink.with(|chunk: Value| std::future::ready(crate::value::from_value::<T>(chunk)));
        RpcSink::from(WritableStream::new(sink))
    }
}

impl<T: serde::Serialize> RpcSink<T> {
    /// Writes one chunk.
    pub async fn write(&self, chunk: T) -> Result<(), RpcError> {
        self.inner.write(crate::value::to_value(&chunk)?).await
    }

    /// Closes the stream.
    pub async fn close(&self) -> Result<(), RpcError> {
        self.inner.close().await
    }

    /// Aborts the stream with `reason`.
    pub async fn abort(&self, reason: RpcError) -> Result<(), RpcError> {
        self.inner.abort(reason).await
    }
}

impl<T> RpcSink<T> {
    /// The untyped stream underneath.
    pub fn into_untyped(self) -> WritableStream {
        self.inner
    }
}

impl<T> From<WritableStream> for RpcSink<T> {
    fn from(inner: WritableStream) -> Self {
        RpcSink {
            inner,
            _chunk: std::marker::PhantomData,
        }
    }
}

impl<T> Clone for RpcSink<T> {
    fn clone(&self) -> Self {
        RpcSink::from(self.inner.clone())
    }
}

impl<T> std::fmt::Debug for RpcSink<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RpcSink<{}>", std::any::type_name::<T>())
    }
}

impl<T> serde::Serialize for RpcSink<T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.inner.serialize(serializer)
    }
}

impl<'de, T> serde::Deserialize<'de> for RpcSink<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        WritableStream::deserialize(deserializer).map(RpcSink::from)
    }
}

/// The stream a [`Blob`](crate::value::Blob) travels as: its bytes in one chunk.
pub(crate) fn blob_content(blob: &crate::value::Blob) -> ReadableStream {
    let chunk = Value::Bytes(crate::value::Bytes {
        data: blob.bytes.clone(),
        kind: crate::value::BytesKind::Uint8Array,
    });
    ReadableStream::new(futures_util::stream::iter([Ok(chunk)]))
}

/// A promise of the blob whose content `stream` carries: its chunks (bytes, or strings as
/// UTF-8, as `new Blob(chunks)` takes them) read to the end.
pub(crate) fn read_blob(stream: ReadableStream, content_type: String) -> crate::stub::Promise {
    use futures_util::StreamExt;
    let cell = crate::local_promise::LocalPromise::new();
    crate::task::spawn_settling(cell.clone(), "reading a Blob".to_owned(), async move {
        let mut stream = stream;
        let mut bytes = Vec::new();
        while let Some(chunk) = stream.next().await {
            match chunk {
                Ok(Value::Bytes(b)) => bytes.extend_from_slice(&b.data),
                Ok(Value::String(s)) => bytes.extend_from_slice(s.as_bytes()),
                Ok(other) => {
                    return crate::hook::Hook::error(RpcError::type_error(format!(
                        "a Blob's stream must carry bytes, got {}",
                        other.kind()
                    )));
                }
                Err(e) => return crate::hook::Hook::error(e),
            }
        }
        let blob = crate::value::Blob {
            content_type,
            bytes,
        };
        crate::hook::Hook::Value(Arc::new(Value::Blob(blob)))
    });
    crate::stub::Promise::from_hook(crate::hook::Hook::Local(cell))
}
