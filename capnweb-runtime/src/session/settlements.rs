//! Settling our exports: waiting for what the peer pulled (or what we sent as a promise) and
//! sending its `resolve` or `reject`, and counting the settlements in flight so a batch or a
//! closing server can wait until none is left.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use futures_util::FutureExt;

use super::refs::SessionEncoder;
use super::{Effects, SessionInner, State};
use crate::active::Active;
use crate::error::RpcError;
use crate::hook::Hook;
use crate::task::{panic_error, spawn_detached, unfinished_error};
use crate::wire::{NoRefs, encode, message};
use crate::wire::{Payload, PayloadRef};

impl State {
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
    /// Marks a settlement as started; it counts until the guard is dropped, after its `resolve`
    /// or `reject` was queued (and the effects of queuing it, which may start more settlements,
    /// have run), so the count never touches 0 while work is still chained.
    pub(crate) fn settling_guard(&self) -> Active {
        self.settling.enter()
    }

    /// Waits until no settlement is in flight (capnweb's `drain()`), or the session ends. A
    /// batch answers after it; a server shutting down closes a WebSocket session after it.
    pub(crate) async fn drained(&self) -> Result<(), RpcError> {
        tokio::select! {
            () = self.settling.idle() => {}
            _ = self.ended.wait() => {}
        }
        match self.broken_reason() {
            Some(reason) => Err(reason),
            None => Ok(()),
        }
    }

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
            let stream_call = match st.exports.get(&id) {
                Some(entry) if st.broken.is_none() => entry.stream,
                _ => return,
            };
            let text = st.settlement_text(&session, fx, id, result);
            // Exporting a stub in it may have found the export table full and ended the session.
            if st.broken.is_none() {
                st.queue(text);
            }
            // A stream call is forgotten once answered: the peer sends no release for it.
            if stream_call && let Some(entry) = st.exports.remove(&id) {
                fx.drops.push(entry.hook);
            }
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
