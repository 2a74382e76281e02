//! The export table: what we host for the peer. Receiving `push` (a new export per call),
//! `pull` (a settlement is owed) and `release`, and exporting our own objects and promises.

use std::sync::Arc;

use super::refs::SessionDecoder;
use super::{Effects, SessionInner, State};
use crate::error::RpcError;
use crate::hook::Hook;
use crate::wire::limit_exceeded;
use crate::wire::message::Expr;

/// An entry of the export table: something we host for the peer.
pub(crate) struct ExportEntry {
    pub(crate) hook: Hook,
    /// References the peer holds; the entry goes when it releases them all.
    pub(crate) refcount: u64,
    /// Whether the peer asked for (or, for `["promise", id]` exports, will get) a settlement.
    pub(crate) pulled: bool,
    /// A `stream` call: answered unasked and forgotten once answered (no `release` comes).
    pub(crate) stream: bool,
}

impl State {
    /// Evaluates a `push`, taking the next export ID; calls in it are delivered once the lock
    /// is released.
    pub(super) fn receive_push(
        &mut self,
        session: &Arc<SessionInner>,
        fx: &mut Effects,
        expr: Expr<'_>,
    ) -> Result<(i64, crate::wire::Payload), RpcError> {
        if let Some(reason) = &self.broken {
            return Err(reason.clone());
        }
        // Its export is added after the push is evaluated; the check is here so an abort
        // happens before the call is delivered.
        if self.exports.len() >= session.limits.max_exports {
            return Err(limit_exceeded("max_exports", session.limits.max_exports));
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
    pub(super) fn add_push_export(
        &mut self,
        id: i64,
        value: crate::wire::Payload,
        fx: &mut Effects,
    ) {
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
                    stream: false,
                },
            );
        }
    }

    /// Adds an export with a fresh negative ID (capnweb never reuses IDs, and a JS importer
    /// would leak a reference if we re-exported one). A full table ends the session: the peer
    /// holds too much of what we sent it.
    pub(crate) fn export(
        &mut self,
        session: &SessionInner,
        hook: Hook,
        pulled: bool,
        fx: &mut Effects,
    ) -> Result<i64, RpcError> {
        if let Some(reason) = &self.broken {
            return Err(reason.clone());
        }
        let max = session.limits.max_exports;
        if self.exports.len() >= max {
            let reason = limit_exceeded("max_exports", max);
            self.end(reason.clone(), true, fx);
            return Err(reason);
        }
        self.last_export_id -= 1;
        let id = self.last_export_id;
        self.exports.insert(
            id,
            ExportEntry {
                hook,
                refcount: 1,
                pulled,
                stream: false,
            },
        );
        Ok(id)
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

    /// `["pull", id]`: the peer wants the settlement of export `id` (once).
    pub(super) fn receive_pull(&mut self, id: i64, fx: &mut Effects) -> Result<(), RpcError> {
        let entry = self
            .exports
            .get_mut(&id)
            .ok_or_else(|| no_such_export(id))?;
        // A second pull of the same export gets no second answer.
        if !entry.pulled {
            entry.pulled = true;
            fx.settlements.push((id, entry.hook.clone()));
        }
        Ok(())
    }

    /// `["release", id, count]`: the peer drops `count` references; the last one removes the
    /// entry (and drops what it held, after the lock).
    pub(super) fn receive_release(
        &mut self,
        id: i64,
        count: u64,
        fx: &mut Effects,
    ) -> Result<(), RpcError> {
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
        Ok(())
    }
}

fn no_such_export(id: i64) -> RpcError {
    RpcError::protocol(format!("no such export ID: {id}"))
}
