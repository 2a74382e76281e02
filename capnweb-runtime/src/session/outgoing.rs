//! What we send: pushes (calls and property reads), settlements of our exports, and the
//! encoding of stubs and promises inside outgoing values.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures_util::FutureExt;
use std::task::{Context, Poll, Waker};

use super::imports::{RemotePromise, broken_hook};
use super::{Effects, ExportEntry, ImportSlot, SessionInner, State};
use crate::error::RpcError;
use crate::hook::Hook;
use crate::stub::{Promise, Stub};
use crate::task::{panic_error, spawn_detached, unfinished_error};
use crate::value::{Args, Payload, PayloadRef, PropertyKey};
use crate::wire::{NoRefs, RefEncoder, encode, json, message};

impl State {
    /// Queues a message for the writer (or the reader's write-through).
    pub(crate) fn queue(&mut self, message: String) {
        self.outbox.push(message);
        self.outbox_can_wait = false;
    }

    /// Queues the `release` of an import whose `resolve`/`reject` just arrived and woke a
    /// waiter. Unlike other messages it waits for the next write, or for that waiter to ask
    /// for it (see `io.rs`).
    pub(crate) fn queue_release_for_waiter(&mut self, id: i64) {
        self.outbox_can_wait = self.outbox.is_empty() || self.outbox_can_wait;
        self.outbox.push(message::release_text(id, 1));
    }

    /// Takes everything queued.
    pub(crate) fn take_outbox(&mut self) -> Vec<String> {
        self.outbox_can_wait = false;
        std::mem::take(&mut self.outbox)
    }

    /// Whether the outbox holds something that should be written now.
    pub(crate) fn must_write(&self) -> bool {
        !self.outbox.is_empty() && !self.outbox_can_wait
    }

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
        let mut text = String::with_capacity(64);
        message::begin_push(&mut text);
        text.push_str("[\"pipeline\",");
        text.push_str(itoa(target).as_str());
        text.push(',');
        write_path(path, &mut text);
        if let Some(args) = &args {
            text.push(',');
            let mark = self.last_export_id;
            let mut enc = SessionEncoder {
                st: self,
                fx,
                session,
            };
            if let Err(e) = encode::encode_args(args, &mut enc, &mut text) {
                self.unexport_since(mark, fx);
                return Hook::error(e);
            }
        }
        text.push(']');
        message::end_message(&mut text);
        self.register_push(session, text)
    }

    /// Queues a `push` message, taking the next import ID for its result.
    pub(crate) fn register_push(&mut self, session: &Arc<SessionInner>, text: String) -> Hook {
        self.last_push_id += 1;
        let id = self.last_push_id;
        let promise = RemotePromise::new(session.clone(), id, false);
        self.imports.insert(
            id,
            ImportSlot::Promise {
                weak: Arc::downgrade(&promise),
            },
        );
        self.queue(text);
        Hook::Remote(promise)
    }

    /// Adds an export with a fresh negative ID (capnweb never reuses IDs, and a JS importer
    /// would leak a reference if we re-exported one).
    pub(crate) fn export(&mut self, hook: Hook, pulled: bool) -> i64 {
        self.last_export_id -= 1;
        let id = self.last_export_id;
        self.exports.insert(
            id,
            ExportEntry {
                hook,
                refcount: 1,
                pulled,
            },
        );
        id
    }

    /// Undoes the exports made by a message that failed to encode.
    pub(crate) fn unexport_since(&mut self, mark: i64, fx: &mut Effects) {
        let undone = self.last_export_id..mark;
        for id in undone.clone() {
            if let Some(entry) = self.exports.remove(&id) {
                fx.drops.push(entry.hook);
            }
        }
        fx.settlements.retain(|(id, _)| !undone.contains(id));
    }

    /// Encodes the settlement of export `id` (a `resolve` or `reject` message).
    fn settlement_text(
        &mut self,
        session: &Arc<SessionInner>,
        fx: &mut Effects,
        id: i64,
        result: Result<PayloadRef<'_>, &RpcError>,
    ) -> String {
        let value = match result {
            Ok(value) => value,
            Err(e) => return reject_text(id, e),
        };
        let mark = self.last_export_id;
        let mut text = message::resolve_prefix(id);
        let mut enc = SessionEncoder {
            st: self,
            fx,
            session,
        };
        match encode::encode_payload(value, &mut enc, &mut text) {
            Ok(()) => {
                message::end_message(&mut text);
                text
            }
            Err(e) => {
                // capnweb rejects with the serialization error instead (section 12.2).
                self.unexport_since(mark, fx);
                reject_text(id, &e)
            }
        }
    }
}

fn reject_text(id: i64, error: &RpcError) -> String {
    let mut text = message::reject_prefix(id);
    let start = text.len();
    if encode::encode_value(&error.to_wire_value(), &mut NoRefs, &mut text).is_err() {
        // A thrown value that cannot travel without stubs: send its description instead.
        text.truncate(start);
        let plain = RpcError::new(error.name(), error.message()).to_wire_value();
        let _ = encode::encode_value(&plain, &mut NoRefs, &mut text);
    }
    message::end_message(&mut text);
    text
}

impl SessionInner {
    /// Waits for export `id` to settle and sends its `resolve` or `reject`. Settles without a
    /// task when the value is already there.
    pub(crate) fn start_settlement(&self, id: i64, hook: Hook) {
        // A plain settled value is encoded where it lies: pulling would copy all of it.
        match &hook {
            Hook::Value(value) if !value.contains_promise() => {
                return self.send_settlement(id, Ok(PayloadRef::Tree(value)));
            }
            Hook::Text(text) => return self.send_settlement(id, Ok(PayloadRef::Text(text))),
            _ => {}
        }
        let settling = self.settling_guard();
        let mut fut = hook.pull();
        drop(hook);
        let mut cx = Context::from_waker(Waker::noop());
        match fut.as_mut().poll(&mut cx) {
            Poll::Ready(result) => {
                self.send_settlement(id, result.as_ref().map(Payload::as_ref));
            }
            Poll::Pending => {
                let mut owed = SettlementOwed {
                    session: Some(self.arc()),
                    id,
                };
                spawn_detached(async move {
                    let result = match AssertUnwindSafe(fut).catch_unwind().await {
                        Ok(result) => result,
                        Err(payload) => Err(panic_error("settling a result", &*payload)),
                    };
                    let session = owed.paid();
                    session.send_settlement(id, result.as_ref().map(Payload::as_ref));
                    drop(settling);
                    session.flush_now();
                });
            }
        }
    }

    fn send_settlement(&self, id: i64, result: Result<PayloadRef<'_>, &RpcError>) {
        let session = self.arc();
        self.with_state(|st, fx| {
            // Released meanwhile (or the session ended): nobody is waiting for it.
            if st.broken.is_some() || !st.exports.contains_key(&id) {
                return;
            }
            let text = st.settlement_text(&session, fx, id, result);
            st.queue(text);
        });
    }
}

/// A settlement a detached task owes the peer: if the task is dropped before it pays (no
/// runtime, or the runtime shut down), the peer gets a `reject` instead of waiting forever.
struct SettlementOwed {
    session: Option<Arc<SessionInner>>,
    id: i64,
}

impl SettlementOwed {
    /// The task is sending the settlement itself.
    fn paid(&mut self) -> Arc<SessionInner> {
        self.session.take().expect("a settlement is paid once")
    }
}

impl Drop for SettlementOwed {
    fn drop(&mut self) {
        if let Some(session) = self.session.take() {
            let error = unfinished_error("settling a result");
            session.send_settlement(self.id, Err(&error));
        }
    }
}

/// Writes stubs and promises found in outgoing values as reference expressions, exporting
/// local objects as it goes.
pub(crate) struct SessionEncoder<'a> {
    pub(crate) st: &'a mut State,
    pub(crate) fx: &'a mut Effects,
    pub(crate) session: &'a Arc<SessionInner>,
}

impl SessionEncoder<'_> {
    fn is_ours(&self, session: &Arc<SessionInner>) -> bool {
        Arc::ptr_eq(session, self.session)
    }

    fn encode_hook(
        &mut self,
        hook: &Hook,
        as_promise: bool,
        out: &mut String,
    ) -> Result<(), RpcError> {
        match hook {
            Hook::Import(cap) if self.is_ours(&cap.session) => {
                write_ref(out, "import", cap.id);
                Ok(())
            }
            Hook::Remote(p) if self.is_ours(&p.session) => match p.settled() {
                Some(resolved) => self.encode_hook(&resolved, as_promise, out),
                None => {
                    write_ref(out, "pipeline", p.id);
                    Ok(())
                }
            },
            Hook::Local(p) => match p.settled() {
                Some(resolved) => self.encode_hook(&resolved, as_promise, out),
                None => {
                    self.export_new(hook, as_promise, out);
                    Ok(())
                }
            },
            Hook::Value(v) if as_promise => encode::encode_value(v, self, out),
            Hook::Text(text) if as_promise => {
                encode::encode_payload(PayloadRef::Text(text), self, out)
            }
            Hook::Remote(p) => match p.settled() {
                Some(resolved) => self.encode_hook(&resolved, as_promise, out),
                None => {
                    self.export_new(hook, as_promise, out);
                    Ok(())
                }
            },
            Hook::Error(_) => {
                self.export_new(hook, as_promise, out);
                Ok(())
            }
            Hook::MapVar(_) => Err(crate::map::placeholder_misuse()),
            Hook::Target(_) | Hook::Import(_) | Hook::Value(_) | Hook::Text(_) => {
                self.export_new(hook, false, out);
                Ok(())
            }
        }
    }

    /// `["export", -n]` for a capability, or `["promise", -n]` (settled later, unasked) for a
    /// promise.
    fn export_new(&mut self, hook: &Hook, as_promise: bool, out: &mut String) {
        let id = self.st.export(hook.clone(), as_promise);
        if as_promise {
            self.fx.settlements.push((id, hook.clone()));
            write_ref(out, "promise", id);
        } else {
            write_ref(out, "export", id);
        }
    }
}

impl RefEncoder for SessionEncoder<'_> {
    fn stub(&mut self, stub: &Stub, out: &mut String) -> Result<(), RpcError> {
        self.encode_hook(&stub.hook, false, out)
    }

    fn promise(&mut self, promise: &Promise, out: &mut String) -> Result<(), RpcError> {
        self.encode_hook(&promise.hook, true, out)
    }
}

fn write_ref(out: &mut String, tag: &str, id: i64) {
    out.push_str("[\"");
    out.push_str(tag);
    out.push_str("\",");
    out.push_str(itoa(id).as_str());
    out.push(']');
}

/// Writes a property path as a plain JSON array of names and indexes.
pub(crate) fn write_path(path: &[PropertyKey], out: &mut String) {
    out.push('[');
    for (i, key) in path.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        match key {
            PropertyKey::Name(name) => json::write_string(name, out),
            PropertyKey::Index(idx) => out.push_str(&idx.to_string()),
        }
    }
    out.push(']');
}

fn itoa(n: i64) -> String {
    n.to_string()
}
