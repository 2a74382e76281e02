//! Running user code: delivering a call to a target, detached tasks, and containing panics.
//!
//! A panic in a target method is the Rust form of a JavaScript `throw`: it rejects that call
//! (with an error that names the method) and nothing else. Without containment a panic in the
//! first poll would unwind through the session's reader and leave the caller waiting forever;
//! one on a detached task would leave its promise unsettled. So every place that runs user code
//! or owes a settlement goes through this module.

use std::any::Any;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll, Waker};

use futures_util::FutureExt;
use tokio::sync::Notify;
use tracing::Instrument;

use crate::error::RpcError;
use crate::hook::{Hook, PullFuture};
use crate::local_promise::LocalPromise;
use crate::target::Answer;

/// What a delivered future is, for the error a panic turns into.
#[derive(Clone, Copy, Debug)]
pub(crate) enum CallSite<'a> {
    /// A method call.
    Method(&'a str),
    /// A property read (a getter).
    Property(&'a str),
    /// Invoking the object itself as a function.
    Invoke,
    /// Replaying a `.map()` program.
    Map,
}

impl std::fmt::Display for CallSite<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallSite::Method(name) => write!(f, "the method '{name}'"),
            CallSite::Property(name) => write!(f, "the property getter '{name}'"),
            CallSite::Invoke => f.write_str("the function"),
            CallSite::Map => f.write_str("the .map() callback"),
        }
    }
}

/// The error a call rejects with when `site` panicked with `payload`.
pub(crate) fn panic_error(site: impl std::fmt::Display, payload: &(dyn Any + Send)) -> RpcError {
    let detail = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str));
    let message = match detail {
        Some(detail) => format!("{site} panicked: {detail}"),
        None => format!("{site} panicked"),
    };
    tracing::error!("capnweb: {message}");
    RpcError::new("Error", message)
}

/// Runs a target's future the way JavaScript delivers a call: synchronously up to its first
/// suspension, so calls start in arrival order (E-order). Only a future that actually suspends
/// gets a task of its own. `start` makes the future (a target's own code runs there too); a
/// panic in it, in the first poll or on the task rejects the call instead of unwinding.
pub(crate) fn deliver<A: Into<Answer>>(site: CallSite<'_>, start: impl FnOnce() -> A) -> Hook {
    let first = catch_unwind(AssertUnwindSafe(|| {
        let mut fut = start().into();
        let mut cx = Context::from_waker(Waker::noop());
        match fut.poll(&mut cx) {
            Poll::Ready(result) => Ok(result),
            Poll::Pending => Err(fut),
        }
    }));
    match first {
        Ok(Ok(result)) => Hook::from_result(result),
        Ok(Err(mut fut)) => {
            let cell = LocalPromise::new();
            // A method that runs for a session's peer may be given a time limit.
            let limit = current_scope().and_then(|scope| scope.method_time_limit);
            let message = limit.map(|limit| format!("{site} took longer than {limit:?}"));
            let site = site.to_string();
            // The first poll above used a no-op waker; polling again on the task registers the
            // task's real waker, as the Future contract allows.
            spawn_settling(cell.clone(), site, async move {
                let run = std::future::poll_fn(|cx| fut.poll(cx));
                match (limit, message) {
                    (Some(limit), Some(message)) => match tokio::time::timeout(limit, run).await {
                        Ok(result) => Hook::from_result(result),
                        Err(_) => Hook::error(RpcError::new("TimeoutError", message)),
                    },
                    _ => Hook::from_result(run.await),
                }
            });
            Hook::Local(cell)
        }
        Err(payload) => Hook::error(panic_error(site, &*payload)),
    }
}

/// Settles `cell` with what `fut` produces, on a task of its own. If `fut` panics, `cell`
/// rejects with an error naming `site`; if the task never finishes (no runtime, or the runtime
/// shut down first), it rejects with an error saying so. Either way nobody waits forever.
pub(crate) fn spawn_settling(
    cell: Arc<LocalPromise>,
    site: String,
    fut: impl Future<Output = Hook> + Send + 'static,
) {
    let guard = SettleOnDrop::new(cell, site);
    spawn_detached(async move {
        let outcome = AssertUnwindSafe(fut).catch_unwind().await;
        let hook = match outcome {
            Ok(hook) => hook,
            Err(payload) => Hook::error(panic_error(&guard.site, &*payload)),
        };
        guard.cell.resolve(hook);
    });
}

/// Rejects a promise whose settling task was dropped unfinished. (Settling twice keeps the
/// first outcome, so after a normal finish this does nothing.)
pub(crate) struct SettleOnDrop {
    cell: Arc<LocalPromise>,
    site: String,
    /// The session the work was for, which may have cancelled it.
    scope: Option<Arc<CallScope>>,
}

impl SettleOnDrop {
    /// A guard for `cell`, settled by work for the current scope's session.
    pub(crate) fn new(cell: Arc<LocalPromise>, site: String) -> Self {
        SettleOnDrop {
            cell,
            site,
            scope: current_scope(),
        }
    }

    /// Settles the promise with the work's outcome.
    pub(crate) fn settle(self, hook: Hook) {
        self.cell.resolve(hook);
    }
}

impl Drop for SettleOnDrop {
    fn drop(&mut self) {
        let error = match self.scope.as_ref().and_then(|scope| scope.reason.get()) {
            Some(reason) => RpcError::new(
                "Error",
                format!("{} was cancelled: its session ended ({reason})", self.site),
            ),
            None => unfinished_error(&self.site),
        };
        self.cell.resolve(Hook::error(error));
    }
}

/// The error for work whose task was dropped before it finished.
pub(crate) fn unfinished_error(site: &str) -> RpcError {
    RpcError::new(
        "Error",
        format!("{site} did not finish: its task was dropped (no tokio runtime, or it shut down)"),
    )
}

/// Spawns a background task on the current tokio runtime. Outside a runtime there is nothing
/// to drive the future: it is dropped at once, and the guards it owns report that.
///
/// Work spawned for a session (inside [`in_scope`], or from a task that was) is cancelled when
/// that session ends: its future is dropped, so a call still running for a peer that is gone
/// stops instead of running on unobserved, and the server's tasks end with its sessions.
pub(crate) fn spawn_detached(fut: impl Future<Output = ()> + Send + 'static) {
    // A task started inside a traced call stays in that call's span.
    let fut = fut.instrument(tracing::Span::current());
    let Ok(handle) = tokio::runtime::Handle::try_current() else {
        tracing::error!("capnweb: a call needs a tokio runtime to run on; none is active");
        return;
    };
    match current_scope() {
        None => {
            handle.spawn(fut);
        }
        Some(scope) => {
            handle.spawn(async move {
                let cancelled = scope.cancelled();
                let mut cancelled = std::pin::pin!(cancelled);
                let mut fut = std::pin::pin!(fut);
                std::future::poll_fn(|cx| {
                    if cancelled.as_mut().poll(cx).is_ready() {
                        return Poll::Ready(());
                    }
                    // Spawns made while polling belong to the same session.
                    in_scope(&scope, || fut.as_mut().poll(cx))
                })
                .await;
            });
        }
    }
}

/// The calls and settlements a session started on tasks of their own; cancelled when the
/// session ends.
pub(crate) struct CallScope {
    /// Why the session ended, once it has.
    reason: OnceLock<RpcError>,
    ended: Notify,
    /// How long a method may run for one of the peer's calls (`SessionOptions`).
    method_time_limit: Option<std::time::Duration>,
    /// Calls waiting for promise arguments, by target.
    pub(crate) lanes: Arc<crate::lanes::Lanes>,
}

impl CallScope {
    pub(crate) fn new(method_time_limit: Option<std::time::Duration>) -> Arc<CallScope> {
        Arc::new(CallScope {
            reason: OnceLock::new(),
            ended: Notify::new(),
            method_time_limit,
            lanes: Arc::default(),
        })
    }

    /// Cancels every task of the scope (once; later reasons are ignored).
    pub(crate) fn cancel(&self, reason: RpcError) {
        if self.reason.set(reason).is_ok() {
            self.ended.notify_waiters();
        }
    }

    async fn cancelled(&self) {
        loop {
            let notified = self.ended.notified();
            let mut notified = std::pin::pin!(notified);
            notified.as_mut().enable();
            if self.reason.get().is_some() {
                return;
            }
            notified.await;
        }
    }
}

thread_local! {
    /// The scope that tasks spawned on this thread right now belong to.
    static SCOPE: std::cell::RefCell<Option<Arc<CallScope>>> = const { std::cell::RefCell::new(None) };
}

/// Runs `f` with `scope` as the scope of the tasks it spawns (restoring the previous one: a
/// call delivered by one session may drive another).
pub(crate) fn in_scope<R>(scope: &Arc<CallScope>, f: impl FnOnce() -> R) -> R {
    struct Restore(Option<Arc<CallScope>>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let previous = self.0.take();
            SCOPE.with(|s| *s.borrow_mut() = previous);
        }
    }
    let previous = SCOPE.with(|s| s.borrow_mut().replace(scope.clone()));
    let _restore = Restore(previous);
    f()
}

pub(crate) fn current_scope() -> Option<Arc<CallScope>> {
    SCOPE.with(|s| s.borrow().clone())
}

/// `pull`, failing with [`RpcError::Timeout`] once `limit` has passed. The pull is dropped
/// then, which releases a result nobody else holds.
pub(crate) fn with_timeout(pull: PullFuture, limit: std::time::Duration) -> PullFuture {
    Box::pin(async move {
        tokio::time::timeout(limit, pull)
            .await
            .unwrap_or(Err(RpcError::Timeout))
    })
}

/// A message in a trace: its first 200 characters, so that a large value does not flood the
/// log (the rest is counted, not shown).
pub(crate) struct Shortened<'a>(pub(crate) &'a str);

impl std::fmt::Display for Shortened<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        const SHOWN: usize = 200;
        match self.0.char_indices().nth(SHOWN) {
            None => f.write_str(self.0),
            Some((end, _)) => write!(f, "{}... ({} bytes)", &self.0[..end], self.0.len()),
        }
    }
}

/// Runs user code that returns nothing (a `Drop`, an `on_broken` callback) where a panic must
/// not unwind into the engine; the panic is logged and otherwise ignored, as an exception in a
/// JavaScript event listener is.
pub(crate) fn run_contained(what: &str, f: impl FnOnce()) {
    if let Err(payload) = catch_unwind(AssertUnwindSafe(f)) {
        panic_error(what, &*payload);
    }
}

/// Runs `future` to completion on a task of its own, even if what awaits it is cancelled.
///
/// A session that ends cancels the calls still running for it (their futures are dropped), and
/// `SessionOptions::method_time_limit` drops a method that runs too long. That is right for
/// most methods: nobody is left to read the answer. A method whose work must finish anyway (a
/// payment that was already sent on, a write that must not stop half-way) wraps that work in
/// `run_to_completion`, or is marked `#[rpc(run_to_completion)]` in its `#[rpc_interface]`
/// trait. Its answer is still dropped when nobody waits for it. A panic in `future` surfaces
/// where it is awaited (for a method: its call rejects). Needs a tokio runtime.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let total = capnweb_runtime::run_to_completion(async { 40 + 2 }).await;
/// assert_eq!(total, 42);
/// # }
/// ```
pub fn run_to_completion<F>(future: F) -> impl Future<Output = F::Output> + Send + 'static
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    // A plain tokio task belongs to no session's scope, so nothing cancels it.
    let task = tokio::spawn(future.instrument(tracing::Span::current()));
    async move {
        match task.await {
            Ok(output) => output,
            Err(error) => match error.try_into_panic() {
                Ok(payload) => std::panic::resume_unwind(payload),
                Err(_) => panic!("a run_to_completion task was cancelled: its runtime shut down"),
            },
        }
    }
}
