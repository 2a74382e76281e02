//! What we receive: applying each message to the tables, and evaluating reference forms inside
//! received expressions.

use std::sync::Arc;

use super::imports::{ImportedCap, RemotePromise};
use super::{Effects, ExportEntry, ImportSlot, SessionInner, State, driver::CloseRequest, embargo};
use crate::error::RpcError;
use crate::hook::Hook;
use crate::stub::{Promise, Stub};
use crate::value::{PropertyKey, Value};
use crate::wire::message::{self, Expr, Message};
use crate::wire::{Capture, Json, NoRefs, RefDecoder, decode};

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
        let msg = match message::parse_message(text, &self.limits) {
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
            other => self.with_state(|st, fx| st.receive(&session, fx, other)),
        };
        if let Err(e) = outcome {
            self.abort(e, true);
        }
    }

    /// Ends the session: every pending import fails with `reason`, every export is dropped
    /// (targets see `Drop`), `on_broken` callbacks run, and the writer closes the transport
    /// (with an `abort` message first when `notify_peer`).
    pub(crate) fn abort(&self, reason: RpcError, notify_peer: bool) {
        self.with_state(|st, fx| {
            if st.broken.is_some() {
                return;
            }
            st.broken = Some(reason.clone());
            for (_, slot) in st.imports.drain() {
                if let ImportSlot::Promise { weak } = slot
                    && let Some(p) = weak.upgrade()
                {
                    fx.wakers.extend(p.settle(Hook::error(reason.clone())));
                }
            }
            fx.drops.extend(st.exports.drain().map(|(_, e)| e.hook));
            st.close = Some(CloseRequest::new(&reason, notify_peer));
            let callbacks = std::mem::take(&mut st.on_broken)
                .into_iter()
                .map(|(_, cb)| cb)
                .collect();
            fx.broken = Some((reason, callbacks));
        });
    }
}

impl State {
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
            Message::Pull(id) => {
                let entry = self
                    .exports
                    .get_mut(&id)
                    .ok_or_else(|| no_such_export(id))?;
                // A second pull of the same export gets no second answer.
                if !entry.pulled {
                    entry.pulled = true;
                    fx.settlements.push((id, entry.hook.clone()));
                }
            }
            Message::Resolve(id, expr) => {
                let value = expr.decode(0, &limits, &mut SessionDecoder::new(self, fx, session))?;
                self.settle_import(session, id, Hook::from_payload(value), fx);
            }
            Message::Reject(id, expr) => {
                let value = expr.decode(0, &limits, &mut SessionDecoder::new(self, fx, session))?;
                self.settle_import(
                    session,
                    id,
                    // A thrown plain value may have been kept as text; errors carry trees.
                    Hook::error(RpcError::from_wire_value(value.into_value())),
                    fx,
                );
            }
            Message::Release(id, count) => {
                let entry = self
                    .exports
                    .get_mut(&id)
                    .ok_or_else(|| no_such_export(id))?;
                if count > entry.refcount {
                    return Err(RpcError::protocol(format!(
                        "refcount would go negative: {} < {count}",
                        entry.refcount
                    )));
                }
                entry.refcount -= count;
                if entry.refcount == 0
                    && let Some(entry) = self.exports.remove(&id)
                {
                    fx.drops.push(entry.hook);
                }
            }
            Message::Stream(_) | Message::Pipe => {
                return Err(RpcError::protocol(
                    "streams (stream/pipe messages) are not supported by this implementation yet",
                ));
            }
            Message::Push(_) | Message::Abort(_) => {}
        }
        Ok(())
    }

    /// Evaluates a `push`, taking the next export ID; calls in it are delivered once the lock
    /// is released.
    fn receive_push(
        &mut self,
        session: &Arc<SessionInner>,
        fx: &mut Effects,
        expr: Expr<'_>,
    ) -> Result<(i64, crate::value::Payload), RpcError> {
        if let Some(reason) = &self.broken {
            return Err(reason.clone());
        }
        self.peer_push_count += 1;
        let id = self.peer_push_count;
        let value = expr.decode(
            0,
            &session.limits,
            &mut SessionDecoder::new(self, fx, session),
        )?;
        Ok((id, value))
    }

    /// Records the result of push `id` as an export.
    fn add_push_export(&mut self, id: i64, value: crate::value::Payload, fx: &mut Effects) {
        let mut hook = Hook::from_payload(value);
        if let Hook::Local(cell) = &hook {
            // Calls that finished synchronously need no promise in between.
            if let Some(settled) = cell.settled() {
                hook = settled;
            }
        }
        if self.broken.is_some() {
            fx.drops.push(hook);
        } else {
            self.exports.insert(
                id,
                ExportEntry {
                    hook,
                    refcount: 1,
                    pulled: false,
                },
            );
        }
    }

    /// Settles our import `id` and releases it, as the JS importer does right after a
    /// `resolve`/`reject`. A settlement for an import we no longer hold is evaluated (so stubs in
    /// it are released) and discarded.
    fn settle_import(
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
                            // A waiter sends it when it resumes (`imports::WakeUp`).
                            self.queue_release_for_waiter(id);
                        }
                        fx.wakers.extend(waiters);
                    }
                    None => {
                        fx.drops.push(hook);
                        self.queue(message::release_text(id, 1));
                    }
                }
                self.imports.remove(&id);
            }
            _ => fx.drops.push(hook),
        }
    }
}

fn no_such_export(id: i64) -> RpcError {
    RpcError::protocol(format!("no such export ID: {id}"))
}

/// Resolves reference forms in received expressions against the session's tables.
pub(crate) struct SessionDecoder<'a> {
    st: &'a mut State,
    fx: &'a mut Effects,
    session: &'a Arc<SessionInner>,
}

impl<'a> SessionDecoder<'a> {
    pub(crate) fn new(
        st: &'a mut State,
        fx: &'a mut Effects,
        session: &'a Arc<SessionInner>,
    ) -> Self {
        SessionDecoder { st, fx, session }
    }

    /// The hook for `["import"|"pipeline", id, path?, args?]`: our export `id`, or a call or
    /// property read on it, delivered after the lock is released.
    fn reference(
        &mut self,
        id: i64,
        path: Option<Vec<PropertyKey>>,
        args: Option<crate::value::Args>,
    ) -> Result<Hook, RpcError> {
        let hook = match self.st.exports.get(&id) {
            Some(entry) => entry.hook.clone(),
            None => {
                return Err(RpcError::protocol(format!(
                    "no such entry on exports table: {id}"
                )));
            }
        };
        Ok(match (path, args) {
            (Some(path), Some(args)) => self.fx.defer_call(hook, path, args),
            // Our own embargo probe, forwarded back to us: answered here, never by the target.
            (Some(path), None) if embargo::is_probe(&path) => {
                Hook::Value(Arc::new(Value::Undefined))
            }
            (Some(path), None) if !path.is_empty() => self.fx.defer_get(hook, path),
            _ => hook,
        })
    }
}

impl RefDecoder for SessionDecoder<'_> {
    fn import(
        &mut self,
        id: i64,
        path: Option<Vec<PropertyKey>>,
        args: Option<crate::value::Args>,
    ) -> Result<Value, RpcError> {
        Ok(Value::Stub(Stub::from_hook(
            self.reference(id, path, args)?,
        )))
    }

    fn pipeline(
        &mut self,
        id: i64,
        path: Option<Vec<PropertyKey>>,
        args: Option<crate::value::Args>,
    ) -> Result<Value, RpcError> {
        Ok(Value::Promise(Promise::from_hook(
            self.reference(id, path, args)?,
        )))
    }

    fn export(&mut self, id: i64) -> Result<Value, RpcError> {
        let cap = match self.st.imports.get_mut(&id) {
            Some(ImportSlot::Cap { weak, refcount }) => {
                // Re-introduced: count it, so our release returns every reference.
                *refcount += 1;
                match weak.upgrade() {
                    Some(cap) => cap,
                    None => {
                        let cap = Arc::new(ImportedCap {
                            session: self.session.clone(),
                            id,
                        });
                        *weak = Arc::downgrade(&cap);
                        cap
                    }
                }
            }
            Some(ImportSlot::Promise { .. }) => {
                return Err(RpcError::protocol(format!(
                    "the peer exported ID {id}, which names one of its pending promises"
                )));
            }
            None => {
                let cap = Arc::new(ImportedCap {
                    session: self.session.clone(),
                    id,
                });
                self.st.imports.insert(
                    id,
                    ImportSlot::Cap {
                        weak: Arc::downgrade(&cap),
                        refcount: 1,
                    },
                );
                cap
            }
        };
        Ok(Value::Stub(Stub::from_hook(Hook::Import(cap))))
    }

    fn promise(&mut self, id: i64) -> Result<Value, RpcError> {
        if self.st.imports.contains_key(&id) {
            // capnweb yields a broken promise here rather than aborting.
            return Ok(Value::Promise(Promise::from_hook(Hook::error(
                RpcError::Capability(
                    "Bug in RPC system: The peer sent a promise reusing an existing export ID."
                        .into(),
                ),
            ))));
        }
        // Promise exports are settled by the peer unasked: never pull them.
        let promise = RemotePromise::new(self.session.clone(), id, true);
        self.st.imports.insert(
            id,
            ImportSlot::Promise {
                weak: Arc::downgrade(&promise),
            },
        );
        Ok(Value::Promise(Promise::from_hook(Hook::Remote(promise))))
    }

    fn remap(
        &mut self,
        id: i64,
        path: Vec<PropertyKey>,
        captures: Vec<Capture>,
        instructions: Vec<Json>,
    ) -> Result<Value, RpcError> {
        let subject = self.reference(id, Some(path), None)?;
        let mut hooks = Vec::with_capacity(captures.len());
        for capture in captures {
            hooks.push(match capture {
                Capture::Import(n) => self.reference(n, None, None)?,
                // A capability the peer hosts; released when the map is done with it.
                Capture::Export(n) => match self.export(n)? {
                    Value::Stub(stub) => stub.hook,
                    _ => unreachable!("export() always yields a stub"),
                },
            });
        }
        let program = crate::map::Program {
            captures: hooks,
            instructions,
            limits: self.session.limits,
        };
        let result = self.fx.defer_start(crate::map::replay(subject, program));
        Ok(Value::Promise(Promise::from_hook(result)))
    }

    fn writable(&mut self, _id: i64) -> Result<Value, RpcError> {
        Err(RpcError::protocol(
            "writable streams are not supported by this implementation yet",
        ))
    }

    fn readable(&mut self, _id: i64) -> Result<Value, RpcError> {
        Err(RpcError::protocol(
            "readable streams are not supported by this implementation yet",
        ))
    }
}
