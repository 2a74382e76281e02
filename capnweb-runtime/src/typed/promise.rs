//! [`RpcPromise<T>`]: a typed, awaitable, pipelinable promise.

use std::future::{Future, IntoFuture};
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::client::RpcClient;
use crate::error::RpcError;
use crate::hook::{Hook, PullFuture};
use crate::stub::{FromPromise, IntoArgs, Pipeline, Promise};
use crate::value::{PropertyKey, Value, to_value};

/// The eventual result of a typed call that returns data of type `T`.
///
/// - `.await` gives `Result<T, RpcError>`.
/// - It can be passed wherever the generated client expects an argument of type `T` (see
///   [`RpcArg`](super::RpcArg)): the peer substitutes the result itself, so
///   `api.add(api.add(1, 2), 3)` costs one round trip.
/// - [`get`](RpcPromise::get), [`call`](RpcPromise::call) (and the `_path` and `invoke`
///   forms) pipeline on the eventual value, as on an untyped [`Promise`].
///
/// Cloning is cheap (both clones refer to the same call). Dropping the last clone of a promise
/// that was never awaited releases the result on the wire.
///
/// ```
/// # use capnweb_runtime::{RpcPromise, Value};
/// # async fn demo() -> Result<(), capnweb_runtime::RpcError> {
/// let ready: RpcPromise<u32> = RpcPromise::resolved(&7);
/// assert_eq!(ready.await?, 7);
/// # Ok(()) }
/// # tokio::runtime::Runtime::new().unwrap().block_on(demo()).unwrap();
/// ```
#[must_use = "a promise does nothing useful unless awaited, pipelined on, or passed along"]
pub struct RpcPromise<T> {
    promise: Promise,
    // `fn() -> T`: the promise produces a `T` but owns none, so it is `Send + Sync` whatever `T`.
    _type: PhantomData<fn() -> T>,
}

impl<T> RpcPromise<T> {
    /// Gives an untyped promise a type. Nothing is checked until the value arrives.
    pub fn from_untyped(promise: Promise) -> Self {
        RpcPromise {
            promise,
            _type: PhantomData,
        }
    }

    /// The untyped promise underneath (the schema-free escape hatch).
    pub fn untyped(&self) -> &Promise {
        &self.promise
    }

    /// Converts into the untyped promise underneath.
    pub fn into_untyped(self) -> Promise {
        self.promise
    }

    /// A promise that is already resolved to `value`. A value that cannot be converted gives a
    /// rejected promise.
    pub fn resolved(value: &T) -> Self
    where
        T: Serialize,
    {
        match to_value(value) {
            Ok(v) => RpcPromise::from_untyped(Promise::resolved(v)),
            Err(e) => RpcPromise::rejected(e),
        }
    }

    /// A promise that is already rejected with `error`.
    pub fn rejected(error: RpcError) -> Self {
        RpcPromise::from_untyped(Promise::rejected(error))
    }

    /// Pipelines reading property `property` of the eventual value, typed as `U`
    /// (e.g. `profile.get::<String>("bio")`). No round trip is spent on the value itself.
    pub fn get<U>(&self, property: &str) -> RpcPromise<U> {
        self.get_as(property)
    }

    /// Pipelines reading the property at a path of the eventual value, typed as `U`.
    pub fn get_path<U>(&self, path: &[PropertyKey]) -> RpcPromise<U> {
        self.get_path_as(path)
    }

    /// Pipelines a call to method `method` of the eventual value, typed as `U`.
    pub fn call<U>(&self, method: &str, args: impl IntoArgs) -> RpcPromise<U> {
        self.call_as(method, args.into_args())
    }

    /// Pipelines a call at a property path of the eventual value, typed as `U`.
    pub fn call_path<U>(&self, path: &[PropertyKey], args: impl IntoArgs) -> RpcPromise<U> {
        self.call_path_as(path, args.into_args())
    }

    /// Pipelines invoking the eventual value as a function, typed as `U`.
    pub fn invoke<U>(&self, args: impl IntoArgs) -> RpcPromise<U> {
        self.invoke_as(args.into_args())
    }

    /// Waits for the value for at most `limit`: then the await fails with
    /// [`RpcError::Timeout`], and the result is released (unless another clone of the promise
    /// still holds it). The session stays usable.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use capnweb_runtime::{RpcError, RpcPromise};
    /// # async fn demo() -> Result<(), RpcError> {
    /// let answer: RpcPromise<u32> = RpcPromise::resolved(&42);
    /// assert_eq!(answer.timeout(Duration::from_secs(1)).await?, 42);
    /// # Ok(()) }
    /// # tokio::runtime::Runtime::new().unwrap().block_on(demo()).unwrap();
    /// ```
    pub fn timeout(self, limit: std::time::Duration) -> RpcFuture<T>
    where
        T: DeserializeOwned,
    {
        RpcFuture {
            pull: crate::task::with_timeout(self.promise.hook.pull(), limit),
            _type: PhantomData,
        }
    }

    /// Views the eventual value as a capability of client type `C` (for a result that is a
    /// capability but was declared as data, e.g. inside an `Option`). Calls on it are pipelined.
    pub fn as_client<C: RpcClient>(&self) -> C {
        C::from_stub(self.promise.as_stub())
    }
}

impl<T> Clone for RpcPromise<T> {
    fn clone(&self) -> Self {
        RpcPromise::from_untyped(self.promise.clone())
    }
}

impl<T> std::fmt::Debug for RpcPromise<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "RpcPromise<{}>({:?})",
            std::any::type_name::<T>(),
            self.promise
        )
    }
}

impl<T> Pipeline for RpcPromise<T> {
    fn hook(&self) -> &Hook {
        &self.promise.hook
    }
}

impl<T> FromPromise for RpcPromise<T> {
    fn from_promise(promise: Promise) -> Self {
        RpcPromise::from_untyped(promise)
    }
}

impl<T> From<RpcPromise<T>> for Promise {
    fn from(p: RpcPromise<T>) -> Promise {
        p.promise
    }
}

impl<T: DeserializeOwned> IntoFuture for RpcPromise<T> {
    type Output = Result<T, RpcError>;
    type IntoFuture = RpcFuture<T>;

    fn into_future(self) -> RpcFuture<T> {
        RpcFuture {
            // The raw pull: a value in wire form is read as it is.
            pull: self.promise.hook.pull(),
            _type: PhantomData,
        }
    }
}

/// The future of an awaited [`RpcPromise<T>`]: waits for the value and converts it to `T`.
#[must_use = "futures do nothing unless polled"]
pub struct RpcFuture<T> {
    pull: PullFuture,
    _type: PhantomData<fn() -> T>,
}

impl<T: DeserializeOwned> Future for RpcFuture<T> {
    type Output = Result<T, RpcError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // Converting in `poll` (rather than in an async block) keeps the future free of any
        // `T: Send + 'static` requirement: it never holds a `T` across a suspension.
        self.pull
            .as_mut()
            .poll(cx)
            .map(|result| result.and_then(super::read_payload))
    }
}

impl<T> std::fmt::Debug for RpcFuture<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RpcFuture<{}>", std::any::type_name::<T>())
    }
}

/// A promise inside an argument travels as a promise (`["pipeline", id]` for a remote result):
/// the peer substitutes its resolution before the call runs.
impl<T> Serialize for RpcPromise<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.promise.serialize(serializer)
    }
}

/// Received values are normally settled before they reach the application; a plain value is
/// accepted as an already-resolved promise.
impl<'de, T> Deserialize<'de> for RpcPromise<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(RpcPromise::from_untyped(
            match Value::deserialize(deserializer)? {
                Value::Promise(p) => p,
                other => Promise::resolved(other),
            },
        ))
    }
}
