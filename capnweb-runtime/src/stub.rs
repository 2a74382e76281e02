//! Dynamic, untyped capability references ([`Stub`]) and promises ([`Promise`]): the
//! schema-free API that the typed layer is built on.

use std::future::{Future, IntoFuture};
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::RpcError;
use crate::hook::{Hook, Lifeline, PullFuture};
use crate::session::OnBroken;
use crate::target::{FnTarget, RpcTarget};
use crate::typed::{RpcClient, RpcFuture, RpcPromise};
use crate::value::{PropertyKey, Value};
use crate::wire::{Args, Payload};

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

/// Arguments of a call: a tuple of serializable values, a `Vec<Value>` or [`Args`].
pub trait IntoArgs {
    /// Converts into the argument list.
    fn into_args(self) -> Result<Args, RpcError>;
}

impl IntoArgs for Vec<Value> {
    fn into_args(self) -> Result<Args, RpcError> {
        Ok(Args::from(self))
    }
}

impl IntoArgs for Args {
    fn into_args(self) -> Result<Args, RpcError> {
        Ok(self)
    }
}

macro_rules! tuple_args {
    ($($name:ident),*) => {
        impl<$($name: Serialize),*> IntoArgs for ($($name,)*) {
            #[allow(non_snake_case)]
            fn into_args(self) -> Result<Args, RpcError> {
                let ($($name,)*) = self;
                Ok(Args::from_payloads(vec![$(crate::wire::to_payload(&$name)?),*]))
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

/// What a pipelined call or property read gives: an untyped [`Promise`], a [`Stub`] (a
/// capability result, usable at once), or an [`RpcPromise<T>`](crate::RpcPromise). The one
/// implementation of the pipelining methods ([`Pipeline`]) is generic in it, so `Stub`,
/// `Promise`, `RpcPromise<T>` and generated clients share that implementation and differ only
/// in how they view its result.
#[doc(hidden)]
pub trait FromPromise {
    /// Views the promise as `Self`.
    fn from_promise(promise: Promise) -> Self;
}

impl FromPromise for Promise {
    fn from_promise(promise: Promise) -> Self {
        promise
    }
}

impl FromPromise for Stub {
    fn from_promise(promise: Promise) -> Self {
        Stub::from_hook(promise.hook)
    }
}

/// Pipelined calls and property reads on anything that holds a [`Hook`]: the single
/// implementation behind `call`, `call_path`, `invoke`, `get` and `get_path` of [`Stub`],
/// [`Promise`], [`RpcPromise<T>`](crate::RpcPromise) and the generated clients (through
/// `__private`). The public methods stay inherent, so callers need no trait import.
pub(crate) trait Pipeline {
    /// The reference calls and reads go through.
    fn hook(&self) -> &Hook;

    /// Calls the method at `path` (empty: the value itself, as a function). Arguments that
    /// failed to convert reject the result without sending anything.
    fn call_path_as<R: FromPromise>(
        &self,
        path: &[PropertyKey],
        args: Result<Args, RpcError>,
    ) -> R {
        R::from_promise(Promise::from_hook(match args {
            Ok(args) => self.hook().call(path, args),
            Err(e) => Hook::error(e),
        }))
    }

    /// Calls method `method`.
    fn call_as<R: FromPromise>(&self, method: &str, args: Result<Args, RpcError>) -> R {
        self.call_path_as(&[PropertyKey::Name(method.to_owned())], args)
    }

    /// Invokes the value itself as a function.
    fn invoke_as<R: FromPromise>(&self, args: Result<Args, RpcError>) -> R {
        self.call_path_as(&[], args)
    }

    /// Reads the property at `path`.
    fn get_path_as<R: FromPromise>(&self, path: &[PropertyKey]) -> R {
        R::from_promise(Promise::from_hook(self.hook().get(path)))
    }

    /// Reads property `property`.
    fn get_as<R: FromPromise>(&self, property: &str) -> R {
        self.get_path_as(&[PropertyKey::Name(property.to_owned())])
    }
}

impl Pipeline for Stub {
    fn hook(&self) -> &Hook {
        &self.hook
    }
}

impl Pipeline for Promise {
    fn hook(&self) -> &Hook {
        &self.hook
    }
}

/// The public pipelining methods of [`Stub`] and [`Promise`], which have the same signatures:
/// inherent (so callers need no trait import) one-line wrappers over [`Pipeline`]. `$what`
/// names what the calls go to, for the docs.
macro_rules! untyped_pipelining {
    ($what:literal) => {
        #[doc = concat!("Calls method `method` of ", $what, ".")]
        pub fn call(&self, method: &str, args: impl IntoArgs) -> Promise {
            self.call_as(method, args.into_args())
        }

        #[doc = concat!(
            "Calls the method at a property path of ", $what, " (e.g. `[\"users\", \"get\"]`)."
        )]
        pub fn call_path(&self, path: &[PropertyKey], args: impl IntoArgs) -> Promise {
            self.call_path_as(path, args.into_args())
        }

        #[doc = concat!("Invokes ", $what, " itself as a function.")]
        pub fn invoke(&self, args: impl IntoArgs) -> Promise {
            self.invoke_as(args.into_args())
        }

        #[doc = concat!("Reads property `property` of ", $what, ".")]
        pub fn get(&self, property: &str) -> Promise {
            self.get_as(property)
        }

        #[doc = concat!("Reads the property at a path of ", $what, ".")]
        pub fn get_path(&self, path: &[PropertyKey]) -> Promise {
            self.get_path_as(path)
        }
    };
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

    untyped_pipelining!("the capability");

    /// Waits for a promised capability to resolve, to learn whether it worked. Calls made
    /// meanwhile are pipelined either way. The future owns what it needs (it does not borrow
    /// the stub).
    pub fn resolve(&self) -> ResolveFuture<Stub> {
        RpcClient::resolve(self)
    }

    /// Waits until this capability stops working because the connection it came through
    /// ended, and returns why: a server holding a client's callback learns that the client
    /// left without waiting for a call to fail. For a broken stub it returns at once; for a
    /// local object (which works as long as it is held) it never returns. The future owns
    /// what it needs.
    ///
    /// ```no_run
    /// # async fn example(callback: capnweb_runtime::Stub) {
    /// let reason = callback.closed().await;
    /// println!("the client is gone: {reason}");
    /// # }
    /// ```
    pub fn closed(&self) -> impl Future<Output = RpcError> + Send + 'static {
        let lifeline = self.hook.lifeline();
        async move {
            match lifeline {
                Lifeline::Session(session) => session.closed().await,
                Lifeline::Broken(error) => error,
                Lifeline::Local => std::future::pending().await,
            }
        }
    }

    /// Registers `callback` to run once when this capability stops working because its
    /// connection ended (at once if it already has; never for a local object), with the
    /// reason. Dropping the returned handle unregisters it; [`OnBroken::keep`] keeps it.
    ///
    /// ```no_run
    /// # fn example(callback: capnweb_runtime::Stub) {
    /// callback
    ///     .on_broken(|reason| eprintln!("the subscriber left: {reason}"))
    ///     .keep();
    /// # }
    /// ```
    pub fn on_broken(&self, callback: impl FnOnce(&RpcError) + Send + 'static) -> OnBroken {
        match self.hook.lifeline() {
            Lifeline::Session(session) => session.on_broken(callback),
            Lifeline::Broken(error) => {
                callback(&error);
                OnBroken::unregistered()
            }
            Lifeline::Local => OnBroken::unregistered(),
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

    untyped_pipelining!("the eventual value");

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

    /// Waits for the value and converts it to `T` (what awaiting an
    /// [`RpcPromise<T>`](crate::RpcPromise) does).
    pub fn typed<T: DeserializeOwned>(self) -> RpcFuture<T> {
        RpcPromise::from_untyped(self).into_future()
    }

    /// True if both promises point at the same underlying call or value.
    pub fn same_target(&self, other: &Promise) -> bool {
        self.hook.same_as(&other.hook)
    }
}

impl IntoFuture for Promise {
    type Output = Result<Value, RpcError>;
    type IntoFuture = PromiseFuture;

    fn into_future(self) -> PromiseFuture {
        // Only the pull is kept: dropping the hook as soon as the value is in lets the session
        // release it promptly.
        PromiseFuture {
            pull: self.hook.pull(),
        }
    }
}

impl Promise {
    /// Waits for the value for at most `limit`: then the await fails with
    /// [`RpcError::Timeout`], and the result is released (unless another clone of the promise
    /// still holds it). The session stays usable.
    ///
    /// ```no_run
    /// # use std::time::Duration;
    /// # async fn demo(api: capnweb_runtime::Stub) -> Result<(), capnweb_runtime::RpcError> {
    /// let sum = api.call("add", (1, 2)).timeout(Duration::from_secs(5)).await?;
    /// # Ok(()) }
    /// ```
    pub fn timeout(self, limit: std::time::Duration) -> PromiseFuture {
        PromiseFuture {
            pull: crate::task::with_timeout(self.hook.pull(), limit),
        }
    }
}

/// The future of an awaited [`Promise`]: waits for the value.
#[must_use = "futures do nothing unless polled"]
pub struct PromiseFuture {
    pull: PullFuture,
}

impl Future for PromiseFuture {
    type Output = Result<Value, RpcError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // Application code gets trees, never the wire form.
        self.pull
            .as_mut()
            .poll(cx)
            .map(|result| result.map(Payload::into_value))
    }
}

impl std::fmt::Debug for PromiseFuture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PromiseFuture")
    }
}

/// The future of [`Stub::resolve`] and [`RpcClient::resolve`](crate::RpcClient::resolve):
/// waits until a (possibly promised) capability has settled, and gives it as a `C`.
#[must_use = "futures do nothing unless polled"]
pub struct ResolveFuture<C> {
    pull: PullFuture,
    // `fn() -> C`: the future produces a `C` but holds none while it waits.
    _type: PhantomData<fn() -> C>,
}

impl<C: RpcClient> ResolveFuture<C> {
    pub(crate) fn new(stub: &Stub) -> Self {
        ResolveFuture {
            pull: stub.hook.pull(),
            _type: PhantomData,
        }
    }
}

impl<C: RpcClient> Future for ResolveFuture<C> {
    type Output = Result<C, RpcError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.pull.as_mut().poll(cx).map(|result| {
            // A promise may settle to data rather than a capability; the stub then refers to
            // that value.
            let stub = match result? {
                Payload::Tree(Value::Stub(stub)) => stub,
                other => Stub::from_hook(Hook::from_payload(other)),
            };
            Ok(C::from_stub(stub))
        })
    }
}

impl<C> std::fmt::Debug for ResolveFuture<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ResolveFuture<{}>", std::any::type_name::<C>())
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
