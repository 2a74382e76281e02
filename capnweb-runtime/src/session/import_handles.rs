//! Handles to what the peer hosts: settled capabilities ([`ImportedCap`]) and results still to
//! come ([`RemotePromise`]).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};

use super::{DroppedImport, Mode, SessionInner};
use crate::error::RpcError;
use crate::hook::{Hook, PullFuture};
use crate::value::PropertyKey;
use crate::wait_list::WaitList;
use crate::wire::Args;

/// How long a chain of promises, each resolved to the next, may be: far more than any
/// application builds, and a bound on the recursion that following one costs.
const MAX_CHAIN: usize = 256;

/// A capability the peer hosts: our import `id`. The last handle's drop releases it.
pub(crate) struct ImportedCap {
    pub(crate) session: Arc<SessionInner>,
    pub(crate) id: i64,
}

impl ImportedCap {
    pub(crate) fn id(&self) -> i64 {
        self.id
    }

    pub(crate) fn call(&self, path: &[PropertyKey], args: Args) -> Hook {
        let session = &self.session;
        session.with_state(|st, fx| st.send_push(session, fx, self.id, path, Some(args)))
    }

    pub(crate) fn get(&self, path: &[PropertyKey]) -> Hook {
        let session = &self.session;
        session.with_state(|st, fx| st.send_push(session, fx, self.id, path, None))
    }
}

impl Drop for ImportedCap {
    fn drop(&mut self) {
        // The peer's main object is never released (capnweb closes the session instead).
        if self.id != 0 {
            self.session.queue_drop(DroppedImport {
                id: self.id,
                ptr: self as *const _ as usize,
            });
        }
    }
}

pub(crate) enum RemoteState {
    /// Not settled yet. `pulled`: we asked for (or will get unasked) the settlement.
    Pending { pulled: bool, waiters: WaitList },
    /// Settled; further operations go to the resolution.
    Resolved(Hook),
}

/// A result the peer will settle: our push `id` (positive) or a `["promise", id]` it sent.
pub(crate) struct RemotePromise {
    pub(crate) session: Arc<SessionInner>,
    pub(crate) id: i64,
    pub(crate) state: Mutex<RemoteState>,
    /// Whether calls were pipelined through the peer on this promise (then a resolution on our
    /// own side needs an embargo; see `embargo.rs`).
    pipelined: AtomicBool,
    /// The longest chain of settled promises that leads into this one (each resolved to the
    /// next): following a chain recurses, so [`checked_resolution`](Self::checked_resolution)
    /// keeps every chain within [`MAX_CHAIN`].
    chain_depth: AtomicUsize,
}

impl RemotePromise {
    pub(crate) fn new(session: Arc<SessionInner>, id: i64, pulled: bool) -> Arc<RemotePromise> {
        Arc::new(RemotePromise {
            session,
            id,
            state: Mutex::new(RemoteState::Pending {
                pulled,
                waiters: WaitList::default(),
            }),
            pipelined: AtomicBool::new(false),
            chain_depth: AtomicUsize::new(0),
        })
    }

    pub(crate) fn id(&self) -> i64 {
        self.id
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, RemoteState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The resolution, if the peer has settled this promise.
    pub(crate) fn settled(&self) -> Option<Hook> {
        match &*self.lock() {
            RemoteState::Resolved(h) => Some(h.clone()),
            RemoteState::Pending { .. } => None,
        }
    }

    /// `hook`, or an error when settling this promise with it would make a chain of settled
    /// promises that leads back to this one (JavaScript's "chaining cycle": a peer can resolve
    /// a promise to our export of that same promise) or that is longer than [`MAX_CHAIN`] (a
    /// peer can resolve each of its promises to a new one, without end). Using, pulling or
    /// dropping a settled promise follows its chain recursively, so neither may exist.
    ///
    /// Walks the settled chain `hook` leads into (at most [`MAX_CHAIN`] steps), raising the
    /// depth recorded on each promise of ours it passes: the chain before this promise plus
    /// the steps after it.
    pub(crate) fn checked_resolution(&self, hook: Hook) -> Hook {
        // Nearly every settlement is a value or a capability: nothing to walk.
        if !matches!(hook, Hook::Remote(_) | Hook::Local(_)) {
            return hook;
        }
        let mut depth = self.chain_depth.load(Ordering::Relaxed);
        let mut next = Some(hook.clone());
        loop {
            depth += 1;
            if depth > MAX_CHAIN {
                return Hook::error(RpcError::type_error(format!(
                    "a promise was resolved to a chain of more than {MAX_CHAIN} promises"
                )));
            }
            next = match &next {
                Some(Hook::Remote(p)) if std::ptr::eq(Arc::as_ptr(p), self) => {
                    return Hook::error(RpcError::type_error(
                        "Chaining cycle detected for promise: it was resolved to itself",
                    ));
                }
                Some(Hook::Remote(p)) => {
                    p.chain_depth.fetch_max(depth, Ordering::Relaxed);
                    p.settled()
                }
                Some(Hook::Local(p)) => p.settled(),
                _ => return hook,
            };
        }
    }

    fn pipeline(&self, path: &[PropertyKey], args: Option<Args>) -> Hook {
        let session = &self.session;
        let outcome = session.with_state(|st, fx| {
            // Lock order: session state, then promise state.
            let resolved = self.settled();
            match resolved {
                None => {
                    self.pipelined.store(true, Ordering::Relaxed);
                    Ok(st.send_push(session, fx, self.id, path, args))
                }
                Some(hook) => Err((hook, args)),
            }
        });
        match outcome {
            Ok(hook) => hook,
            Err((hook, Some(args))) => hook.call(path, args),
            Err((hook, None)) => hook.get(path),
        }
    }

    pub(crate) fn call(&self, path: &[PropertyKey], args: Args) -> Hook {
        self.pipeline(path, Some(args))
    }

    pub(crate) fn get(&self, path: &[PropertyKey]) -> Hook {
        self.pipeline(path, None)
    }

    /// Asks the peer for the settlement (once) and waits for it.
    pub(crate) fn pull(self: &Arc<Self>) -> PullFuture {
        let pull = self.pull_unbounded();
        match self.session.call_timeout {
            Some(limit) => crate::task::with_timeout(pull, limit),
            None => pull,
        }
    }

    fn pull_unbounded(self: &Arc<Self>) -> PullFuture {
        let this = self.clone();
        Box::pin(async move {
            loop {
                // Settled already (always so once woken): the promise's own lock is enough, no
                // locked section of the session (which costs about a thousand instructions).
                let settled = match &*this.lock() {
                    RemoteState::Resolved(h) => Some(h.clone()),
                    RemoteState::Pending { .. } => None,
                };
                if let Some(hook) = settled {
                    return match hook.pull_now() {
                        Ok(ready) => ready,
                        Err(_) => hook.pull().await,
                    };
                }
                let mut first_pull = false;
                let waiting = this.session.with_state(|st, _| {
                    let mut pst = this.lock();
                    match &mut *pst {
                        RemoteState::Resolved(h) => Err(h.clone()),
                        RemoteState::Pending { pulled, .. } => {
                            if let Some(e) = &st.broken {
                                return Err(Hook::error(e.clone()));
                            }
                            if !*pulled {
                                *pulled = true;
                                first_pull = true;
                                st.queue(crate::wire::message::pull_text(this.id));
                            }
                            Ok(())
                        }
                    }
                });
                match waiting {
                    Ok(()) => {
                        if first_pull && matches!(this.session.mode, Mode::BatchClient { .. }) {
                            this.session.announce_await().await;
                        }
                        WakeUp {
                            promise: &this,
                            token: None,
                        }
                        .await;
                    }
                    Err(hook) => return hook.pull().await,
                }
            }
        })
    }

    /// Whether calls were pipelined through the peer on this promise.
    pub(crate) fn was_pipelined(&self) -> bool {
        self.pipelined.load(Ordering::Relaxed)
    }

    /// Settles the promise with `hook`; returns the waiters to wake.
    pub(crate) fn settle(&self, hook: Hook) -> WaitList {
        let mut pst = self.lock();
        match std::mem::replace(&mut *pst, RemoteState::Resolved(hook)) {
            RemoteState::Pending { waiters, .. } => waiters,
            RemoteState::Resolved(previous) => {
                // Keep the first outcome.
                *pst = RemoteState::Resolved(previous);
                WaitList::default()
            }
        }
    }
}

impl Drop for RemotePromise {
    fn drop(&mut self) {
        // Dropping an unsettled promise releases it at once (and cancels our interest in it);
        // a settled one was released when its resolution arrived.
        let pending = matches!(
            *self.state.get_mut().unwrap_or_else(|e| e.into_inner()),
            RemoteState::Pending { .. }
        );
        if pending {
            self.session.queue_drop(DroppedImport {
                id: self.id,
                ptr: self as *const _ as usize,
            });
        }
    }
}

/// A waiter's wake-up by the `resolve`/`reject` that settled its promise. Whoever is woken
/// sends the `release` the reader queued for that settlement (see `io.rs`): when it resumes,
/// or, if it is dropped before it could, when it is dropped. A waiter dropped before the
/// settlement takes itself off the promise's list, so the settlement does not count on it.
struct WakeUp<'a> {
    promise: &'a RemotePromise,
    /// Its entry in the promise's [`WaitList`], once it has one.
    token: Option<u64>,
}

impl std::future::Future for WakeUp<'_> {
    type Output = ();

    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        let mut pst = this.promise.lock();
        let RemoteState::Pending { waiters, .. } = &mut *pst else {
            drop(pst);
            // Counted as a waiter by the settlement: the release it queued is ours to send.
            if this.token.take().is_some() {
                this.promise.session.send_waiting_releases();
            }
            return Poll::Ready(());
        };
        waiters.register(&mut this.token, cx.waker());
        Poll::Pending
    }
}

impl Drop for WakeUp<'_> {
    fn drop(&mut self) {
        let Some(token) = self.token.take() else {
            return;
        };
        let mut pst = self.promise.lock();
        match &mut *pst {
            RemoteState::Pending { waiters, .. } => waiters.remove(token),
            RemoteState::Resolved(_) => {
                drop(pst);
                self.promise.session.send_waiting_releases();
            }
        }
    }
}
