//! Calls whose arguments contain promises, delivered in the order their arguments settle.
//!
//! Such a call waits for its own arguments and nothing else (protocol.md section 11, rule 4:
//! later calls to the same target are not held back). In JavaScript each call continues as
//! soon as its promises resolve, so calls whose arguments settle in order run in that order.
//! A task per call loses that order on a multi-thread runtime (the woken tasks race on
//! different workers), and so does one task polling the calls in the order it happens to be
//! woken: a call it has not polled yet registers no waker, so when its argument settles after
//! another call's, nothing records that it came second.
//!
//! So a session's waiting calls on one target share a lane with one queue of events:
//! - a call's arguments are first polled where the call arrives (the session's reader, in
//!   message order), with a waker of the lane's own; arguments already settled queue the call
//!   for delivery there and then, otherwise every later settlement finds the waker in place;
//! - each wake-up appends the call to the queue, in the order the settlements happen (the
//!   reader wakes waiters one message at a time);
//! - one task takes the queue in order, polls each woken call's arguments again and delivers
//!   the calls whose arguments are complete. Only that task delivers, so the queue's order is
//!   the delivery order.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll, Wake, Waker};

use tokio::sync::Notify;

use crate::error::RpcError;
use crate::hook::Hook;
use crate::sync::lock;
use crate::task::{CallScope, SettleOnDrop};
use crate::value::PropertyKey;
use crate::wire::Args;

/// A call waiting for its arguments; its guard rejects the call if it is dropped unfinished.
pub(crate) struct Waiting {
    pub(crate) target: Hook,
    pub(crate) path: Vec<PropertyKey>,
    pub(crate) args: Pin<Box<dyn Future<Output = Result<Args, RpcError>> + Send>>,
    pub(crate) owed: SettleOnDrop,
}

impl Waiting {
    /// Waits for the arguments, then delivers the call: for calls with no peer whose order
    /// must be kept (the application's own calls on a local object).
    pub(crate) async fn run(mut self) {
        let args = self.args.as_mut().await;
        self.deliver(args);
    }

    /// Delivers the call with its settled arguments and settles its promise.
    fn deliver(self, args: Result<Args, RpcError>) {
        let hook = match args {
            Ok(args) => self.target.call(&self.path, args),
            Err(e) => Hook::error(e),
        };
        self.owed.settle(hook);
    }
}

/// How long after the normal end of an HTTP batch its calls may still wait for arguments the
/// batch settled before they are dropped: far longer than delivering settled work takes.
pub(crate) const BATCH_GRACE: std::time::Duration = std::time::Duration::from_millis(500);

/// The lanes of one session, by target.
#[derive(Default)]
pub(crate) struct Lanes {
    open: Mutex<HashMap<usize, Arc<Lane>>>,
    /// Set when the calls still waiting must be dropped (their guards reject them).
    closed: crate::latch::Latch<()>,
}

impl Lanes {
    /// Drops every call still waiting for its arguments, now and from now on.
    pub(crate) fn close(&self) {
        self.closed.set(());
    }

    /// [`close`](Self::close) after `grace`, if any call is waiting (no task otherwise).
    pub(crate) fn close_after(self: &Arc<Self>, grace: std::time::Duration) {
        if lock(&self.open).is_empty() {
            return;
        }
        let lanes = self.clone();
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                tokio::time::sleep(grace).await;
                lanes.close();
            });
        }
    }

    /// Puts `waiting` on the lane of the target at `key` (starting the lane if it has none)
    /// and polls its arguments for the first time, here, so that the lane hears of every
    /// settlement from now on.
    pub(crate) fn enqueue(scope: &Arc<CallScope>, key: usize, mut waiting: Waiting) {
        let (lane, id, started) = {
            let mut open = lock(&scope.lanes.open);
            // Reserved under the map's lock: a lane leaves the map only under it, when empty.
            match open.get(&key) {
                Some(lane) => (lane.clone(), lane.reserve(), None),
                None => {
                    let lane = Arc::new(Lane {
                        state: Mutex::default(),
                        notify: Notify::new(),
                    });
                    let id = lane.reserve();
                    open.insert(key, lane.clone());
                    let finish = LaneExit {
                        scope: scope.clone(),
                        key,
                        lane: lane.clone(),
                    };
                    (lane, id, Some(finish))
                }
            }
        };
        // Spawned outside the map's lock: without a runtime the task is dropped at once, and
        // its exit takes that lock (the call is then rejected below).
        if let Some(finish) = started {
            crate::task::spawn_detached(run_lane(finish));
        }
        let waker = lane.waker_for(id);
        let polled = waiting.args.as_mut().poll(&mut Context::from_waker(&waker));
        let mut state = lock(&lane.state);
        let Some(slot) = state.calls.get_mut(&id) else {
            // The lane was closed meanwhile: dropping the call rejects it.
            drop(state);
            drop(waiting);
            return;
        };
        match polled {
            Poll::Ready(args) => {
                state.calls.remove(&id);
                state
                    .queue
                    .push_back(Event::Deliver(Box::new(waiting), args));
            }
            Poll::Pending => {
                slot.waiting = Some(waiting);
                if std::mem::take(&mut slot.woken_meanwhile) {
                    state.queue.push_back(Event::Woken(id));
                } else {
                    return;
                }
            }
        }
        drop(state);
        lane.notify.notify_one();
    }
}

/// The waiting calls on one target of one session.
struct Lane {
    state: Mutex<LaneState>,
    /// Wakes the lane's task when an event is queued.
    notify: Notify,
}

#[derive(Default)]
struct LaneState {
    calls: HashMap<u64, Slot>,
    queue: VecDeque<Event>,
    next_id: u64,
}

struct Slot {
    /// `None` while its arguments are being polled (by whoever polls them).
    waiting: Option<Waiting>,
    /// Woken while its arguments were being polled: poll them again.
    woken_meanwhile: bool,
}

enum Event {
    /// The call's arguments may have made progress.
    Woken(u64),
    /// The call's arguments were complete when it arrived.
    Deliver(Box<Waiting>, Result<Args, RpcError>),
}

impl Lane {
    fn reserve(&self) -> u64 {
        let mut state = lock(&self.state);
        let id = state.next_id;
        state.next_id += 1;
        state.calls.insert(
            id,
            Slot {
                waiting: None,
                woken_meanwhile: false,
            },
        );
        id
    }

    fn waker_for(self: &Arc<Self>, id: u64) -> Waker {
        Waker::from(Arc::new(CallWaker {
            lane: Arc::downgrade(self),
            id,
        }))
    }

    fn is_idle(&self) -> bool {
        let state = lock(&self.state);
        state.calls.is_empty() && state.queue.is_empty()
    }
}

/// Wakes one call of a lane: queues it, in the order of wake-ups.
struct CallWaker {
    lane: Weak<Lane>,
    id: u64,
}

impl Wake for CallWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let Some(lane) = self.lane.upgrade() else {
            return;
        };
        let mut state = lock(&lane.state);
        let Some(slot) = state.calls.get_mut(&self.id) else {
            return;
        };
        if slot.waiting.is_none() {
            slot.woken_meanwhile = true;
            return;
        }
        state.queue.push_back(Event::Woken(self.id));
        drop(state);
        lane.notify.notify_one();
    }
}

/// Removes a lane from its session's map when its task ends, and drops the calls it still
/// holds (which rejects them), including when the task is cancelled with the session.
struct LaneExit {
    scope: Arc<CallScope>,
    key: usize,
    lane: Arc<Lane>,
}

impl Drop for LaneExit {
    fn drop(&mut self) {
        {
            let mut open = lock(&self.scope.lanes.open);
            if open
                .get(&self.key)
                .is_some_and(|lane| Arc::ptr_eq(lane, &self.lane))
            {
                open.remove(&self.key);
            }
        }
        // Dropped outside the lock: rejecting a call wakes whoever waits for it.
        let left = std::mem::take(&mut *lock(&self.lane.state));
        drop(left);
    }
}

/// The lane's task: takes its events in order, delivering each call whose arguments are
/// complete. Ends when the lane is empty, or when the session closes its lanes.
async fn run_lane(exit: LaneExit) {
    let closed = &exit.scope.lanes.closed;
    let lane = exit.lane.clone();
    // Events taken between yields, so one busy lane does not hold its worker.
    const BURST: usize = 64;
    let mut taken = 0;
    loop {
        if closed.get().is_some() {
            return;
        }
        let next = lock(&lane.state).queue.pop_front();
        match next {
            Some(Event::Deliver(waiting, args)) => waiting.deliver(args),
            Some(Event::Woken(id)) => poll_call(&lane, id),
            None => {
                {
                    let mut open = lock(&exit.scope.lanes.open);
                    // Enqueuing reserves under the map's lock, so a lane seen idle under it
                    // leaves the map before anyone can queue on it again.
                    if lane.is_idle() {
                        open.remove(&exit.key);
                        return;
                    }
                }
                tokio::select! {
                    biased;
                    _ = closed.wait() => {}
                    _ = lane.notify.notified() => {}
                }
                taken = 0;
                continue;
            }
        }
        taken += 1;
        if taken == BURST {
            taken = 0;
            tokio::task::yield_now().await;
        }
    }
}

/// Polls the arguments of a woken call; delivers it when they are complete.
fn poll_call(lane: &Arc<Lane>, id: u64) {
    let Some(mut waiting) = lock(&lane.state)
        .calls
        .get_mut(&id)
        .and_then(|slot| slot.waiting.take())
    else {
        // Already delivered, or being polled where it arrived (which polls again if woken).
        return;
    };
    let waker = lane.waker_for(id);
    match waiting.args.as_mut().poll(&mut Context::from_waker(&waker)) {
        Poll::Ready(args) => {
            lock(&lane.state).calls.remove(&id);
            waiting.deliver(args);
        }
        Poll::Pending => {
            let mut state = lock(&lane.state);
            match state.calls.get_mut(&id) {
                Some(slot) => {
                    slot.waiting = Some(waiting);
                    if std::mem::take(&mut slot.woken_meanwhile) {
                        state.queue.push_back(Event::Woken(id));
                    }
                }
                // The lane was closed meanwhile: dropping the call (outside the lock, as it
                // wakes whoever waits for it) rejects it.
                None => {
                    drop(state);
                    drop(waiting);
                }
            }
        }
    }
}
