//! The entry of every received message: parse it, and hand it to the table it concerns (the
//! export table for `push`, `pull` and `release`, the import table for `resolve` and `reject`).

use std::sync::Arc;

use super::refs::SessionDecoder;
use super::{Effects, SessionInner, State};
use crate::error::RpcError;
use crate::hook::Hook;
use crate::value::Value;
use crate::wire::message::{self, Message};
use crate::wire::{NoRefs, decode};

impl SessionInner {
    /// Applies one received message. A bad message aborts the session with a reason that says
    /// what was wrong; it never panics. (User code it runs is contained where it runs; this is
    /// the backstop for a bug of our own, which must end the session, not hang it.)
    pub(crate) fn handle_text(&self, text: &str) {
        let applied =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.apply_text(text)));
        if let Err(payload) = applied {
            let error = crate::task::panic_error("applying a received message", &*payload);
            self.abort(
                RpcError::Aborted(format!("internal error: {}", error.message())),
                true,
            );
        }
    }

    fn apply_text(&self, text: &str) {
        tracing::debug!(
            target: "capnweb::message",
            session = self.id,
            frame = %crate::task::Shortened(text),
            "received"
        );
        let mut rewritten = None;
        let msg = match message::parse_received(text, &self.limits, &mut rewritten) {
            Ok(msg) => msg,
            Err(e) => return self.abort(e, true),
        };
        if let Message::Abort(expr) = msg {
            let reason = match decode::decode_expr(expr, 0, &self.limits, &mut NoRefs) {
                Ok(Value::Error(e)) => RpcError::PeerAborted(e),
                Ok(other) => RpcError::PeerAborted(Box::new(crate::value::JsError {
                    name: "Error".into(),
                    message: format!("{other:?}"),
                    ..Default::default()
                })),
                Err(e) => e,
            };
            return self.abort(reason, false);
        }
        let session = self.arc();
        let outcome = match msg {
            Message::Push(expr) => {
                // Like capnweb, deliver the call (effects run when the first section ends)
                // before its export entry exists: a target that reports the session's stats
                // sees only what was there before the call.
                let pushed = self.with_state(|st, fx| st.receive_push(&session, fx, expr));
                pushed
                    .map(|(id, value)| self.with_state(|st, fx| st.add_push_export(id, value, fx)))
            }
            // A call like a push, answered unasked and never released (a stream's write,
            // close or abort).
            Message::Stream(expr) => {
                let pushed = self.with_state(|st, fx| st.receive_push(&session, fx, expr));
                pushed.map(|(id, value)| {
                    self.with_state(|st, fx| {
                        st.add_push_export(id, value, fx);
                        st.stream_call_received(id, fx);
                    })
                })
            }
            Message::Pipe => self.with_state(|st, _| st.receive_pipe(&session)),
            other => self.with_state(|st, fx| st.receive(&session, fx, other)),
        };
        if let Err(e) = outcome {
            self.abort(e, true);
        }
    }
}

impl State {
    /// Applies a message other than `push` and `abort` to the table it concerns.
    fn receive(
        &mut self,
        session: &Arc<SessionInner>,
        fx: &mut Effects,
        msg: Message,
    ) -> Result<(), RpcError> {
        if self.broken.is_some() {
            return Ok(());
        }
        let limits = session.limits;
        match msg {
            Message::Pull(id) => self.receive_pull(id, fx)?,
            // Whether `id` is an import to settle is decided before the value is read, as
            // capnweb does: a value that introduces `["promise", id]` itself must not become
            // that promise's own resolution (a cycle that kept everything in it alive).
            Message::Resolve(id, expr) => {
                let known = self.imports.contains_key(&id);
                let value = expr.decode(0, &limits, &mut SessionDecoder::new(self, fx, session))?;
                let hook = Hook::from_payload(value);
                if known {
                    self.settle_import(session, id, hook, fx);
                } else {
                    fx.drops.push(hook);
                }
            }
            Message::Reject(id, expr) => {
                let known = self.imports.contains_key(&id);
                let value = expr.decode(0, &limits, &mut SessionDecoder::new(self, fx, session))?;
                // A thrown plain value may have been kept as text; errors carry trees.
                let hook = Hook::error(RpcError::from_wire_value(value.into_value()));
                if known {
                    self.settle_import(session, id, hook, fx);
                } else {
                    fx.drops.push(hook);
                }
            }
            Message::Release(id, count) => self.receive_release(id, count, fx)?,
            Message::Push(_) | Message::Stream(_) | Message::Pipe | Message::Abort(_) => {}
        }
        Ok(())
    }
}
