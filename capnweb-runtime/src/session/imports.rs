//! The import table: what the peer hosts for us. Sending calls on it (`push`), settling our
//! imports when `resolve`/`reject` arrive, and releasing them when their last handle is dropped.

use std::sync::{Arc, Weak};

use super::import_handles::{ImportedCap, RemotePromise};
use super::refs::SessionEncoder;
use super::{Effects, SessionInner, State};
use crate::error::RpcError;
use crate::hook::Hook;
use crate::value::PropertyKey;
use crate::wire::Args;
use crate::wire::{encode, message};

/// An entry of the import table: something the peer hosts for us.
pub(crate) enum ImportSlot {
    /// A settled capability and the number of times the peer introduced it.
    Cap {
        weak: Weak<ImportedCap>,
        refcount: u64,
    },
    /// A result the peer will settle.
    Promise { weak: Weak<RemotePromise> },
    /// A `stream` call (a write, close or abort): the peer answers it unasked and forgets it,
    /// so no `release` follows. Dropping the sender (the session ended) fails the write.
    StreamCall {
        done: tokio::sync::oneshot::Sender<Result<(), RpcError>>,
    },
}

/// A local handle to an import was dropped; the session sends the `release` when it next holds
/// its lock. `ptr` identifies the exact handle, in case the ID was re-introduced meanwhile.
pub(crate) struct DroppedImport {
    pub(crate) id: i64,
    pub(crate) ptr: usize,
}

impl State {
    /// Sends `["push", ["pipeline", target, path, args?]]` and returns the promise for its result.
    pub(crate) fn send_push(
        &mut self,
        session: &Arc<SessionInner>,
        fx: &mut Effects,
        target: i64,
        path: &[PropertyKey],
        args: Option<Args>,
    ) -> Hook {
        if let Some(reason) = &self.broken {
            return broken_hook(reason);
        }
        let mark = self.last_export_id;
        let write_args = args.as_ref().map(|args| {
            |out: &mut String| {
                let mut enc = SessionEncoder {
                    st: &mut *self,
                    fx: &mut *fx,
                    session,
                };
                encode::encode_args(args, &mut enc, out)
            }
        });
        match message::pipeline_push_text(target, path, write_args) {
            Ok(text) => self.register_push(session, fx, text),
            Err(e) => {
                self.unexport_since(mark, fx);
                Hook::error(e)
            }
        }
    }

    /// Queues a `push` message, taking the next import ID for its result.
    pub(crate) fn register_push(
        &mut self,
        session: &Arc<SessionInner>,
        fx: &mut Effects,
        text: String,
    ) -> Hook {
        self.last_push_id += 1;
        let id = self.last_push_id;
        let std::collections::hash_map::Entry::Vacant(slot) = self.imports.entry(id) else {
            // Positive IDs are ours alone (the decoder refuses them from the peer), so this is
            // a bug of ours; overwriting the entry would orphan a promise nobody could settle.
            let reason = RpcError::Aborted(format!(
                "internal error: import {id}, the next push, already exists"
            ));
            self.end(reason.clone(), true, fx);
            return Hook::error(reason);
        };
        let promise = RemotePromise::new(session.clone(), id, false);
        slot.insert(ImportSlot::Promise {
            weak: Arc::downgrade(&promise),
        });
        self.queue(text);
        Hook::Remote(promise)
    }

    /// Settles our import `id` and releases it, as the JS importer does right after a
    /// `resolve`/`reject`. A settlement for an import we do not hold is evaluated (so stubs in
    /// it are released) and discarded, deliberately not an abort: capnweb ignores it too, and a
    /// peer whose answer crossed our `release` sends one legitimately (tests/suite/hostile_ids.rs
    /// checks both against npm capnweb).
    pub(super) fn settle_import(
        &mut self,
        session: &Arc<SessionInner>,
        id: i64,
        hook: Hook,
        fx: &mut Effects,
    ) {
        match self.imports.get(&id) {
            Some(ImportSlot::Promise { weak }) => {
                match weak.upgrade() {
                    Some(p) => {
                        let hook = p.checked_resolution(hook);
                        // The probe (if any) is pipelined on `id`, so it goes out before the
                        // release below.
                        let hook = if p.was_pipelined() {
                            self.embargo_if_needed(session, fx, id, hook)
                        } else {
                            hook
                        };
                        let waiters = p.settle(hook);
                        if waiters.is_empty() {
                            self.queue(message::release_text(id, 1));
                        } else {
                            // A waiter sends it when it resumes (`import_handles::WakeUp`).
                            self.queue_release_for_waiter(id);
                        }
                        fx.wakers.extend(waiters.into_wakers());
                    }
                    None => {
                        fx.drops.push(hook);
                        self.queue(message::release_text(id, 1));
                    }
                }
                self.imports.remove(&id);
            }
            Some(ImportSlot::StreamCall { .. }) => {
                if let Some(ImportSlot::StreamCall { done }) = self.imports.remove(&id) {
                    let outcome = match &hook {
                        Hook::Error(e) => Err((**e).clone()),
                        _ => Ok(()),
                    };
                    let _ = done.send(outcome);
                }
                fx.drops.push(hook);
            }
            _ => fx.drops.push(hook),
        }
    }
}

impl SessionInner {
    /// Queues the release of a dropped import handle.
    pub(crate) fn queue_drop(&self, dropped: DroppedImport) {
        self.dropped
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(dropped);
        self.has_dropped
            .store(true, std::sync::atomic::Ordering::Release);
        if !self.reader_will_flush() {
            self.wake_writer.notify_one();
        }
    }

    /// Sends `release` for every dropped import handle that still owns its table entry.
    pub(super) fn apply_dropped(&self, st: &mut State) {
        // Cleared before the queue is taken, so a drop queued meanwhile sets it again. Read
        // first: every locked section comes here twice, nearly always to find nothing, and a
        // load costs far less than the swap's locked read-modify-write.
        if !self.has_dropped.load(std::sync::atomic::Ordering::Relaxed)
            || !self
                .has_dropped
                .swap(false, std::sync::atomic::Ordering::Acquire)
        {
            return;
        }
        let dropped = {
            let mut queue = self.dropped.lock().unwrap_or_else(|e| e.into_inner());
            if queue.is_empty() {
                return;
            }
            std::mem::take(&mut *queue)
        };
        for DroppedImport { id, ptr } in dropped {
            let count = match st.imports.get(&id) {
                Some(ImportSlot::Cap { weak, refcount }) if weak.as_ptr() as usize == ptr => {
                    *refcount
                }
                Some(ImportSlot::Promise { weak }) if weak.as_ptr() as usize == ptr => 1,
                _ => continue,
            };
            st.imports.remove(&id);
            if st.broken.is_none() {
                st.queue(crate::wire::message::release_text(id, count));
            }
        }
    }

    /// The peer's main object (import 0). Its handle is made on demand and never released.
    pub(crate) fn peer_main(self: &Arc<Self>) -> Hook {
        self.with_state(|st, _| {
            if let Some(reason) = &st.broken {
                return Hook::error(reason.clone());
            }
            let slot = st.imports.entry(0).or_insert_with(|| ImportSlot::Cap {
                weak: std::sync::Weak::new(),
                refcount: 1,
            });
            match slot {
                ImportSlot::Cap { weak, .. } => Hook::Import(weak.upgrade().unwrap_or_else(|| {
                    let cap = Arc::new(ImportedCap {
                        session: self.clone(),
                        id: 0,
                    });
                    *weak = Arc::downgrade(&cap);
                    cap
                })),
                ImportSlot::Promise { .. } | ImportSlot::StreamCall { .. } => {
                    Hook::error(RpcError::protocol("import 0 is a promise"))
                }
            }
        })
    }
}

/// The error every operation gets once the session has ended.
pub(crate) fn broken_hook(reason: &RpcError) -> Hook {
    Hook::error(reason.clone())
}
