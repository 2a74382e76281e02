//! Dynamic, untyped capability references ([`Stub`]) and promises ([`Promise`]): the
//! schema-free API that the typed layer is built on.

use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::RpcError;
use crate::hook::Hook;
use crate::target::{FnTarget, RpcTarget};
use crate::value::{PropertyKey, Value};

/// A capability: a reference to an object that may be local, remote, or still a promise.
///
/// `Clone` duplicates the reference; dropping the last clone releases it on the wire. Calls
/// made before a promised capability resolves are pipelined.
#[derive(Clone)]
pub struct Stub {
    pub(crate) hook: Hook,
}

/// An untyped promise for a value: the result of a call or property read that may not have
/// arrived yet. Calls and property reads on it are pipelined; `.await` gives the value.
///
/// Dropping a promise that was never awaited releases it (and cancels our interest in it).
#[must_use = "a promise does nothing useful unless awaited, pipelined on, or passed along"]
#[derive(Clone)]
pub struct Promise {
    pub(crate) hook: Hook,
}

/// Arguments of a call: a tuple of serializable values, or a `Vec<Value>`.
pub trait IntoArgs {
    /// Converts into the argument list.
    fn into_args(self) -> Result<Vec<Value>, RpcError>;
}

impl IntoArgs for Vec<Value> {
    fn into_args(self) -> Result<Vec<Value>, RpcError> {
        Ok(self)
    }
}

macro_rules! tuple_args {
    ($($name:ident),*) => {
        impl<$($name: Serialize),*> IntoArgs for ($($name,)*) {
            #[allow(non_snake_case)]
            fn into_args(self) -> Result<Vec<Value>, RpcError> {
                let ($($name,)*) = self;
                Ok(vec![$(crate::value::to_value_for_wire(&$name)?),*])
            }
        }
    };
}
tuple_args!();
tuple_args!(A);
tuple_args!(A, B);
tuple_args!(A, B, C);
tuple_args!(A, B, C, D);
tuple_args!(A, B, C, D, E);
tuple_args!(A, B, C, D, E, F);
tuple_args!(A, B, C, D, E, F, G);
tuple_args!(A, B, C, D, E, F, G, H);

fn name_path(name: &str) -> [PropertyKey; 1] {
    [PropertyKey::Name(name.to_owned())]
}

fn call_hook(hook: &Hook, path: &[PropertyKey], args: impl IntoArgs) -> Promise {
    match args.into_args() {
        Ok(args) => Promise::from_hook(hook.call(path, args)),
        Err(e) => Promise::from_hook(Hook::error(e)),
    }
}

impl Stub {
    pub(crate) fn from_hook(hook: Hook) -> Self {
        Stub { hook }
    }

    /// Makes a local object a capability that can be called locally or passed to the peer.
    pub fn new<T: RpcTarget>(target: T) -> Stub {
        Stub::from_arc(Arc::new(target))
    }

    /// [`Stub::new`] for an object that is already shared.
    pub fn from_arc<T: RpcTarget>(target: Arc<T>) -> Stub {
        Stub::from_hook(Hook::Target(target))
    }

    /// A capability that is a function: the peer calls it with an empty path, as it would a
    /// JavaScript callback.
    pub fn from_fn<F, Fut>(f: F) -> Stub
    where
        F: Fn(Vec<Value>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Value, RpcError>> + Send + 'static,
    {
        Stub::new(FnTarget { f })
    }

    /// A broken capability: every call fails with `error`.
    pub fn broken(error: RpcError) -> Stub {
        Stub::from_hook(Hook::error(error))
    }

    /// Calls method `method`.
    pub fn call(&self, method: &str, args: impl IntoArgs) -> Promise {
        call_hook(&self.hook, &name_path(method), args)
    }

    /// Calls the method at a property path (e.g. `["users", "get"]`).
    pub fn call_path(&self, path: &[PropertyKey], args: impl IntoArgs) -> Promise {
        call_hook(&self.hook, path, args)
    }

    /// Invokes the capability itself as a function.
    pub fn invoke(&self, args: impl IntoArgs) -> Promise {
        call_hook(&self.hook, &[], args)
    }

    /// Reads property `property`.
    pub fn get(&self, property: &str) -> Promise {
        Promise::from_hook(self.hook.get(&name_path(property)))
    }

    /// Reads the property at a path.
    pub fn get_path(&self, path: &[PropertyKey]) -> Promise {
        Promise::from_hook(self.hook.get(path))
    }

    /// Waits for a promised capability to resolve, to learn whether it worked. Calls made
    /// meanwhile are pipelined either way.
    pub async fn resolve(&self) -> Result<Stub, RpcError> {
        match self.hook.pull().await? {
            Value::Stub(stub) => Ok(stub),
            other => Ok(Stub::from_hook(Hook::from_value(other))),
        }
    }

    /// True if both references point at the same underlying object or promise.
    pub fn same_target(&self, other: &Stub) -> bool {
        self.hook.same_as(&other.hook)
    }
}

impl Promise {
    pub(crate) fn from_hook(hook: Hook) -> Self {
        Promise { hook }
    }

    /// A promise that is already resolved to `value`.
    pub fn resolved(value: Value) -> Promise {
        Promise::from_hook(Hook::from_value(value))
    }

    /// A promise that is already rejected with `error`.
    pub fn rejected(error: RpcError) -> Promise {
        Promise::from_hook(Hook::error(error))
    }

    /// Pipelines a call to method `method` of the eventual value.
    pub fn call(&self, method: &str, args: impl IntoArgs) -> Promise {
        call_hook(&self.hook, &name_path(method), args)
    }

    /// Pipelines a call at a property path of the eventual value.
    pub fn call_path(&self, path: &[PropertyKey], args: impl IntoArgs) -> Promise {
        call_hook(&self.hook, path, args)
    }

    /// Pipelines invoking the eventual value as a function.
    pub fn invoke(&self, args: impl IntoArgs) -> Promise {
        call_hook(&self.hook, &[], args)
    }

    /// Pipelines reading property `property` of the eventual value.
    pub fn get(&self, property: &str) -> Promise {
        Promise::from_hook(self.hook.get(&name_path(property)))
    }

    /// Pipelines reading the property at a path of the eventual value.
    pub fn get_path(&self, path: &[PropertyKey]) -> Promise {
        Promise::from_hook(self.hook.get(path))
    }

    /// Maps the eventual value on the peer, in one round trip: `f` runs once, now, in recording
    /// mode, with a placeholder for the element; every call it makes through a stub or promise
    /// is recorded, capabilities from outside become captures, and its result is the mapped
    /// value per element. Arrays map element by element, `null`/`undefined` pass through
    /// unmapped, any other value is mapped once (protocol.md section 9). The placeholder cannot
    /// be awaited inside `f`: return what you need.
    pub fn map<R: Into<Value>>(&self, f: impl FnOnce(Promise) -> R) -> Promise {
        Promise::from_hook(crate::map::map_with(&self.hook, |element| {
            f(element).into()
        }))
    }

    /// Views the promise as a (promised) capability.
    pub fn as_stub(&self) -> Stub {
        Stub::from_hook(self.hook.clone())
    }

    /// Waits for the value and converts it to `T`.
    pub async fn typed<T: DeserializeOwned>(self) -> Result<T, RpcError> {
        crate::value::from_value(self.await?)
    }

    /// True if both promises point at the same underlying call or value.
    pub fn same_target(&self, other: &Promise) -> bool {
        self.hook.same_as(&other.hook)
    }
}

impl IntoFuture for Promise {
    type Output = Result<Value, RpcError>;
    type IntoFuture = Pin<Box<dyn Future<Output = Result<Value, RpcError>> + Send + 'static>>;

    fn into_future(self) -> Self::IntoFuture {
        // Dropping the hook as soon as the value is in lets the session release it promptly.
        // Application code gets trees, never the wire form.
        let pull = self.hook.pull();
        Box::pin(async move { pull.await.map(Value::expanded) })
    }
}

impl std::fmt::Debug for Stub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Stub({:?})", self.hook)
    }
}

impl std::fmt::Debug for Promise {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Promise({:?})", self.hook)
    }
}
