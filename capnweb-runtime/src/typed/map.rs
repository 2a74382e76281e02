//! Typed `.map()`: ordinary Rust closures, checked by the compiler, recorded into `remap`
//! programs that the peer runs in one round trip (protocol.md section 9).
//!
//! The closure runs once, at once. Its argument is a placeholder promise for the element, so
//! it can only be passed along, pipelined on, or returned — it cannot be inspected or awaited,
//! and the closure cannot be `async` (its result must be a [`MapOutput`]).

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::client::RpcClient;
use super::promise::RpcPromise;
use crate::stub::Promise;
use crate::value::{Value, to_value};

/// What a typed `.map()` closure may return: promises, capabilities, and tuples, vectors or
/// options of them (or a [`Value`]). `Output` is what the mapped result holds per element.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be the result of a `.map()` closure",
    label = "a mapper must return promises, clients, or tuples / Vec / Option of them",
    note = "the closure runs once, now, to record the calls it makes; it cannot be async or await, \
            and plain values it computes would be the same for every element. \
            To return a struct of promises, use `.map_to::<YourOutput, _>(..)`"
)]
pub trait MapOutput: Serialize {
    /// The type each element's result has once it arrives.
    type Output: DeserializeOwned;
}

impl<U: DeserializeOwned> MapOutput for RpcPromise<U> {
    type Output = U;
}

// Generated client types implement `MapOutput` in their plumbing (`__private::client_impls`);
// a blanket impl over `RpcClient` would make rustc explain a wrong mapper result in terms of
// `RpcClient` instead of this trait's own message.
impl MapOutput for crate::stub::Stub {
    type Output = crate::stub::Stub;
}

impl MapOutput for Value {
    type Output = Value;
}

impl<M: MapOutput> MapOutput for Vec<M> {
    type Output = Vec<M::Output>;
}

impl<M: MapOutput> MapOutput for Option<M> {
    type Output = Option<M::Output>;
}

macro_rules! tuple_output {
    ($($name:ident),+) => {
        impl<$($name: MapOutput),+> MapOutput for ($($name,)+) {
            type Output = ($($name::Output,)+);
        }
    };
}
tuple_output!(A);
tuple_output!(A, B);
tuple_output!(A, B, C);
tuple_output!(A, B, C, D);
tuple_output!(A, B, C, D, E);

/// Records `f` over `subject`, typing its element placeholder as `RpcPromise<T>`.
fn record<T, R: Serialize>(subject: &Promise, f: impl FnOnce(RpcPromise<T>) -> R) -> Promise {
    subject.map(|element| {
        let result = f(RpcPromise::from_untyped(element));
        // A result that cannot be converted is recorded as its error, which rejects the map.
        to_value(&result).unwrap_or_else(|e| Value::Promise(Promise::rejected(e)))
    })
}

/// What `.map()` can map over: a list (each element) or an option (the value, if any).
#[diagnostic::on_unimplemented(
    message = "`.map()` needs a promise of a `Vec` or an `Option`, not of `{Self}`",
    label = "this promise's value is not a list or an option",
    note = "to map a single value once, use `.map_value(..)`"
)]
pub trait MapSubject {
    /// The type of each element the mapper sees (as a placeholder promise).
    type Element;
    /// The mapped container, holding `O` per element.
    type Mapped<O>;
}

impl<T> MapSubject for Vec<T> {
    type Element = T;
    type Mapped<O> = Vec<O>;
}

impl<T> MapSubject for Option<T> {
    type Element = T;
    type Mapped<O> = Option<O>;
}

impl<S> RpcPromise<S> {
    /// Maps every element of a list (or the value of an option; `None` passes through) on the
    /// peer, in one round trip, e.g. `ids.map(|id| users.get(id).name())`. The closure runs
    /// once, now, to record the calls it makes on the placeholder `id` and on capabilities it
    /// captures; it cannot be async or await.
    pub fn map<R: MapOutput>(
        &self,
        f: impl FnOnce(RpcPromise<S::Element>) -> R,
    ) -> RpcPromise<S::Mapped<R::Output>>
    where
        S: MapSubject,
    {
        RpcPromise::from_untyped(record(self.untyped(), f))
    }

    /// [`map`](Self::map) for a closure returning any serializable shape of promises (such as
    /// a struct with `RpcPromise` fields), with the per-element result type `O` named.
    pub fn map_to<O: DeserializeOwned, R: Serialize>(
        &self,
        f: impl FnOnce(RpcPromise<S::Element>) -> R,
    ) -> RpcPromise<S::Mapped<O>>
    where
        S: MapSubject,
    {
        RpcPromise::from_untyped(record(self.untyped(), f))
    }

    /// Maps a single value on the peer (the mapper runs once), in one round trip.
    pub fn map_value<R: MapOutput>(
        &self,
        f: impl FnOnce(RpcPromise<S>) -> R,
    ) -> RpcPromise<R::Output> {
        RpcPromise::from_untyped(record(self.untyped(), f))
    }
}

impl<C: RpcClient> RpcPromise<C> {
    /// The promised capability as its client type, to call methods on it (pipelined), e.g.
    /// inside a mapper over a list of capabilities: `users.map(|u| u.client().name())`.
    pub fn client(&self) -> C {
        C::from_stub(self.untyped().as_stub())
    }
}
