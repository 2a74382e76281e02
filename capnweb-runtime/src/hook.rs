//! The capability reference abstraction every stub and promise is built on.
//!
//! A [`Hook`] is "something you can call, read a property of, or wait for". Every operation is
//! synchronous and returns another hook at once, which is what makes pipelining uniform: a call
//! on a remote promise becomes a pipelined `push`, a call on a local promise is queued until it
//! resolves, a call on a local target is delivered immediately.

use std::future::Future;
use std::sync::Arc;

use crate::error::RpcError;
use crate::lanes::{Lanes, Waiting};
use crate::local_promise::LocalPromise;
use crate::session::{ImportedCap, RemotePromise};
use crate::target::{Request, RpcTarget, is_blocked_name};
use crate::task::{CallSite, SettleOnDrop, current_scope, deliver, spawn_detached};
use crate::value::{PropertyKey, Value};
use crate::wire::{Args, Payload, WireText};

/// A future resolving a hook to its value (text stays text: the typed layer reads it as it is,
/// the encoder copies it, everything else expands it).
pub(crate) type PullFuture =
    std::pin::Pin<Box<dyn Future<Output = Result<Payload, RpcError>> + Send + 'static>>;

/// What a stub or promise points at.
#[derive(Clone)]
pub(crate) enum Hook {
    /// A local object.
    Target(Arc<dyn RpcTarget>),
    /// A settled capability hosted by the peer of some session.
    Import(Arc<ImportedCap>),
    /// A result the peer will send (our `push`, or a `["promise", id]` it introduced).
    Remote(Arc<RemotePromise>),
    /// A local computation that has not finished.
    Local(Arc<LocalPromise>),
    /// Settled data (which may contain stubs and promises).
    Value(Arc<Value>),
    /// Settled plain data in wire form (a typed result, or a large value as received).
    Text(Arc<WireText>),
    /// A broken reference: every operation fails with this error.
    Error(Arc<RpcError>),
    /// A placeholder inside a `.map()` closure being recorded.
    MapVar(Arc<crate::map::MapVar>),
}

/// What a hook's value waits for (see [`Hook::pull_now`]).
pub(crate) enum PullLater<'a> {
    Remote(&'a Arc<RemotePromise>),
    Local(&'a Arc<LocalPromise>),
    /// A value holding promises, to be replaced by their resolutions.
    Substitute(&'a Arc<Value>),
}

impl Hook {
    /// A hook for a settled value; stubs and promises are unwrapped to their own hooks.
    pub(crate) fn from_value(value: Value) -> Hook {
        match value {
            Value::Stub(s) => s.hook,
            Value::Promise(p) => p.hook,
            other => Hook::Value(Arc::new(other)),
        }
    }

    /// A hook for a settled value that may be wire text.
    pub(crate) fn from_payload(payload: Payload) -> Hook {
        match payload {
            Payload::Tree(value) => Hook::from_value(value),
            Payload::Text(text) => Hook::Text(Arc::new(text)),
        }
    }

    /// A broken hook.
    pub(crate) fn error(error: RpcError) -> Hook {
        Hook::Error(Arc::new(error))
    }

    /// A hook for the outcome of a call.
    pub(crate) fn from_result(result: Result<impl Into<Payload>, RpcError>) -> Hook {
        match result {
            Ok(v) => Hook::from_payload(v.into()),
            Err(e) => Hook::error(e),
        }
    }

    /// Calls the method at `path` (an empty path invokes the object itself).
    pub(crate) fn call(&self, path: &[PropertyKey], args: Args) -> Hook {
        let args = match crate::map::intercept(self, path, Some(args)) {
            Ok(recorded) => return recorded,
            Err(args) => args.unwrap_or_default(),
        };
        match self {
            Hook::Target(t) => call_target(t, path, args),
            Hook::Import(cap) => cap.call(path, args),
            Hook::Remote(p) => p.call(path, args),
            Hook::Local(p) => p.call(path, args),
            Hook::Value(v) => call_in_value(v, path, args),
            Hook::Text(_) => Hook::error(not_a_function(path)),
            Hook::Error(_) => self.clone(),
            Hook::MapVar(_) => Hook::error(crate::map::placeholder_misuse()),
        }
    }

    /// Reads the property at `path` (an empty path is the object itself).
    pub(crate) fn get(&self, path: &[PropertyKey]) -> Hook {
        if path.is_empty() {
            return self.clone();
        }
        if let Ok(recorded) = crate::map::intercept(self, path, None) {
            return recorded;
        }
        match self {
            Hook::Target(t) => get_from_target(t, path),
            Hook::Import(cap) => cap.get(path),
            Hook::Remote(p) => p.get(path),
            Hook::Local(p) => p.get(path),
            Hook::Value(v) => get_in_value(v, path),
            Hook::Text(text) => get_in_value(&Arc::new(text.expand()), path),
            Hook::Error(_) => self.clone(),
            Hook::MapVar(_) => Hook::error(crate::map::placeholder_misuse()),
        }
    }

    /// Waits for the hook to settle and returns its value with every nested promise replaced by
    /// its resolution. Capabilities resolve to [`Value::Stub`].
    pub(crate) fn pull(&self) -> PullFuture {
        match self.pull_now() {
            Ok(ready) => Box::pin(std::future::ready(ready)),
            Err(PullLater::Remote(p)) => p.pull(),
            Err(PullLater::Local(p)) => p.pull(),
            Err(PullLater::Substitute(v)) => {
                let v = (**v).clone();
                Box::pin(async move { substitute(v).await.map(Payload::Tree) })
            }
        }
    }

    /// What [`Self::pull`] yields, if it needs no waiting (a promise settled to a plain value,
    /// the common case of a call's result), so that it can be awaited without boxing a future;
    /// otherwise what there is to wait for.
    pub(crate) fn pull_now(&self) -> Result<Result<Payload, RpcError>, PullLater<'_>> {
        Ok(match self {
            Hook::Target(_) | Hook::Import(_) => Ok(Payload::Tree(Value::Stub(
                crate::Stub::from_hook(self.clone()),
            ))),
            Hook::Remote(p) => return Err(PullLater::Remote(p)),
            Hook::Local(p) => return Err(PullLater::Local(p)),
            Hook::Value(v) if v.contains_promise() => return Err(PullLater::Substitute(v)),
            Hook::Value(v) => Ok(Payload::Tree((**v).clone())),
            Hook::Text(text) => Ok(Payload::Text((**text).clone())),
            Hook::Error(e) => Err((**e).clone()),
            Hook::MapVar(_) => Err(crate::map::placeholder_misuse()),
        })
    }

    /// What ends this reference's usefulness: the session it came through, an error it
    /// already has, or nothing (a local object works as long as it is held).
    pub(crate) fn lifeline(&self) -> Lifeline {
        match self {
            Hook::Import(cap) => Lifeline::Session(cap.session.clone()),
            Hook::Remote(p) => match p.settled() {
                Some(resolution) => resolution.lifeline(),
                None => Lifeline::Session(p.session.clone()),
            },
            Hook::Error(e) => Lifeline::Broken((**e).clone()),
            Hook::Target(_) | Hook::Local(_) | Hook::Value(_) | Hook::Text(_) | Hook::MapVar(_) => {
                Lifeline::Local
            }
        }
    }

    /// True if both hooks are the same reference.
    pub(crate) fn same_as(&self, other: &Hook) -> bool {
        match (self, other) {
            (Hook::Target(a), Hook::Target(b)) => std::ptr::addr_eq(Arc::as_ptr(a), Arc::as_ptr(b)),
            (Hook::Import(a), Hook::Import(b)) => Arc::ptr_eq(a, b),
            (Hook::Remote(a), Hook::Remote(b)) => Arc::ptr_eq(a, b),
            (Hook::Local(a), Hook::Local(b)) => Arc::ptr_eq(a, b),
            (Hook::Value(a), Hook::Value(b)) => Arc::ptr_eq(a, b),
            (Hook::Text(a), Hook::Text(b)) => Arc::ptr_eq(a, b),
            (Hook::Error(a), Hook::Error(b)) => Arc::ptr_eq(a, b),
            (Hook::MapVar(a), Hook::MapVar(b)) => a.same_as(b),
            _ => false,
        }
    }
}

/// See [`Hook::lifeline`].
pub(crate) enum Lifeline {
    /// Works until this session ends.
    Session(Arc<crate::session::SessionInner>),
    /// Already broken.
    Broken(RpcError),
    /// Not tied to any connection.
    Local,
}

impl std::fmt::Debug for Hook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Hook::Target(_) => f.write_str("local target"),
            Hook::Import(cap) => write!(f, "import {}", cap.id()),
            Hook::Remote(p) => write!(f, "remote promise {}", p.id()),
            Hook::Local(_) => f.write_str("local promise"),
            Hook::Value(v) => write!(f, "value {v:?}"),
            Hook::Text(text) => write!(f, "value {text:?}"),
            Hook::Error(e) => write!(f, "error: {e}"),
            Hook::MapVar(v) => write!(f, "map placeholder {} {:?}", v.index, v.path),
        }
    }
}

fn call_target(target: &Arc<dyn RpcTarget>, path: &[PropertyKey], args: Args) -> Hook {
    if args.contains_promise() {
        // A call waits for its promise arguments, without holding back later calls to the same
        // target (protocol.md section 11, rule 4); for a session's peer, calls are delivered in
        // the order their arguments settle (lanes.rs).
        let cell = LocalPromise::new();
        let waiting = Waiting {
            target: Hook::Target(target.clone()),
            path: path.to_vec(),
            args: Box::pin(substitute_args(args)),
            owed: SettleOnDrop::new(cell.clone(), CallSite::Method(&path_text(path)).to_string()),
        };
        match current_scope() {
            Some(scope) => {
                let key = Arc::as_ptr(target).cast::<()>() as usize;
                Lanes::enqueue(&scope, key, waiting);
            }
            // The application's own calls on a local object: no peer's order to keep.
            None => spawn_detached(waiting.run()),
        }
        return Hook::Local(cell);
    }
    match path {
        [] => deliver(CallSite::Invoke, || {
            target.clone().__answer(Request::Invoke(args))
        }),
        [PropertyKey::Name(name)] if !is_blocked_name(name) => {
            deliver(CallSite::Method(name), || {
                target.clone().__answer(Request::Call(name, args))
            })
        }
        [last] => Hook::error(not_a_function(std::slice::from_ref(last))),
        [parent @ .., last] => {
            get_from_target(target, parent).call(std::slice::from_ref(last), args)
        }
    }
}

fn get_from_target(target: &Arc<dyn RpcTarget>, path: &[PropertyKey]) -> Hook {
    let Some((first, rest)) = path.split_first() else {
        return Hook::Target(target.clone());
    };
    let first_hook = match first {
        PropertyKey::Name(name) if !is_blocked_name(name) => {
            deliver(CallSite::Property(name), || {
                target.clone().__answer(Request::Get(name))
            })
        }
        _ => Hook::Value(Arc::new(Value::Undefined)),
    };
    first_hook.get(rest)
}

/// Where a property path leads inside a settled value.
enum Walk<'a> {
    /// To data inside the value.
    Data(&'a Value),
    /// Into a stub or promise, with the rest of the path still to follow there.
    Forward(&'a Hook, &'a [PropertyKey]),
    /// Through something that has no properties.
    Missing,
}

fn walk<'a>(mut value: &'a Value, path: &'a [PropertyKey]) -> Walk<'a> {
    for (i, key) in path.iter().enumerate() {
        let next = match (value, key) {
            (Value::Stub(s), _) => return Walk::Forward(&s.hook, &path[i..]),
            (Value::Promise(p), _) => return Walk::Forward(&p.hook, &path[i..]),
            (Value::Object(map), PropertyKey::Name(name)) if !is_blocked_name(name) => {
                map.get(name.as_str())
            }
            (Value::Array(items), PropertyKey::Index(idx)) => {
                usize::try_from(*idx).ok().and_then(|i| items.get(i))
            }
            _ => None,
        };
        match next {
            Some(v) => value = v,
            None => return Walk::Missing,
        }
    }
    match value {
        Value::Stub(s) => Walk::Forward(&s.hook, &[]),
        Value::Promise(p) => Walk::Forward(&p.hook, &[]),
        other => Walk::Data(other),
    }
}

fn get_in_value(value: &Arc<Value>, path: &[PropertyKey]) -> Hook {
    match walk(value, path) {
        Walk::Data(v) => Hook::Value(Arc::new(v.clone())),
        Walk::Forward(hook, rest) => hook.get(rest),
        Walk::Missing => Hook::Value(Arc::new(Value::Undefined)),
    }
}

fn call_in_value(value: &Arc<Value>, path: &[PropertyKey], args: Args) -> Hook {
    match walk(value, path) {
        Walk::Forward(hook, rest) => hook.call(rest, args),
        Walk::Data(_) | Walk::Missing => Hook::error(not_a_function(path)),
    }
}

/// The TypeError JavaScript gives for calling something that is not a function.
pub(crate) fn not_a_function(path: &[PropertyKey]) -> RpcError {
    RpcError::no_such_method(&path_text(path))
}

/// A property path as JavaScript would write it after the object: `users.get`.
pub(crate) fn path_text(path: &[PropertyKey]) -> String {
    let joined: Vec<String> = path
        .iter()
        .map(|k| match k {
            PropertyKey::Name(n) => n.clone(),
            PropertyKey::Index(i) => i.to_string(),
        })
        .collect();
    joined.join(".")
}

/// Replaces every promise inside `value` by its resolution (protocol.md section 5.5).
pub(crate) fn substitute(value: Value) -> crate::target::CallFuture {
    Box::pin(async move {
        match value {
            // A resolution in wire form is expanded: it lands inside a tree.
            Value::Promise(p) => p.hook.pull().await.map(Payload::into_value),
            Value::Array(items) => Ok(Value::Array(substitute_all(items).await?)),
            Value::Object(map) => {
                let (keys, values): (Vec<_>, Vec<_>) = map.into_iter().unzip();
                let values = substitute_all(values).await?;
                Ok(Value::Object(keys.into_iter().zip(values).collect()))
            }
            Value::Request(mut req) => {
                let init = std::mem::take(&mut req.init);
                if let Value::Object(init) = substitute(Value::Object(init)).await? {
                    req.init = init;
                }
                Ok(Value::Request(req))
            }
            Value::Response(mut resp) => {
                let body = std::mem::take(&mut resp.body);
                resp.body = substitute(body).await?;
                let init = std::mem::take(&mut resp.init);
                if let Value::Object(init) = substitute(Value::Object(init)).await? {
                    resp.init = init;
                }
                Ok(Value::Response(resp))
            }
            other => Ok(other),
        }
    })
}

/// [`substitute`] over a list, keeping its order. Every promise is waited for at once: a
/// promise the peer settles is pulled when first polled, so the pulls of a whole list leave
/// together (a replayed `.map()` over client-hosted calls costs one round trip, not one per
/// element).
async fn substitute_all(items: Vec<Value>) -> Result<Vec<Value>, RpcError> {
    if !items.iter().any(Value::contains_promise) {
        return Ok(items);
    }
    futures_util::future::try_join_all(items.into_iter().map(|item| {
        if item.contains_promise() {
            substitute(item)
        } else {
            Box::pin(std::future::ready(Ok(item)))
        }
    }))
    .await
}

/// [`substitute`] over a call's arguments, all at once (text holds no promise).
async fn substitute_args(args: Args) -> Result<Args, RpcError> {
    let settled =
        futures_util::future::try_join_all(args.into_payloads().into_iter().map(|item| {
            let settling: PullFuture = match item {
                Payload::Tree(value) if value.contains_promise() => {
                    Box::pin(async move { substitute(value).await.map(Payload::Tree) })
                }
                other => Box::pin(std::future::ready(Ok(other))),
            };
            settling
        }))
        .await?;
    Ok(Args::from_payloads(settled))
}
