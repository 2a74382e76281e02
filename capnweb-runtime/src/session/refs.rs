//! The codec's callbacks against the tables: the encoder turns stubs and promises in outgoing
//! values into reference expressions (exporting what we host), the decoder turns reference forms
//! in received expressions into hooks (importing what the peer hosts).

use std::sync::Arc;

use super::import_handles::{ImportedCap, RemotePromise};
use super::{Effects, ImportSlot, SessionInner, State, embargo};
use crate::error::RpcError;
use crate::hook::Hook;
use crate::stream::{ReadableStream, WritableStream};
use crate::stub::{Promise, Stub};
use crate::value::{PropertyKey, Value};
use crate::wire::encode::{self, write_ref};
use crate::wire::{Capture, Json, RefDecoder, RefEncoder};
use crate::wire::{PayloadRef, limit_exceeded};

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
                None => self.export_new(hook, as_promise, out),
            },
            Hook::Value(v) if as_promise => encode::encode_value(v, self, out),
            Hook::Text(text) if as_promise => {
                encode::encode_payload(PayloadRef::Text(text), self, out)
            }
            Hook::Remote(p) => match p.settled() {
                Some(resolved) => self.encode_hook(&resolved, as_promise, out),
                None => self.export_new(hook, as_promise, out),
            },
            Hook::Error(_) => self.export_new(hook, as_promise, out),
            Hook::MapVar(_) => Err(crate::map::placeholder_misuse()),
            Hook::Target(_) | Hook::Import(_) | Hook::Value(_) | Hook::Text(_) => {
                self.export_new(hook, false, out)
            }
        }
    }

    /// `["export", -n]` for a capability, or `["promise", -n]` (settled later, unasked) for a
    /// promise.
    fn export_new(
        &mut self,
        hook: &Hook,
        as_promise: bool,
        out: &mut String,
    ) -> Result<(), RpcError> {
        let id = self
            .st
            .export(self.session, hook.clone(), as_promise, self.fx)?;
        if as_promise {
            self.fx.settlements.push((id, hook.clone()));
            write_ref(out, "promise", id);
        } else {
            write_ref(out, "export", id);
        }
        Ok(())
    }
}

impl RefEncoder for SessionEncoder<'_> {
    fn stub(&mut self, stub: &Stub, out: &mut String) -> Result<(), RpcError> {
        self.encode_hook(&stub.hook, false, out)
    }

    fn promise(&mut self, promise: &Promise, out: &mut String) -> Result<(), RpcError> {
        self.encode_hook(&promise.hook, true, out)
    }

    fn readable(&mut self, stream: &ReadableStream, out: &mut String) -> Result<(), RpcError> {
        self.send_readable(stream, out)
    }

    fn writable(&mut self, stream: &WritableStream, out: &mut String) -> Result<(), RpcError> {
        self.send_writable(stream, out)
    }
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

    /// Refuses a new import the table has no room for ([`Limits::max_imports`]).
    ///
    /// [`Limits::max_imports`]: crate::Limits::max_imports
    fn check_import_room(&self) -> Result<(), RpcError> {
        let max = self.session.limits.max_imports;
        if self.st.imports.len() >= max {
            return Err(limit_exceeded("max_imports", max));
        }
        Ok(())
    }

    /// The hook for `["import"|"pipeline", id, path?, args?]`: our export `id`, or a call or
    /// property read on it, delivered after the lock is released.
    fn reference(
        &mut self,
        id: i64,
        path: Option<Vec<PropertyKey>>,
        args: Option<crate::wire::Args>,
    ) -> Result<Hook, RpcError> {
        let hook = match self.st.exports.get(&id) {
            Some(entry) => entry.hook.clone(),
            None => {
                return Err(RpcError::protocol(format!(
                    "no such entry on exports table: {id}"
                )));
            }
        };
        let is_call = args.is_some() || path.as_ref().is_some_and(|p| !p.is_empty());
        if is_call {
            self.session.check_in_flight(self.fx.deliveries.len())?;
        }
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
        args: Option<crate::wire::Args>,
    ) -> Result<Value, RpcError> {
        Ok(Value::Stub(Stub::from_hook(
            self.reference(id, path, args)?,
        )))
    }

    fn pipeline(
        &mut self,
        id: i64,
        path: Option<Vec<PropertyKey>>,
        args: Option<crate::wire::Args>,
    ) -> Result<Value, RpcError> {
        Ok(Value::Promise(Promise::from_hook(
            self.reference(id, path, args)?,
        )))
    }

    fn export(&mut self, id: i64) -> Result<Value, RpcError> {
        check_peer_export_id("export", id)?;
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
            Some(ImportSlot::Promise { .. } | ImportSlot::StreamCall { .. }) => {
                return Err(RpcError::protocol(format!(
                    "the peer sent [\"export\",{id}], but import {id} is a promise it has not \
                     settled yet"
                )));
            }
            None => {
                self.check_import_room()?;
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
        check_peer_export_id("promise", id)?;
        if self.st.imports.contains_key(&id) {
            // capnweb yields a broken promise here and goes on; an entry is never overwritten,
            // and a peer that reuses an ID has lost track of its own table, so we abort.
            return Err(RpcError::protocol(format!(
                "the peer sent [\"promise\",{id}], but import {id} already exists: a promise \
                 must have a new ID"
            )));
        }
        self.check_import_room()?;
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
        let limits = &self.session.limits;
        if instructions.len() > limits.max_remap_instructions {
            return Err(limit_exceeded(
                "max_remap_instructions",
                limits.max_remap_instructions,
            ));
        }
        self.session.check_in_flight(self.fx.deliveries.len())?;
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
        // The replay runs after this message is applied; past a limit it ends the session.
        let session = Arc::downgrade(self.session);
        let budget = crate::map::Budget::new(
            &self.session.limits,
            Box::new(move |error| {
                if let Some(session) = session.upgrade() {
                    session.abort(error.clone(), true);
                }
            }),
        );
        let program = crate::map::Program {
            captures: hooks,
            instructions,
            limits: self.session.limits,
            budget,
        };
        let result = self.fx.defer_start(crate::map::replay(subject, program));
        Ok(Value::Promise(Promise::from_hook(result)))
    }

    fn writable(&mut self, id: i64) -> Result<Value, RpcError> {
        check_peer_export_id("writable", id)?;
        self.session.refuse_streams_in_batches()?;
        // The peer exports its writer like any capability; we write to it with stream calls.
        let Value::Stub(stub) = self.export(id)? else {
            unreachable!("export() makes a stub");
        };
        let Hook::Import(cap) = stub.hook else {
            unreachable!("export() makes an import");
        };
        Ok(Value::WritableStream(WritableStream::remote(
            super::RemoteWriter::new(cap),
        )))
    }

    fn readable(&mut self, id: i64) -> Result<Value, RpcError> {
        self.st.claim_pipe(id)
    }
}

/// The peer names what it exports (`["export", id]`, `["promise", id]`, a remap capture's
/// `["export", id]`) with IDs it picks from its own side of the ID space: negative ones
/// (protocol.md section 3). 0 is its main object, which is never introduced again, and positive
/// IDs are the results of our own calls: accepting one would let the peer's entry collide with
/// (or be overwritten by) the result of our next `push`.
fn check_peer_export_id(form: &str, id: i64) -> Result<(), RpcError> {
    if id < 0 {
        Ok(())
    } else {
        Err(RpcError::protocol(format!(
            "the peer sent [\"{form}\",{id}], but the IDs a peer exports must be negative"
        )))
    }
}
