//! Recording a `.map()` closure into a `remap` program (protocol.md section 9.1).
//!
//! The closure runs once, at once, on the calling thread, with a placeholder for the element.
//! While it runs, a recorder sits on a thread-local stack and `Hook::call`/`Hook::get` route
//! here instead of doing anything: calls become instructions and return placeholders for their
//! results; property reads extend a placeholder's path inline (as capnweb records them);
//! capabilities from outside the closure become captures. A nested `.map()` pushes a second
//! recorder and becomes one `remap` instruction of the enclosing program.

use std::cell::RefCell;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::RpcError;
use crate::hook::Hook;
use crate::stub::{Promise, Stub};
use crate::task::{CallSite, deliver};
use crate::value::{PropertyKey, Value};
use crate::wire::encode::write_path;
use crate::wire::{Args, PayloadRef};
use crate::wire::{Json, Limits, RefEncoder, encode, json};

use super::replay::{Program, replay};

/// A placeholder inside a mapper: variable `index` of recorder `recorder` (0 = the element,
/// k > 0 = the result of instruction k, -j = capture j), with a property path read from it.
#[derive(Debug)]
pub(crate) struct MapVar {
    pub(crate) recorder: u64,
    pub(crate) index: i64,
    pub(crate) path: Vec<PropertyKey>,
}

impl MapVar {
    pub(crate) fn same_as(&self, other: &MapVar) -> bool {
        self.recorder == other.recorder && self.index == other.index && self.path == other.path
    }
}

struct Recorder {
    id: u64,
    instructions: Vec<String>,
    captures: Vec<Hook>,
    /// The first operation the callback made that cannot be recorded: the whole map fails
    /// with it (a partial program would run something other than the callback).
    failed: Option<RpcError>,
}

thread_local! {
    static RECORDERS: RefCell<Vec<Recorder>> = const { RefCell::new(Vec::new()) };
}

static NEXT_RECORDER: AtomicU64 = AtomicU64::new(1);

/// True while a mapper is being recorded on this thread.
pub(crate) fn recording() -> bool {
    RECORDERS.with(|r| !r.borrow().is_empty())
}

/// Runs `f` with recording suspended (for engine work that happens to run on a recording
/// thread, which must act for real).
pub(crate) fn suspended<R>(f: impl FnOnce() -> R) -> R {
    // Nearly always nothing is being recorded (every locked section of a session comes here):
    // then there is nothing to set aside. Recording in `f` is balanced (`Popper`).
    let saved = RECORDERS.with(|r| {
        let mut stack = r.borrow_mut();
        (!stack.is_empty()).then(|| std::mem::take(&mut *stack))
    });
    let Some(saved) = saved else {
        return f();
    };
    let result = f();
    RECORDERS.with(|r| *r.borrow_mut() = saved);
    result
}

/// Records a call (`args: Some`) or a property read (`None`) on `hook`, returning the
/// placeholder for its result; when nothing is being recorded, hands `args` back.
pub(crate) fn intercept(
    hook: &Hook,
    path: &[PropertyKey],
    args: Option<Args>,
) -> Result<Hook, Option<Args>> {
    if !recording() {
        return Err(args);
    }
    Ok(RECORDERS.with(|r| {
        let mut stack = r.borrow_mut();
        let top = stack.len() - 1;
        match record_op(&mut stack, top, hook, path, args) {
            Ok(h) => h,
            Err(e) => {
                stack[top].failed.get_or_insert_with(|| e.clone());
                Hook::error(e)
            }
        }
    }))
}

fn record_op(
    stack: &mut [Recorder],
    depth: usize,
    hook: &Hook,
    path: &[PropertyKey],
    args: Option<Args>,
) -> Result<Hook, RpcError> {
    let (index, mut full_path) = reference(stack, depth, hook);
    full_path.extend_from_slice(path);
    let id = stack[depth].id;
    let Some(args) = args else {
        // Property reads stay inline: no instruction, just a longer path.
        return Ok(Hook::MapVar(Arc::new(MapVar {
            recorder: id,
            index,
            path: full_path,
        })));
    };
    let mut text = format!("[\"pipeline\",{index},");
    write_path(&full_path, &mut text);
    text.push(',');
    encode::encode_args(
        &args,
        &mut RecordEncoder {
            stack: &mut *stack,
            depth,
        },
        &mut text,
    )?;
    text.push(']');
    let rec = &mut stack[depth];
    rec.instructions.push(text);
    let index = rec.instructions.len() as i64;
    Ok(Hook::MapVar(Arc::new(MapVar {
        recorder: id,
        index,
        path: Vec::new(),
    })))
}

/// The variable `hook` is at `depth`: its own placeholder, or a capture (added on first use).
fn reference(stack: &mut [Recorder], depth: usize, hook: &Hook) -> (i64, Vec<PropertyKey>) {
    let rec = &mut stack[depth];
    if let Hook::MapVar(var) = hook
        && var.recorder == rec.id
    {
        return (var.index, var.path.clone());
    }
    let position = match rec.captures.iter().position(|c| c.same_as(hook)) {
        Some(i) => i,
        None => {
            rec.captures.push(hook.clone());
            rec.captures.len() - 1
        }
    };
    (-(position as i64) - 1, Vec::new())
}

/// Writes values met in recorded arguments and results as variable references.
struct RecordEncoder<'a> {
    stack: &'a mut [Recorder],
    depth: usize,
}

impl RecordEncoder<'_> {
    fn write_ref(&mut self, tag: &str, hook: &Hook, out: &mut String) {
        let (index, path) = reference(self.stack, self.depth, hook);
        out.push_str(&format!("[\"{tag}\",{index}"));
        if !path.is_empty() {
            out.push(',');
            write_path(&path, out);
        }
        out.push(']');
    }
}

impl RefEncoder for RecordEncoder<'_> {
    fn readable(
        &mut self,
        _stream: &crate::stream::ReadableStream,
        _out: &mut String,
    ) -> Result<(), RpcError> {
        // capnweb cannot send one there either: a map program is replayed per element.
        Err(RpcError::type_error(
            "a ReadableStream cannot be used inside a .map() callback",
        ))
    }

    fn writable(
        &mut self,
        _stream: &crate::stream::WritableStream,
        _out: &mut String,
    ) -> Result<(), RpcError> {
        Err(RpcError::type_error(
            "a WritableStream cannot be used inside a .map() callback",
        ))
    }

    fn stub(&mut self, stub: &Stub, out: &mut String) -> Result<(), RpcError> {
        self.write_ref("import", &stub.hook, out);
        Ok(())
    }

    fn promise(&mut self, promise: &Promise, out: &mut String) -> Result<(), RpcError> {
        match &promise.hook {
            // A value already at hand travels inline.
            Hook::Value(v) => encode::encode_value(v, self, out),
            Hook::Text(text) => encode::encode_payload(PayloadRef::Text(text), self, out),
            hook => {
                self.write_ref("pipeline", hook, out);
                Ok(())
            }
        }
    }
}

/// Pops the recorder even if the closure panics.
struct Popper {
    armed: bool,
}

impl Drop for Popper {
    fn drop(&mut self) {
        if self.armed {
            RECORDERS.with(|r| r.borrow_mut().pop());
        }
    }
}

/// Records `f` over the value of `subject` and sends (or, for a local subject, runs) the
/// program. Returns the promise for the mapped result.
pub(crate) fn map_with(subject: &Hook, f: impl FnOnce(Promise) -> Value) -> Hook {
    let id = NEXT_RECORDER.fetch_add(1, Ordering::Relaxed);
    RECORDERS.with(|r| {
        r.borrow_mut().push(Recorder {
            id,
            instructions: Vec::new(),
            captures: Vec::new(),
            failed: None,
        })
    });
    let mut popper = Popper { armed: true };
    let element = Promise::from_hook(Hook::MapVar(Arc::new(MapVar {
        recorder: id,
        index: 0,
        path: Vec::new(),
    })));
    let result = f(element);
    RECORDERS.with(|r| {
        let mut stack = r.borrow_mut();
        let depth = stack.len() - 1;
        // The closure's result is the last instruction.
        let mut last = String::new();
        if let Err(e) = encode::encode_value(
            &result,
            &mut RecordEncoder {
                stack: &mut stack,
                depth,
            },
            &mut last,
        ) {
            stack.pop();
            popper.armed = false;
            return Hook::error(e);
        }
        // Disarmed only once popped: not even a panic while encoding the result may leave the
        // recorder on this thread's stack (`suspended` relies on it being balanced).
        let Some(mut rec) = stack.pop() else {
            return Hook::error(RpcError::Capability("map recorder lost".into()));
        };
        popper.armed = false;
        if let Some(failed) = rec.failed.take() {
            return Hook::error(failed);
        }
        rec.instructions.push(last);
        if stack.is_empty() {
            drop(stack);
            send_map(subject, rec.captures, rec.instructions)
        } else {
            nested(&mut stack, subject, rec).unwrap_or_else(Hook::error)
        }
    })
}

/// A `.map()` inside a mapper: one `remap` instruction of the enclosing program, whose captures
/// name variables of the enclosing mapper.
fn nested(stack: &mut [Recorder], subject: &Hook, inner: Recorder) -> Result<Hook, RpcError> {
    let depth = stack.len() - 1;
    let mut captures = Vec::with_capacity(inner.captures.len());
    for hook in &inner.captures {
        let (mut index, path) = reference(stack, depth, hook);
        if !path.is_empty() {
            // Captures carry no path: read the property into a variable first.
            let mut text = format!("[\"pipeline\",{index},");
            write_path(&path, &mut text);
            text.push(']');
            stack[depth].instructions.push(text);
            index = stack[depth].instructions.len() as i64;
        }
        captures.push(format!("[\"import\",{index}]"));
    }
    let (index, path) = reference(stack, depth, subject);
    let mut text = format!("[\"remap\",{index},");
    write_path(&path, &mut text);
    text.push_str(&format!(
        ",[{}],[{}]]",
        captures.join(","),
        inner.instructions.join(",")
    ));
    let rec = &mut stack[depth];
    rec.instructions.push(text);
    let index = rec.instructions.len() as i64;
    Ok(Hook::MapVar(Arc::new(MapVar {
        recorder: rec.id,
        index,
        path: Vec::new(),
    })))
}

/// Sends a recorded program as `["push", ["remap", ...]]` to the session hosting `subject`, or
/// runs it here if `subject` is local.
pub(crate) fn send_map(subject: &Hook, captures: Vec<Hook>, instructions: Vec<String>) -> Hook {
    match subject {
        Hook::Remote(p) => {
            let session = &p.session;
            let sent = session.with_state(|st, fx| match p.settled() {
                None => Ok(st.send_remap(session, fx, p.id, &captures, &instructions)),
                Some(resolved) => Err(resolved),
            });
            sent.unwrap_or_else(|resolved| send_map(&resolved, captures, instructions))
        }
        Hook::Import(cap) => {
            let session = &cap.session;
            session
                .with_state(|st, fx| st.send_remap(session, fx, cap.id, &captures, &instructions))
        }
        Hook::MapVar(_) => Hook::error(placeholder_misuse()),
        local => {
            let parsed: Result<Vec<Json>, RpcError> = instructions
                .iter()
                .map(|text| json::parse(text, &Limits::default()))
                .collect();
            match parsed {
                Ok(instructions) => {
                    let program = Program {
                        captures,
                        instructions,
                        limits: Limits::default(),
                        budget: crate::map::Budget::unlimited(),
                    };
                    deliver(CallSite::Map, || replay(local.clone(), program))
                }
                Err(e) => Hook::error(e),
            }
        }
    }
}

/// The error for using a placeholder where it cannot work.
pub(crate) fn placeholder_misuse() -> RpcError {
    RpcError::Capability(
        "a .map() placeholder was used outside its mapper function, or awaited inside it; \
         the mapper runs remotely: return what you need instead of awaiting it"
            .into(),
    )
}
