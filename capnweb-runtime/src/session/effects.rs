//! Work collected under the session lock and carried out after it is released.

use std::sync::Arc;
use std::task::Waker;

use smallvec::SmallVec;

use super::{BrokenCallback, SessionInner};
use crate::error::RpcError;
use crate::hook::Hook;
use crate::local_promise::LocalPromise;
use crate::target::CallFuture;
use crate::task::{CallSite, deliver, in_scope, run_contained};
use crate::value::PropertyKey;

/// A call or property read on a local hook, made once the lock is released.
pub(crate) enum Delivery {
    Call {
        hook: Hook,
        path: Vec<PropertyKey>,
        args: crate::wire::Args,
        result: Arc<LocalPromise>,
    },
    Get {
        hook: Hook,
        path: Vec<PropertyKey>,
        result: Arc<LocalPromise>,
    },
    /// A computation (a `.map()` replay) to start.
    Start {
        fut: CallFuture,
        result: Arc<LocalPromise>,
    },
}

impl Delivery {
    fn carry_out(self, session: &SessionInner) {
        match self {
            Delivery::Call {
                hook,
                path,
                args,
                result,
            } => {
                // Spans the method's first poll and, if it suspends, its task.
                let span = tracing::debug_span!(
                    target: "capnweb::call",
                    "call",
                    session = session.id,
                    method = %crate::hook::path_text(&path),
                );
                let _entered = span.enter();
                result.resolve(session.counted_in_flight(hook.call(&path, args)));
            }
            Delivery::Get { hook, path, result } => {
                result.resolve(session.counted_in_flight(hook.get(&path)));
            }
            Delivery::Start { fut, result } => {
                let answer = deliver(CallSite::Map, || fut);
                result.resolve(session.counted_in_flight(answer));
            }
        }
    }
}

/// Side effects of a locked section, run in this order: drops, deliveries, settlements,
/// wake-ups, broken-callbacks.
///
/// A locked section usually leaves one item of a kind or none (a call: one delivery; a `pull`:
/// one settlement; a `release`: one drop; a `resolve`: one waiter), so the lists keep one
/// inline: no heap allocation for them on the common paths, which run several times per call.
#[derive(Default)]
pub(crate) struct Effects {
    /// Hooks removed from the tables; dropping them may run user `Drop` code.
    pub(crate) drops: SmallVec<[Hook; 1]>,
    /// Calls to deliver, in arrival order (E-order).
    pub(crate) deliveries: SmallVec<[Delivery; 1]>,
    /// Exports to settle and report to the peer (`resolve`/`reject`).
    pub(crate) settlements: SmallVec<[(i64, Hook); 1]>,
    /// Local waiters to wake.
    pub(crate) wakers: SmallVec<[Waker; 1]>,
    /// Callbacks to run because the session broke, with the reason.
    pub(crate) broken: Option<(RpcError, Vec<BrokenCallback>)>,
}

impl Effects {
    /// Defers a call on `hook`, returning the promise for its result.
    pub(crate) fn defer_call(
        &mut self,
        hook: Hook,
        path: Vec<PropertyKey>,
        args: crate::wire::Args,
    ) -> Hook {
        let result = LocalPromise::new();
        self.deliveries.push(Delivery::Call {
            hook,
            path,
            args,
            result: result.clone(),
        });
        Hook::Local(result)
    }

    /// Defers a property read on `hook`, returning the promise for its value.
    pub(crate) fn defer_get(&mut self, hook: Hook, path: Vec<PropertyKey>) -> Hook {
        let result = LocalPromise::new();
        self.deliveries.push(Delivery::Get {
            hook,
            path,
            result: result.clone(),
        });
        Hook::Local(result)
    }

    /// Defers starting `fut`, returning the promise for its outcome.
    pub(crate) fn defer_start(&mut self, fut: CallFuture) -> Hook {
        let result = LocalPromise::new();
        self.deliveries.push(Delivery::Start {
            fut,
            result: result.clone(),
        });
        Hook::Local(result)
    }

    pub(crate) fn run(self, session: &SessionInner) {
        // Most locked sections collect nothing; even walking empty lists costs about a hundred
        // instructions, and they run several times per call.
        if self.is_empty() {
            return;
        }
        // Engine work is real even on a thread that is recording a `.map()` closure.
        crate::map::suspended(|| {
            // What deliveries and settlements spawn belongs to this session. Most locked
            // sections have neither, and entering the scope costs a thread-local round trip.
            if self.deliveries.is_empty() && self.settlements.is_empty() {
                self.run_now(session);
            } else {
                in_scope(&session.calls, || self.run_now(session));
            }
        });
    }

    fn is_empty(&self) -> bool {
        self.drops.is_empty()
            && self.deliveries.is_empty()
            && self.settlements.is_empty()
            && self.wakers.is_empty()
            && self.broken.is_none()
    }

    fn run_now(self, session: &SessionInner) {
        // A target's `Drop` is user code: a panic there must not unwind into the engine.
        if !self.drops.is_empty() {
            run_contained("dropping a released object", || drop(self.drops));
        }
        // Guarded: consuming even an empty list costs its iterator's drop.
        if !self.deliveries.is_empty() {
            for delivery in self.deliveries {
                delivery.carry_out(session);
            }
        }
        if !self.settlements.is_empty() {
            for (id, hook) in self.settlements {
                session.start_settlement(id, hook);
            }
        }
        if !self.wakers.is_empty() {
            for waker in self.wakers {
                waker.wake();
            }
        }
        if let Some((reason, callbacks)) = self.broken {
            tracing::debug!(
                target: "capnweb::session",
                session = session.id,
                %reason,
                "session ended"
            );
            // Calls still running for a peer that is gone are cancelled. Not at the normal end
            // of an HTTP batch: a call the client did not wait for (a notification) still runs
            // to its end, as it would on capnweb.
            if !matches!(reason, RpcError::BatchEnded(_)) {
                session.calls.cancel(reason.clone());
            } else {
                // A call still waiting for its arguments can get them from the batch only if
                // they settled in it (its other imports were just rejected); one still waiting
                // after a grace period waits on a cycle (an argument resolved to the call's
                // own result) and would hold its task and the batch's objects forever.
                session.calls.lanes.close_after(crate::lanes::BATCH_GRACE);
            }
            for cb in callbacks {
                run_contained("an on_broken callback", || cb(&reason));
            }
            session.ended.set(reason);
        }
    }
}

impl SessionInner {
    /// The answer to one of the peer's calls, counted among the session's calls in flight
    /// until it settles if it has not yet ([`crate::Limits::max_calls_in_flight`]).
    fn counted_in_flight(&self, answer: Hook) -> Hook {
        if let Hook::Local(cell) = &answer
            && cell.settled().is_none()
        {
            cell.count_in_flight(self.in_flight.enter());
        }
        answer
    }

    /// Refuses one more call from the peer when `pending` (delivered but not yet counted) and
    /// the calls in flight fill [`crate::Limits::max_calls_in_flight`].
    pub(crate) fn check_in_flight(&self, pending: usize) -> Result<(), RpcError> {
        let max = self.limits.max_calls_in_flight;
        if self.in_flight.get() + pending >= max {
            return Err(crate::wire::limit_exceeded("max_calls_in_flight", max));
        }
        Ok(())
    }
}
