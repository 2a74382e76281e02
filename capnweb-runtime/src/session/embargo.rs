//! Embargo: keeping E-order when a promise we pipelined through the peer resolves to something
//! on our own side (protocol.md section 11, rule 5).
//!
//! Calls we pipelined on the promise travel to the peer and are forwarded back to us; calls made
//! after the resolution would go straight to the local object and could overtake them. Cap'n
//! Proto solves this with a Disembargo message that loops through the peer; Cap'n Web has none
//! (capnweb 0.12.0 leaves a TODO here and reorders). We emulate one with plain protocol: a
//! property read of a reserved name, pipelined on the promise right after its resolution
//! arrives. The peer delivers it after the calls we pipelined before (E-order on its side) and
//! forwards it back to us behind them; we answer it ourselves without touching the target. When
//! its answer arrives, every earlier call has been delivered here, and the calls held meanwhile
//! are released in order.

use std::sync::Arc;

use super::{Effects, SessionInner, State};
use crate::hook::Hook;
use crate::local_promise::LocalPromise;
use crate::task::spawn_settling;
use crate::value::{PropertyKey, Value};

/// The reserved property the probe reads. A read of it through one of our exports is answered
/// by the session itself, never by the application's target.
pub(crate) const EMBARGO_PROBE: &str = "__capnweb_rs_embargo__";

/// True if `path` is the probe's property read.
pub(crate) fn is_probe(path: &[PropertyKey]) -> bool {
    matches!(path, [PropertyKey::Name(name)] if name == EMBARGO_PROBE)
}

impl State {
    /// The hook a pipelined-on promise `id` should settle to: `resolution` itself, or, when
    /// that lives on our side of this session, a gate that opens once the probe comes back.
    pub(crate) fn embargo_if_needed(
        &mut self,
        session: &Arc<SessionInner>,
        fx: &mut Effects,
        id: i64,
        resolution: Hook,
    ) -> Hook {
        if !is_on_our_side(&resolution, session) {
            return resolution;
        }
        let probe = self.send_push(
            session,
            fx,
            id,
            &[PropertyKey::Name(EMBARGO_PROBE.into())],
            None,
        );
        let gate = LocalPromise::new();
        let opener = gate.clone();
        spawn_settling(
            opener,
            "the embargo on a resolved promise".into(),
            async move {
                // Whatever the probe's outcome (even a failure), the path it travelled is clear.
                let _ = probe.pull().await;
                resolution
            },
        );
        Hook::Local(gate)
    }
}

/// Whether calls on `hook` would be delivered without going through this session's peer.
fn is_on_our_side(hook: &Hook, session: &Arc<SessionInner>) -> bool {
    match hook {
        Hook::Import(cap) => !Arc::ptr_eq(&cap.session, session),
        Hook::Remote(p) => !Arc::ptr_eq(&p.session, session),
        Hook::Target(_) | Hook::Local(_) => true,
        Hook::Value(v) => contains_capability(v),
        Hook::Text(_) | Hook::Error(_) | Hook::MapVar(_) => false,
    }
}

fn contains_capability(value: &Value) -> bool {
    match value {
        Value::Stub(_) | Value::Promise(_) => true,
        Value::Array(items) => items.iter().any(contains_capability),
        Value::Object(map) => map.values().any(contains_capability),
        _ => false,
    }
}
