//! Moving messages between a session and its transport.
//!
//! Latency and CPU are mostly task hand-offs: on a multi-thread runtime, waking a second task
//! for a connection often wakes a second worker thread too, which then looks for work, steals
//! it or parks again (measured: a futex wake-up and several context switches per call). So the
//! reader does a connection's work itself: it applies each received message (running the calls
//! it delivers, as far as they go without waiting) and writes what that produced before it
//! waits for more ("write-through"). Messages queued on the reader's own thread while it
//! applies a message therefore wake nobody. The writer task is for everything else: messages
//! queued by other tasks (a caller's `push`, a release), and whatever a write-through attempt
//! could not finish. Write-through never waits (a reader that waited on a full socket could
//! deadlock with a peer doing the same).
//!
//! One message waits on purpose: the `release` we owe for a `resolve`/`reject` that woke a
//! waiter. The woken task usually makes its next call at once, and that call's write can carry
//! the release: one write per call instead of two. So the reader does not write it; the woken
//! waiter asks the writer task for it when it resumes (`import_handles::WakeUp`), which on the same
//! worker runs after that task's poll, by when its next call is queued too.
//!
//! Back-pressure: the bytes queued for the peer (the outbox, plus what the writer or a
//! write-through attempt took from it and the transport has not taken yet) are counted, and
//! apart the answers to the peer's calls among them (`resolve`/`reject`, `outbox::is_answer`).
//! When the reader, at one of its writes, finds the answers above the high-water mark, it stops
//! reading (TCP then slows the peer down) until the writer has brought them down to the
//! low-water mark. Our own calls do not count: pausing would not shrink them, and two sides
//! that each stopped reading because of their own queued calls would wait for each other.
//! The reader holds nothing the writer needs while it waits: it has written or handed over
//! everything it produced, and asked the writer for the releases that may wait.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::Poll;

use super::abort::CloseRequest;
use super::after_write::{DropWaitingOnExit, drop_after_write, drop_waiting};
use super::{Mode, SessionInner, State};
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

/// The state of a session that runs over a transport.
#[derive(Default)]
pub(crate) struct ConnectionIo {
    /// Writes from the producing task when the transport allows (set when the tasks start).
    write_through: std::sync::OnceLock<std::sync::Weak<dyn WriteThrough>>,
    /// Set once the writer task has closed the transport.
    pub(crate) writer_done: crate::latch::Latch<()>,
    /// Bytes the writer or a write-through attempt took from the outbox that the transport
    /// has not taken yet (counted with the outbox), and the part of them that answers the
    /// peer's calls (what back-pressure bounds).
    writing_bytes: AtomicUsize,
    writing_answer_bytes: AtomicUsize,
    /// Whether the reader has stopped reading because too much is queued for the peer.
    reader_paused: AtomicBool,
    /// Wakes a paused reader: the queued bytes may be down to the low-water mark.
    resume_reader: tokio::sync::Notify,
}

/// A write-through attempt, without the transport's type.
pub(crate) trait WriteThrough: Send + Sync {
    fn flush_now(&self, inner: &SessionInner);
}

impl<S: MessageSender> WriteThrough for SharedSender<S> {
    fn flush_now(&self, inner: &SessionInner) {
        // The writer task is busy with the transport, or has an unfinished write: it must go
        // round once more, as it may have taken the outbox before the newest messages.
        let Ok(mut slot) = self.try_lock() else {
            return inner.wake_writer.notify_one();
        };
        if !slot.leftover.is_empty() || slot.unflushed {
            return inner.wake_writer.notify_one();
        }
        let Some((mut batch, taken)) = inner.take_outbox_for_write_through() else {
            return;
        };
        if slot.sender.try_send(&mut batch) {
            inner.handed_over(taken);
        } else {
            let left = sizes(&batch);
            inner.handed_over((taken.0 - left.0, taken.1 - left.1));
            slot.leftover = batch;
            slot.unflushed = true;
            inner.wake_writer.notify_one();
        }
    }
}

/// Starts the reader and writer tasks of a session over `transport`.
pub(crate) fn start<T: Transport>(inner: &Arc<SessionInner>, transport: T) {
    let (reader, writer) = tasks(inner, transport);
    tokio::spawn(reader);
    tokio::spawn(writer);
}

/// The reader's and the writer's futures. Every idle session holds both, each in a tokio task
/// allocated in multiples of 128 bytes with about 104 bytes of its own: at most
/// [`TASK_FUTURE_BUDGET`] bytes each keeps both tasks at 512 bytes (a test checks it).
fn tasks<T: Transport>(
    inner: &Arc<SessionInner>,
    transport: T,
) -> (
    impl Future<Output = ()> + use<T>,
    impl Future<Output = ()> + use<T>,
) {
    let (sender, receiver) = transport.split();
    // Read here, not by the writer task: taking the sender's lock there could make the
    // reader's first write-through find it busy.
    let keepalive = sender.keepalive_interval();
    let shared = Arc::new(SharedSender::new(SenderSlot {
        sender,
        leftover: Vec::new(),
        unflushed: false,
    }));
    // Weak: the writer task owns the transport, so the connection closes when it is done.
    let weak: std::sync::Weak<dyn WriteThrough> = Arc::downgrade(&shared) as _;
    if let Mode::Connection(io) = &inner.mode {
        let _ = io.write_through.set(weak);
    }
    // Boxed: the writer's future, which every idle session holds, keeps a pointer only.
    let pings = keepalive.map(|every| {
        let mut pings = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        pings.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        Box::new(pings)
    });
    (
        read_loop(inner.clone(), receiver),
        write_loop(inner.clone(), shared, pings),
    )
}

/// See [`tasks`].
#[cfg(test)]
const TASK_FUTURE_BUDGET: usize = 408;

impl SessionInner {
    /// Writes queued messages from the calling task if the transport can take them at once.
    pub(crate) fn flush_now(&self) {
        let Mode::Connection(io) = &self.mode else {
            return;
        };
        if let Some(w) = io.write_through.get().and_then(std::sync::Weak::upgrade) {
            w.flush_now(self);
        }
    }

    /// The outbox and its sizes, if it holds something to write now and the session is not
    /// closing (closing is the writer's job).
    fn take_outbox_for_write_through(&self) -> Option<(Vec<String>, (usize, usize))> {
        self.with_state(|st, _| {
            (st.must_write() && st.close.is_none()).then(|| self.take_for_writing(st))
        })
    }

    /// Takes the outbox for writing, its bytes still counted as queued (in `writing_bytes`)
    /// until the transport has taken them: [`Self::handed_over`]. Returns the messages and
    /// their sizes (all bytes, answer bytes).
    fn take_for_writing(&self, st: &mut State) -> (Vec<String>, (usize, usize)) {
        let taken = (st.outbox_bytes, st.outbox_answer_bytes);
        if let Mode::Connection(io) = &self.mode {
            io.writing_bytes.fetch_add(taken.0, Ordering::SeqCst);
            io.writing_answer_bytes.fetch_add(taken.1, Ordering::SeqCst);
        }
        (st.take_outbox(), taken)
    }

    /// The transport has taken messages of these sizes (all bytes, answer bytes) out of what
    /// [`Self::take_for_writing`] took: they no longer count as queued, and a paused reader
    /// may resume.
    fn handed_over(&self, (bytes, answer_bytes): (usize, usize)) {
        let Mode::Connection(io) = &self.mode else {
            return;
        };
        io.writing_bytes.fetch_sub(bytes, Ordering::SeqCst);
        io.writing_answer_bytes
            .fetch_sub(answer_bytes, Ordering::SeqCst);
        // SeqCst with the reader's store of `reader_paused` and its later count: either it
        // sees this decrement, or this sees that it paused.
        if io.reader_paused.load(Ordering::SeqCst)
            && self.queued_answer_bytes() <= self.reading_marks.1
        {
            io.resume_reader.notify_one();
        }
    }

    /// Sizes (all bytes, answer bytes) of what was taken from the outbox and the transport
    /// has not taken yet.
    pub(crate) fn bytes_being_written(&self) -> (usize, usize) {
        match &self.mode {
            Mode::Connection(io) => (
                io.writing_bytes.load(Ordering::SeqCst),
                io.writing_answer_bytes.load(Ordering::SeqCst),
            ),
            _ => (0, 0),
        }
    }

    /// Whether the reader should stop reading: more answers than the high-water mark are
    /// queued for the peer.
    fn over_high_water(&self) -> bool {
        self.queued_answer_bytes() > self.reading_marks.0
    }

    /// Waits (the reader, paused) until the queued bytes are down to the low-water mark.
    async fn until_low_water(&self) {
        let Mode::Connection(io) = &self.mode else {
            return;
        };
        io.reader_paused.store(true, Ordering::SeqCst);
        // Everything must go now, the releases that may wait for company included.
        self.send_waiting_releases();
        tracing::debug!(
            target: "capnweb::session",
            session = self.id,
            queued_answer_bytes = self.queued_answer_bytes(),
            "paused reading the peer: too many answers queued for it"
        );
        loop {
            let resumed = io.resume_reader.notified();
            if self.queued_answer_bytes() <= self.reading_marks.1 {
                break;
            }
            resumed.await;
        }
        io.reader_paused.store(false, Ordering::SeqCst);
        tracing::debug!(target: "capnweb::session", session = self.id, "resumed reading the peer");
    }

    /// Has the releases waiting in the outbox written (by the writer task, so that a call the
    /// current task makes next, before it waits, shares their write).
    pub(crate) fn send_waiting_releases(&self) {
        self.releases_requested
            .store(true, std::sync::atomic::Ordering::Release);
        self.wake_writer.notify_one();
    }

    /// Whether this thread is applying a message in this session's reader, which writes what
    /// that queues before it waits again (so nobody needs to wake the writer for it).
    pub(crate) fn reader_will_flush(&self) -> bool {
        APPLYING.get() == std::ptr::from_ref(self) as usize
    }

    /// Everything the writer should send now (counted in `writing_bytes` until handed over),
    /// and whether to close afterwards.
    fn take_outgoing(&self) -> (Vec<String>, Option<CloseRequest>) {
        let requested = self
            .releases_requested
            .swap(false, std::sync::atomic::Ordering::AcqRel);
        self.with_state(|st, _| {
            if requested {
                st.outbox_can_wait = false;
            }
            let close = st.close.take();
            if !st.must_write() && close.is_none() {
                return (Vec::new(), None);
            }
            (self.take_for_writing(st).0, close)
        })
    }
}

/// The sizes (all bytes, answer bytes) of `messages`, as the outbox counted them.
fn sizes(messages: &[String]) -> (usize, usize) {
    messages.iter().fold((0, 0), |(all, answers), m| {
        let answer = if super::outbox::is_answer(m) {
            m.len()
        } else {
            0
        };
        (all + m.len(), answers + answer)
    })
}

/// Reports that the writer has ended, however it ends (a graceful shutdown waits for it to
/// have written the close frame).
struct WriterDone(Arc<SessionInner>);

impl Drop for WriterDone {
    fn drop(&mut self) {
        if let Mode::Connection(io) = &self.0.mode {
            io.writer_done.set(());
        }
    }
}

/// Whether this thread is applying a received message for some session's reader.
pub(crate) fn reader_is_applying() -> bool {
    APPLYING.get() != 0
}

thread_local! {
    /// The session (its address) whose reader is applying a message on this thread, or 0.
    static APPLYING: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Marks the current thread as applying a message of a session's reader, until dropped.
/// (Restores the previous mark: a call delivered by one session's reader may drive another
/// session on the same thread.)
struct Applying(usize);

impl Applying {
    fn enter(inner: &SessionInner) -> Applying {
        Applying(APPLYING.replace(std::ptr::from_ref(inner) as usize))
    }
}

impl Drop for Applying {
    fn drop(&mut self) {
        APPLYING.set(self.0);
    }
}

/// How many messages the reader applies in a row, while more keep arriving, before it writes
/// what they produced (it always writes as soon as nothing is readable).
const FLUSH_EVERY: usize = 32;

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
    if inner.ended.get().is_some() {
        return;
    }
    // One registration for the whole session, not one per message.
    let mut ended = pin!(inner.ended.wait());
    let _drop_waiting = DropWaitingOnExit;
    let mut unflushed = 0usize;
    let mut pause = false;
    loop {
        if pause {
            // Back-pressure (see the module comment). Everything this reader produced has been
            // written or handed to the writer.
            pause = false;
            unflushed = 0;
            tokio::select! {
                biased;
                _ = &mut ended => return Box::pin(drain_until_closed(&inner, &mut receiver)).await,
                () = Box::pin(inner.until_low_water()) => continue,
            }
        }
        let next = async {
            let mut next = pin!(receiver.recv_text());
            if let Some(message) = poll_once(&mut next).await {
                return Some((message, false));
            }
            // Everything readable has been applied: answer it all before waiting. (No
            // `yield_now` for a burst still arriving: on a multi-thread runtime a yield wakes
            // another worker, which costs more than the write it might save.)
            inner.flush_now();
            drop_waiting();
            if inner.over_high_water() {
                // Drops the pending `recv` (receivers are cancel-safe): reading starts afresh
                // once resumed, its keepalive clock too.
                return None;
            }
            Some((next.await, true))
        };
        tokio::select! {
            biased;
            _ = &mut ended => return Box::pin(drain_until_closed(&inner, &mut receiver)).await,
            step = next => {
                let Some((next, flushed)) = step else {
                    pause = true;
                    continue;
                };
                if flushed {
                    unflushed = 0;
                }
                match next {
                    Some(Ok(text)) => {
                        let _applying = Applying::enter(&inner);
                        inner.handle_text(&text);
                        let len = text.len();
                        drop_after_write(text, len);
                        unflushed += 1;
                        if unflushed == FLUSH_EVERY {
                            unflushed = 0;
                            inner.flush_now();
                            drop_waiting();
                            pause = inner.over_high_water();
                        }
                    }
                    // A frame the transport refuses (binary, not UTF-8, too large) breaks the
                    // protocol on a connection that still works: tell the peer why, as capnweb
                    // does for what its transport hands it.
                    Some(Err(e @ RpcError::Protocol { .. })) => return inner.abort(e, true),
                    Some(Err(e)) => return inner.abort(e, false),
                    None => return inner.abort(RpcError::disconnected("the peer closed the connection"), false),
                }
            }
        }
    }
}

/// After the session ended, reads (and discards) what the peer still sends until it closes
/// its side, for at most `CLOSE_FLUSH_TIME`. Dropping a socket with unread input makes the
/// kernel reset the connection, and a reset can make the peer lose what we wrote just before:
/// the last answers, the `abort` message, the close frame. Reading on lets the closing
/// handshake finish instead.
async fn drain_until_closed<R: MessageReceiver>(inner: &SessionInner, receiver: &mut R) {
    let bounded = tokio::time::timeout(super::abort::CLOSE_FLUSH_TIME, async {
        while let Some(Ok(_)) = receiver.recv().await {}
        // The peer closed first: our writer may still be writing its last frames.
        inner.transport_closed().await;
    });
    let _ = bounded.await;
}

/// Waits for the next keepalive ping, or forever without keepalive.
async fn next_ping(pings: &mut Option<Box<tokio::time::Interval>>) {
    match pings {
        Some(pings) => {
            pings.tick().await;
        }
        None => std::future::pending().await,
    }
}

async fn write_loop<S: MessageSender>(
    inner: Arc<SessionInner>,
    shared: Arc<SharedSender<S>>,
    mut pings: Option<Box<tokio::time::Interval>>,
) {
    let _done = WriterDone(inner.clone());
    // Registered once and renewed when it fires, rather than made and dropped every turn.
    let mut wake = pin!(inner.wake_writer.notified());
    loop {
        let ping_due = tokio::select! {
            biased;
            () = &mut wake => false,
            () = next_ping(&mut pings) => true,
        };
        if ping_due {
            // Boxed, like the other rare paths below: every idle session holds this future,
            // and inline they would make it as large as their largest state.
            if Box::pin(send_ping(&inner, &shared)).await.is_err() {
                return;
            }
            continue;
        }
        wake.set(inner.wake_writer.notified());
        let mut slot = shared.lock().await;
        let (batch, close) = inner.take_outgoing();
        let mut all = std::mem::take(&mut slot.leftover);
        all.extend(batch);
        let bytes = sizes(&all);
        // The send is boxed too (one allocation per batch written, not per message): inline,
        // its state would be part of this future's size.
        if (!all.is_empty() || slot.unflushed)
            && let Err(e) = Box::pin(slot.sender.send(all)).await
        {
            drop(slot);
            return Box::pin(abort_after_failed_write(&inner, e)).await;
        }
        slot.unflushed = false;
        inner.handed_over(bytes);
        if let Some(close) = close {
            return Box::pin(send_close(&mut slot.sender, close)).await;
        }
    }
}

/// Pings the peer (keepalive); `Err` once the session is aborted because that failed.
async fn send_ping<S: MessageSender>(
    inner: &SessionInner,
    shared: &SharedSender<S>,
) -> Result<(), ()> {
    let mut slot = shared.lock().await;
    if let Err(e) = slot.sender.ping().await {
        drop(slot);
        inner.abort(e, false);
        return Err(());
    }
    Ok(())
}

/// Ends the session after a write failed with `e`.
async fn abort_after_failed_write(inner: &SessionInner, e: RpcError) {
    // The peer may already have told us why it left (an `abort` still queued on our
    // receiving side): give the reader a moment to report that reason first.
    let reader_reported = inner.ended.wait();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(1), reader_reported).await;
    inner.abort(e, false);
}

/// Sends the `abort` message, if any, and closes the transport.
async fn send_close<S: MessageSender>(sender: &mut S, close: CloseRequest) {
    if let Some(abort) = close.abort_message {
        let _ = sender.send(vec![abort]).await;
    }
    sender.close(close.info).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Guards the idle session's memory (benchmark scenario g): a field or an inline state
    /// added to the reader or the writer can push its task into the next 128-byte size.
    #[tokio::test]
    async fn websocket_session_tasks_fit_their_budget() {
        use tokio_tungstenite::WebSocketStream;
        use tokio_tungstenite::tungstenite::protocol::Role;

        let (socket, _peer) = tokio::io::duplex(64);
        let ws = WebSocketStream::from_raw_socket(socket, Role::Server, None).await;
        let transport = crate::transport::websocket::WebSocketTransport::new(ws)
            .keepalive(std::time::Duration::from_secs(15));
        let inner = SessionInner::new(
            None,
            &crate::SessionOptions::default(),
            Mode::Connection(ConnectionIo::default()),
        );
        let (reader, writer) = tasks(&inner, transport);
        assert!(
            std::mem::size_of_val(&reader) <= TASK_FUTURE_BUDGET,
            "reader: {} bytes",
            std::mem::size_of_val(&reader)
        );
        assert!(
            std::mem::size_of_val(&writer) <= TASK_FUTURE_BUDGET,
            "writer: {} bytes",
            std::mem::size_of_val(&writer)
        );
    }
}
