//! The [`RpcTarget`] trait: what a local object implements to be callable over RPC.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::error::RpcError;
use crate::value::Value;

/// The future a target returns for one call or property read.
pub type CallFuture = Pin<Box<dyn Future<Output = Result<Value, RpcError>> + Send + 'static>>;

/// A local object that the peer (or local code) can call through a [`Stub`](crate::Stub).
///
/// `#[rpc_target]` generates implementations; hand-written ones are the schema-free way. The
/// methods take `Arc<Self>` so the returned future owns what it needs. The object's `Drop` runs
/// once the last local and remote reference to it is gone.
pub trait RpcTarget: Send + Sync + 'static {
    /// Calls method `method` with `args`. Unknown methods should return
    /// [`RpcError::no_such_method`], the error JavaScript peers expect.
    fn call(self: Arc<Self>, method: &str, args: Vec<Value>) -> CallFuture;

    /// Reads property `property` (a getter). The default has no properties: `undefined`.
    fn get(self: Arc<Self>, property: &str) -> CallFuture {
        let _ = property;
        Box::pin(std::future::ready(Ok(Value::Undefined)))
    }

    /// Invokes the object itself as a function (a call with an empty path, as JS callbacks
    /// are). The default refuses, as calling a non-function does in JavaScript.
    fn invoke(self: Arc<Self>, args: Vec<Value>) -> CallFuture {
        let _ = args;
        Box::pin(std::future::ready(Err(RpcError::type_error(
            "'' is not a function.",
        ))))
    }
}

impl RpcError {
    /// The error a JavaScript peer gets for a missing method: `TypeError("'x' is not a function.")`.
    pub fn no_such_method(method: &str) -> Self {
        RpcError::type_error(format!("'{method}' is not a function."))
    }
}

/// A target made from a closure: a callback the peer invokes as a function.
pub(crate) struct FnTarget<F> {
    pub(crate) f: F,
}

impl<F, Fut> RpcTarget for FnTarget<F>
where
    F: Fn(Vec<Value>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Value, RpcError>> + Send + 'static,
{
    fn call(self: Arc<Self>, method: &str, _args: Vec<Value>) -> CallFuture {
        Box::pin(std::future::ready(Err(RpcError::no_such_method(method))))
    }

    fn invoke(self: Arc<Self>, args: Vec<Value>) -> CallFuture {
        Box::pin((self.f)(args))
    }
}

/// Names JavaScript resolves through `Object.prototype`; capnweb never exposes them on a target
/// (protocol.md section 6.2), so neither do we.
pub(crate) fn is_blocked_name(name: &str) -> bool {
    matches!(
        name,
        "__proto__"
            | "constructor"
            | "toString"
            | "valueOf"
            | "hasOwnProperty"
            | "isPrototypeOf"
            | "propertyIsEnumerable"
            | "toLocaleString"
            | "__defineGetter__"
            | "__defineSetter__"
            | "__lookupGetter__"
            | "__lookupSetter__"
    )
}
