//! The client end of an HTTP batch, independent of any HTTP library.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;

use crate::error::RpcError;
use crate::session::{Mode, SessionInner, SessionOptions, SessionStats};
use crate::stub::Stub;

/// The future that carries one batch request: resolves to the response body (messages joined by
/// `\n`), or to the error every call of the batch should fail with.
type BatchFuture = Pin<Box<dyn Future<Output = Result<String, RpcError>> + Send + 'static>>;

type SendFn = Box<dyn FnOnce(String) -> BatchFuture + Send + 'static>;

/// How often an idle, unsent batch checks whether the application dropped every handle to it.
/// Dropping the main stub wakes nothing in the engine, so this is the backstop.
const ABANDON_CHECK: Duration = Duration::from_millis(500);

/// How many times the batch yields to the runtime, after the first result is awaited, while
/// other tasks keep queueing messages.
const MAX_SETTLE_ROUNDS: usize = 16;

/// The client end of one HTTP batch: a short-lived session whose messages all travel in one
/// request.
///
/// Make calls on [`BatchSession::main`] (pipelining as deep as you like: pipelined calls, property
/// reads and promises passed as arguments all go into the batch), then await results. The batch
/// request goes out exactly once:
///
/// - when the application first **awaits a result** of the batch. The batch waits for the
///   awaiting task to yield to the runtime first, so everything the task queued before it
///   blocked goes in, including the calls of all futures polled together (`tokio::join!`,
///   `futures::join_all`), on any runtime;
/// - or when [`BatchSession::send`] is polled (with [`set_auto_send(false)`], the only
///   trigger while you hold the batch; see below);
/// - or, if nothing was awaited or sent, once every handle (this value, its clones, and every
///   stub and promise of the batch) has been dropped: queued fire-and-forget calls still go
///   out, as in capnweb.
///
/// Each result is delivered as soon as its answer has been applied; `send()` resolves once the
/// whole response has been. Then the session ends: every call it did not answer fails
/// with [`RpcError::BatchEnded`] (`"Batch RPC request ended."`), and so does every call made
/// afterwards, on any stub from this batch, at once. Calls made while the request is in flight
/// missed it and fail the same way when it ends. A failed request (connection error, non-2xx
/// status) fails every call with `BatchEnded("RPC request failed: <status> <statusText>")`.
///
/// Calls queued concurrently by *other* tasks (on other workers of a multi-thread runtime) can
/// miss the batch (they then fail with `BatchEnded`, never silently). To decide exactly when
/// the batch goes out, turn the automatic send off and poll [`send`](BatchSession::send) last,
/// after the awaits that should be in it:
///
/// ```no_run
/// # async fn example(batch: capnweb_runtime::batch::BatchSession) {
/// batch.set_auto_send(false);
/// let api = batch.main();
/// let (sum, pong, sent) = tokio::join!(
///     api.call("add", (2, 3)),
///     api.call("ping", ()),
///     batch.send(),
/// );
/// # }
/// ```
///
/// Needs a tokio runtime. With the `http` feature, `capnweb_runtime::http::batch_session`
/// makes one that POSTs to a URL.
///
/// ```no_run
/// # use capnweb_runtime::{RpcError, batch::BatchSession};
/// # async fn example(batch: BatchSession) -> Result<(), RpcError> {
/// // let batch = capnweb_runtime::http::batch_session("http://127.0.0.1:8080/rpc")?;
/// let api = batch.main();
/// let user = api.call("users", ()).call("get", (1,));
/// let (name, sum) = tokio::join!(
///     user.get("name").typed::<String>(),
///     api.call("add", (2, 3)).typed::<f64>(),
/// );
/// // One POST carried all four calls and both pulls.
/// println!("{} {}", name?, sum?);
/// # Ok(()) }
/// ```
///
/// [`set_auto_send(false)`]: BatchSession::set_auto_send
#[derive(Clone)]
pub struct BatchSession {
    shared: Arc<Shared>,
}

struct Shared {
    inner: Arc<SessionInner>,
    /// Taken when the request starts: the batch is sent at most once.
    sender: Mutex<Option<SendFn>>,
    /// The outcome of the request, once the response has been applied.
    outcome: watch::Sender<Option<Result<(), RpcError>>>,
    /// Whether the first awaited result sends the batch.
    auto_send: AtomicBool,
}

impl BatchSession {
    /// A batch whose request is carried by `send`: it gets the request body and returns the
    /// response body (or the error every call should fail with). Use this to batch over an HTTP
    /// client of your own, or to add headers, logging or retries around
    /// `capnweb_runtime::http::BatchClient::post`.
    pub fn new<F, Fut>(send: F, options: SessionOptions) -> BatchSession
    where
        F: FnOnce(String) -> Fut + Send + 'static,
        Fut: Future<Output = Result<String, RpcError>> + Send + 'static,
    {
        let send: SendFn = Box::new(move |body| Box::pin(send(body)));
        let inner = SessionInner::new(None, &options, Mode::batch_client());
        let shared = Arc::new(Shared {
            inner,
            sender: Mutex::new(Some(send)),
            outcome: watch::Sender::new(None),
            auto_send: AtomicBool::new(true),
        });
        tokio::spawn(drive(shared.clone()));
        BatchSession { shared }
    }

    /// The server's main object. Calls on it (and on everything derived from it) are queued
    /// into the batch.
    pub fn main(&self) -> Stub {
        Stub::from_hook(self.shared.inner.peer_main())
    }

    /// Sends the batch now, if it has not gone out yet, and waits until its response has been
    /// applied: afterwards every call of the batch is settled. `Err` if the request failed (the
    /// error every call of the batch failed with). Calling it again returns the same outcome.
    pub async fn send(&self) -> Result<(), RpcError> {
        self.shared.start();
        let mut outcome = self.shared.outcome.subscribe();
        let settled = outcome.wait_for(Option::is_some).await;
        match settled.as_deref() {
            Ok(Some(result)) => result.clone(),
            // The sender lives in `shared`, which we hold: the channel cannot close.
            _ => Err(RpcError::BatchEnded(super::BATCH_ENDED_MESSAGE.into())),
        }
    }

    /// Whether awaiting a result sends the batch (the default). With `false`, the batch goes
    /// out only when [`send`](BatchSession::send) is polled (or, with fire-and-forget calls
    /// queued, once it is abandoned): awaiting a result before that waits for the send.
    pub fn set_auto_send(&self, enabled: bool) {
        self.shared.auto_send.store(enabled, Ordering::SeqCst);
        self.shared.inner.wake_writer.notify_one();
    }

    /// Whether the request has gone out (or the batch ended without one).
    pub fn is_sent(&self) -> bool {
        self.shared.started()
    }

    /// Whether the response has been applied and the session has ended.
    pub fn is_ended(&self) -> bool {
        self.shared.outcome.borrow().is_some()
    }

    /// Current table sizes of the client session. After the batch has ended they are empty:
    /// every import was settled or failed, every export dropped.
    pub fn stats(&self) -> SessionStats {
        self.shared.inner.stats()
    }
}

impl Drop for BatchSession {
    fn drop(&mut self) {
        // Let the driver check whether this was the last handle of an unsent batch.
        self.shared.inner.wake_writer.notify_one();
    }
}

impl Shared {
    fn started(&self) -> bool {
        self.sender
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_none()
    }

    /// Sends the queued messages as the batch request, once.
    fn start(self: &Arc<Self>) {
        let Some(send) = self.sender.lock().unwrap_or_else(|e| e.into_inner()).take() else {
            return;
        };
        let body = self.inner.take_outbox().join("\n");
        // The request runs in its own task so that a caller dropping `send()` (or the awaiting
        // future) cannot leave the batch half done.
        let finish = FinishOnDrop(Some(self.clone()));
        tokio::spawn(async move {
            let response = send(body).await;
            finish.finish(response);
        });
        self.inner.wake_writer.notify_one();
    }

    /// Ends a batch that was never sent and has nothing queued: no request is needed.
    fn end_unsent(self: &Arc<Self>) {
        if self
            .sender
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
            .is_some()
        {
            FinishOnDrop(Some(self.clone())).finish(Ok(String::new()));
        }
    }

    /// Whether nobody but the driver can reach the batch any more.
    fn abandoned(self: &Arc<Self>) -> bool {
        Arc::strong_count(self) == 1 && Arc::strong_count(&self.inner) == 1
    }
}

/// Applies the response once; if the request task dies before that (a panicking custom sender,
/// runtime shutdown), the batch still ends and nothing waits forever.
struct FinishOnDrop(Option<Arc<Shared>>);

impl FinishOnDrop {
    fn finish(mut self, response: Result<String, RpcError>) {
        if let Some(shared) = self.0.take() {
            let outcome = match response {
                // An empty body holds no messages.
                Ok(body) => {
                    shared
                        .inner
                        .finish_batch(body.split('\n').filter(|_| !body.is_empty()));
                    Ok(())
                }
                Err(reason) => {
                    shared.inner.fail_batch(reason.clone());
                    Err(reason)
                }
            };
            shared.outcome.send_replace(Some(outcome));
        }
    }
}

impl Drop for FinishOnDrop {
    fn drop(&mut self) {
        if let Some(shared) = self.0.take() {
            FinishOnDrop(Some(shared)).finish(Err(RpcError::BatchEnded(
                "the batch request was abandoned before it finished".into(),
            )));
        }
    }
}

/// Sends the batch once the application awaits a result, or ends it once it is abandoned.
async fn drive(shared: Arc<Shared>) {
    loop {
        if shared.started() {
            return;
        }
        let queued = shared.inner.queued();
        let awaited = shared.inner.awaited();
        if awaited && shared.auto_send.load(Ordering::SeqCst) {
            let_awaiting_task_finish(&shared.inner, queued).await;
            shared.start();
            return;
        }
        if shared.abandoned() {
            if queued > 0 {
                shared.start();
            } else {
                shared.end_unsent();
            }
            return;
        }
        tokio::select! {
            _ = shared.inner.wake_writer.notified() => {}
            _ = tokio::time::sleep(ABANDON_CHECK) => {}
        }
    }
}

/// Yields until the outbox stops growing, so messages other tasks are queueing right now make it
/// into the batch (the awaiting task's own pass is complete already, see `announce_await`).
async fn let_awaiting_task_finish(inner: &SessionInner, mut queued: usize) {
    for _ in 0..MAX_SETTLE_ROUNDS {
        tokio::task::yield_now().await;
        let now = inner.queued();
        if now == queued {
            return;
        }
        queued = now;
    }
}
