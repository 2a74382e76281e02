//! Sending a recorded `.map()` program as `["push", ["remap", ...]]`.

use std::sync::Arc;

use super::imports::broken_hook;
use super::{Effects, SessionInner, State};
use crate::error::RpcError;
use crate::hook::Hook;
use crate::wire::{Capture, message};

impl State {
    /// Sends `["push", ["remap", subject, [], captures, instructions]]` and returns the promise
    /// for the mapped result.
    pub(crate) fn send_remap(
        &mut self,
        session: &Arc<SessionInner>,
        fx: &mut Effects,
        subject: i64,
        captures: &[Hook],
        instructions: &[String],
    ) -> Hook {
        if let Some(reason) = &self.broken {
            return broken_hook(reason);
        }
        let mark = self.last_export_id;
        let mut refs = Vec::with_capacity(captures.len());
        for hook in captures {
            match self.capture_ref(session, hook, fx) {
                Ok(r) => refs.push(r),
                Err(e) => {
                    self.unexport_since(mark, fx);
                    return Hook::error(e);
                }
            }
        }
        let text = message::remap_push_text(subject, &refs, instructions);
        self.register_push(session, fx, text)
    }

    /// A capture as the peer sees it: `["import", id]` for what it hosts (settled or not),
    /// `["export", -n]` for anything we host (or proxy), which it releases after the map.
    fn capture_ref(
        &mut self,
        session: &Arc<SessionInner>,
        hook: &Hook,
        fx: &mut Effects,
    ) -> Result<Capture, RpcError> {
        match hook {
            Hook::Import(cap) if Arc::ptr_eq(&cap.session, session) => Ok(Capture::Import(cap.id)),
            Hook::Remote(p) if Arc::ptr_eq(&p.session, session) => match p.settled() {
                Some(resolved) => self.capture_ref(session, &resolved, fx),
                None => Ok(Capture::Import(p.id)),
            },
            Hook::MapVar(_) => Err(crate::map::placeholder_misuse()),
            other => Ok(Capture::Export(self.export(
                session,
                other.clone(),
                false,
                fx,
            )?)),
        }
    }
}
