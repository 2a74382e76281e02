//! [`LocalPromise`]: a result being computed on this side, with calls queued in order until it
//! settles.

use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::task::Poll;

use crate::active::Active;
use crate::error::RpcError;
use crate::hook::{Hook, PullFuture};
use crate::value::PropertyKey;
use crate::wait_list::WaitList;
use crate::wire::Args;

/// A pipelined operation waiting for the promise to settle.
enum Op {
    Call(Vec<PropertyKey>, Args),
    Get(Vec<PropertyKey>),
}

struct Queued {
    op: Op,
    result: Arc<LocalPromise>,
}

enum State {
    /// Not settled: operations queue up, pullers wait.
    Pending {
        queue: Vec<Queued>,
        waiters: WaitList,
        /// Counts this promise among its session's calls in flight until it settles.
        in_flight: Option<Active>,
    },
    /// Settled, but queued operations are still being delivered; new ones keep queuing so they
    /// cannot overtake (E-order).
    Draining { hook: Hook, queue: Vec<Queued> },
    /// Settled and drained: operations go straight to the resolution.
    Resolved(Hook),
}

/// A promise settled by local code (a running target call, a substitution, a forwarded call).
pub(crate) struct LocalPromise {
    state: Mutex<State>,
    /// For the result of an operation queued on another promise: that promise. A promise
    /// resolved to one of its own descendants would forward to itself without end (a peer can
    /// send exactly that: a promise resolved to a property of itself), so `resolve` follows
    /// these links to refuse it, as JavaScript refuses a chaining cycle.
    parent: Option<Weak<LocalPromise>>,
}

/// How far `resolve` follows parent links: deeper than any pipeline an application writes.
const MAX_ANCESTRY: usize = 100_000;

impl LocalPromise {
    pub(crate) fn new() -> Arc<LocalPromise> {
        LocalPromise::with_parent(None)
    }

    fn with_parent(parent: Option<Weak<LocalPromise>>) -> Arc<LocalPromise> {
        Arc::new(LocalPromise {
            state: Mutex::new(State::Pending {
                queue: Vec::new(),
                waiters: WaitList::default(),
                in_flight: None,
            }),
            parent,
        })
    }

    /// Whether `hook` is this promise or a result derived from it (an operation queued on it,
    /// or on such a result).
    fn is_derived(&self, hook: &Hook) -> bool {
        let Hook::Local(mut next) = hook.clone() else {
            return false;
        };
        for _ in 0..MAX_ANCESTRY {
            if std::ptr::eq(Arc::as_ptr(&next), self) {
                return true;
            }
            match next.parent.as_ref().and_then(Weak::upgrade) {
                Some(parent) => next = parent,
                None => return false,
            }
        }
        false
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Settles the promise with `hook` (which may itself be another promise) and delivers the
    /// queued operations in the order they were made. Settling twice keeps the first outcome.
    pub(crate) fn resolve(&self, hook: Hook) {
        let hook = if self.is_derived(&hook) {
            Hook::error(RpcError::type_error(
                "Chaining cycle detected for promise: it was resolved to a result derived from itself",
            ))
        } else {
            hook
        };
        let (mut queue, waiters, in_flight) = {
            let mut st = self.lock();
            match &mut *st {
                State::Pending {
                    queue,
                    waiters,
                    in_flight,
                } => {
                    let queue = std::mem::take(queue);
                    let waiters = std::mem::take(waiters);
                    let in_flight = in_flight.take();
                    *st = State::Draining {
                        hook: hook.clone(),
                        queue: Vec::new(),
                    };
                    (queue, waiters, in_flight)
                }
                _ => return,
            }
        };
        // Settled with another promise (a call that suspended on a task of its own): the call
        // is still in flight until that one settles.
        if let (Some(active), Hook::Local(next)) = (in_flight, &hook) {
            next.count_in_flight(active);
        }
        waiters.into_wakers().for_each(std::task::Waker::wake);
        loop {
            for q in queue.drain(..) {
                let result = match &q.op {
                    Op::Call(path, args) => hook.call(path, args.clone()),
                    Op::Get(path) => hook.get(path),
                };
                q.result.resolve(result);
            }
            let mut st = self.lock();
            match &mut *st {
                State::Draining { queue: more, .. } if !more.is_empty() => {
                    queue = std::mem::take(more);
                }
                _ => {
                    *st = State::Resolved(hook);
                    return;
                }
            }
        }
    }

    /// Counts this promise as a call in flight (holding `active`) until it settles; if it has
    /// settled already, `active` is dropped at once.
    pub(crate) fn count_in_flight(&self, active: Active) {
        if let State::Pending { in_flight, .. } = &mut *self.lock() {
            *in_flight = Some(active);
        }
    }

    fn enqueue(self: &Arc<Self>, op: Op) -> Result<Hook, (Hook, Op)> {
        let mut st = self.lock();
        match &mut *st {
            State::Pending { queue, .. } | State::Draining { queue, .. } => {
                let result = LocalPromise::with_parent(Some(Arc::downgrade(self)));
                queue.push(Queued {
                    op,
                    result: result.clone(),
                });
                Ok(Hook::Local(result))
            }
            State::Resolved(hook) => Err((hook.clone(), op)),
        }
    }

    pub(crate) fn call(self: &Arc<Self>, path: &[PropertyKey], args: Args) -> Hook {
        match self.enqueue(Op::Call(path.to_vec(), args)) {
            Ok(h) => h,
            Err((hook, Op::Call(path, args))) => hook.call(&path, args),
            Err((hook, Op::Get(path))) => hook.get(&path),
        }
    }

    pub(crate) fn get(self: &Arc<Self>, path: &[PropertyKey]) -> Hook {
        match self.enqueue(Op::Get(path.to_vec())) {
            Ok(h) => h,
            Err((hook, Op::Get(path))) => hook.get(&path),
            Err((hook, Op::Call(path, args))) => hook.call(&path, args),
        }
    }

    /// The settled hook, if any.
    pub(crate) fn settled(&self) -> Option<Hook> {
        match &*self.lock() {
            State::Pending { .. } => None,
            State::Draining { hook, .. } | State::Resolved(hook) => Some(hook.clone()),
        }
    }

    pub(crate) fn pull(self: &Arc<Self>) -> PullFuture {
        let this = self.clone();
        Box::pin(async move {
            // Holding the promise, this waits until it settles: nothing else can drop it.
            let hook = Settled {
                promise: &this,
                token: None,
            }
            .await;
            match hook.pull_now() {
                Ok(ready) => ready,
                Err(_) => hook.pull().await,
            }
        })
    }
}

/// Waits until a local promise has settled and yields its resolution (its waker listed in the
/// promise's [`WaitList`] meanwhile; taken off if dropped first).
struct Settled<'a> {
    promise: &'a LocalPromise,
    token: Option<u64>,
}

impl std::future::Future for Settled<'_> {
    type Output = Hook;

    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<Hook> {
        let this = &mut *self;
        let mut st = this.promise.lock();
        match &mut *st {
            State::Pending { waiters, .. } => {
                waiters.register(&mut this.token, cx.waker());
                Poll::Pending
            }
            State::Draining { hook, .. } | State::Resolved(hook) => {
                this.token = None;
                Poll::Ready(hook.clone())
            }
        }
    }
}

impl Drop for Settled<'_> {
    fn drop(&mut self) {
        if let Some(token) = self.token
            && let State::Pending { waiters, .. } = &mut *self.promise.lock()
        {
            waiters.remove(token);
        }
    }
}

impl Drop for LocalPromise {
    fn drop(&mut self) {
        // Operations still queued on a promise nobody will settle must not hang their callers.
        // (Taken in place: a settled promise, the common case, allocates nothing here.)
        let state = self.state.get_mut().unwrap_or_else(|e| e.into_inner());
        if let State::Pending { queue, .. } = state {
            for q in std::mem::take(queue) {
                q.result.resolve(Hook::error(RpcError::Capability(
                    "the promise was dropped before it settled".into(),
                )));
            }
        }
    }
}
