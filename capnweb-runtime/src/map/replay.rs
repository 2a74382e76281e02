//! Replaying a `remap` program: the mapper runs once per array element (or once for a single
//! value; null and undefined pass through unmapped).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::error::RpcError;
use crate::hook::Hook;
use crate::stub::{Promise, Stub};
use crate::target::CallFuture;
use crate::value::{PropertyKey, Value};
use crate::wire::Args;
use crate::wire::{Capture, Json, Limits, RefDecoder, decode, limit_exceeded};

/// A recorded mapper: its captures (already resolved to hooks) and instructions.
pub(crate) struct Program {
    pub(crate) captures: Vec<Hook>,
    pub(crate) instructions: Vec<Json>,
    pub(crate) limits: Limits,
    /// What the replay may still create, shared with the maps nested in it.
    pub(crate) budget: Arc<Budget>,
}

/// Called with the error when a peer's map goes past a limit (it aborts the session).
pub(crate) type OnExceeded = Box<dyn Fn(&RpcError) + Send + Sync>;

/// How many values one `remap` from the peer may still create as it replays
/// (`Limits::max_remap_output`), over every element and every nested map, and what to do when a
/// limit is exceeded. A few hundred bytes of message could otherwise make millions of values:
/// the output is the number of elements times the number of instructions, nested maps multiply.
pub(crate) struct Budget {
    left: AtomicUsize,
    max: usize,
    on_exceeded: Option<OnExceeded>,
}

impl Budget {
    /// The budget of a map the peer sent.
    pub(crate) fn new(limits: &Limits, on_exceeded: OnExceeded) -> Arc<Budget> {
        Arc::new(Budget {
            left: AtomicUsize::new(limits.max_remap_output),
            max: limits.max_remap_output,
            on_exceeded: Some(on_exceeded),
        })
    }

    /// No limit: a map over our own values, recorded by our own code.
    pub(crate) fn unlimited() -> Arc<Budget> {
        Arc::new(Budget {
            left: AtomicUsize::new(usize::MAX),
            max: usize::MAX,
            on_exceeded: None,
        })
    }

    /// Takes one value from the budget.
    fn take(&self) -> Result<(), RpcError> {
        let took = self
            .left
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1));
        match took {
            Ok(_) => Ok(()),
            Err(_) => Err(self.exceeded("max_remap_output", self.max)),
        }
    }

    /// Refuses a program longer than `Limits::max_remap_instructions`.
    pub(crate) fn check_length(
        &self,
        instructions: usize,
        limits: &Limits,
    ) -> Result<(), RpcError> {
        if self.on_exceeded.is_some() && instructions > limits.max_remap_instructions {
            return Err(self.exceeded("max_remap_instructions", limits.max_remap_instructions));
        }
        Ok(())
    }

    fn exceeded(&self, name: &str, value: usize) -> RpcError {
        let error = limit_exceeded(name, value);
        if let Some(on_exceeded) = &self.on_exceeded {
            on_exceeded(&error);
        }
        error
    }
}

/// Waits for `subject` and applies `program` to it. Captures are released when the returned
/// future finishes (they are owned by it).
pub(crate) fn replay(subject: Hook, program: Program) -> CallFuture {
    Box::pin(async move {
        let value = subject.pull().await?.into_value();
        drop(subject);
        match value {
            Value::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    out.push(run_once(item, &program)?);
                }
                Ok(Value::Array(out))
            }
            Value::Null | Value::Undefined => Ok(value),
            single => run_once(single, &program),
        }
    })
}

/// Runs the mapper for one input: every instruction but the last becomes a variable; the last
/// is the result. The variables are dropped afterwards.
fn run_once(element: Value, program: &Program) -> Result<Value, RpcError> {
    let mut vars = vec![Hook::from_value(element)];
    let Some((last, body)) = program.instructions.split_last() else {
        return Err(RpcError::protocol("Invalid empty mapper function."));
    };
    for instruction in body {
        program.budget.take()?;
        let value = evaluate(instruction, &vars, program)?;
        vars.push(Hook::from_value(value));
    }
    program.budget.take()?;
    evaluate(last, &vars, program)
}

fn evaluate(instruction: &Json, vars: &[Hook], program: &Program) -> Result<Value, RpcError> {
    let mut refs = MapDecoder {
        vars,
        captures: &program.captures,
        limits: program.limits,
        budget: &program.budget,
    };
    decode::decode_expr(instruction.clone(), 0, &program.limits, &mut refs)
}

/// Resolves references inside mapper instructions against the variable table: 0 is the input,
/// k > 0 the result of instruction k, -j capture j.
struct MapDecoder<'a> {
    vars: &'a [Hook],
    captures: &'a [Hook],
    limits: Limits,
    budget: &'a Arc<Budget>,
}

impl MapDecoder<'_> {
    fn var(&self, id: i64) -> Result<&Hook, RpcError> {
        let found = if id >= 0 {
            usize::try_from(id).ok().and_then(|i| self.vars.get(i))
        } else {
            usize::try_from(-id - 1)
                .ok()
                .and_then(|i| self.captures.get(i))
        };
        found.ok_or_else(|| RpcError::protocol(format!("no such variable in mapper: {id}")))
    }

    fn apply(
        &self,
        id: i64,
        path: Option<Vec<PropertyKey>>,
        args: Option<Args>,
    ) -> Result<Hook, RpcError> {
        let hook = self.var(id)?;
        Ok(match (path, args) {
            (Some(path), Some(args)) => hook.call(&path, args),
            (Some(path), None) => hook.get(&path),
            (None, _) => hook.clone(),
        })
    }
}

/// A settled data result is used as the value itself, so replaying over plain data needs no
/// promise machinery.
fn as_promise_value(hook: Hook) -> Value {
    match hook {
        Hook::Value(v) => Arc::try_unwrap(v).unwrap_or_else(|v| (*v).clone()),
        Hook::Text(text) => text.expand(),
        other => Value::Promise(Promise::from_hook(other)),
    }
}

impl RefDecoder for MapDecoder<'_> {
    fn import(
        &mut self,
        id: i64,
        path: Option<Vec<PropertyKey>>,
        args: Option<Args>,
    ) -> Result<Value, RpcError> {
        Ok(Value::Stub(Stub::from_hook(self.apply(id, path, args)?)))
    }

    fn pipeline(
        &mut self,
        id: i64,
        path: Option<Vec<PropertyKey>>,
        args: Option<Args>,
    ) -> Result<Value, RpcError> {
        Ok(as_promise_value(self.apply(id, path, args)?))
    }

    fn export(&mut self, _id: i64) -> Result<Value, RpcError> {
        Err(RpcError::protocol(
            "A mapper function cannot refer to exports.",
        ))
    }

    fn promise(&mut self, _id: i64) -> Result<Value, RpcError> {
        Err(RpcError::protocol(
            "A mapper function cannot refer to exports.",
        ))
    }

    fn remap(
        &mut self,
        id: i64,
        path: Vec<PropertyKey>,
        captures: Vec<Capture>,
        instructions: Vec<Json>,
    ) -> Result<Value, RpcError> {
        self.budget.check_length(instructions.len(), &self.limits)?;
        let subject = self.var(id)?.get(&path);
        let captures = captures
            .into_iter()
            .map(|c| match c {
                // Nested captures name variables of the enclosing mapper.
                Capture::Import(n) => self.var(n).cloned(),
                Capture::Export(_) => Err(RpcError::protocol(
                    "A mapper function cannot refer to exports.",
                )),
            })
            .collect::<Result<Vec<_>, _>>()?;
        let program = Program {
            captures,
            instructions,
            limits: self.limits,
            budget: self.budget.clone(),
        };
        Ok(Value::Promise(Promise::from_hook(crate::task::deliver(
            crate::task::CallSite::Map,
            || replay(subject, program),
        ))))
    }

    fn writable(&mut self, _id: i64) -> Result<Value, RpcError> {
        Err(RpcError::protocol("A mapper function cannot use streams."))
    }

    fn readable(&mut self, _id: i64) -> Result<Value, RpcError> {
        Err(RpcError::protocol("A mapper function cannot use streams."))
    }
}
