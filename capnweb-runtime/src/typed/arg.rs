//! [`RpcData`] (what can travel as an argument or result) and [`RpcArg`] (what a generated
//! client method accepts for a parameter).

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::promise::RpcPromise;
use crate::__private::Arg;
use crate::error::RpcError;
use crate::value::{Value, to_value};
use crate::wire::{Payload, to_payload};

/// A type that can be an argument or a result of an RPC method: serde both ways, and `Send +
/// 'static` so targets run on a multi-threaded runtime.
///
/// Implemented for every such type; the generated code uses it to report a type that cannot
/// travel once, at the type in the method signature.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot travel over RPC",
    label = "not usable as an RPC argument or result",
    note = "RPC arguments and results must implement `serde::Serialize`, `serde::de::DeserializeOwned`, `Send` and `'static`",
    note = "for your own types, add `#[derive(serde::Serialize, serde::Deserialize)]`; for a capability, use a generated `...Client` type or `Stub`"
)]
pub trait RpcData: Serialize + DeserializeOwned + Send + 'static {}

// `do_not_recommend`: report "`Foo` cannot travel over RPC" once, instead of one error per
// missing serde trait.
#[diagnostic::do_not_recommend]
impl<T: Serialize + DeserializeOwned + Send + 'static> RpcData for T {}

/// Something a generated client method accepts for a parameter of type `T`.
///
/// - `T` itself, or `&T` (serialized);
/// - [`RpcPromise<T>`] or `&RpcPromise<T>`: the result of another call, not yet arrived. It
///   travels as a promise and the peer uses its value, so chains cost one round trip;
/// - conveniences: `&str` for `String`, `&[T]` for `Vec<T>`, and smaller numbers for `f64`,
///   `i64` and `i32` (lossless, as `From` does), so `api.add(1, 2)` works for `f64` parameters.
///
/// A promise of the wrong type is a compile error at the argument.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be passed where an RPC argument of type `{T}` is expected",
    label = "expected `{T}`, `&{T}` or `RpcPromise<{T}>`"
)]
pub trait RpcArg<T> {
    /// Converts the argument to the value that travels.
    fn into_rpc_value(self) -> Result<Value, RpcError>;

    /// Not part of the API: the argument as the generated client sends it, which may be
    /// serialized straight into wire text.
    #[doc(hidden)]
    fn __into_arg(self) -> Result<Arg, RpcError>
    where
        Self: Sized,
    {
        self.into_rpc_value().map(|value| Arg(Payload::Tree(value)))
    }
}

#[diagnostic::do_not_recommend]
impl<T: Serialize> RpcArg<T> for T {
    fn into_rpc_value(self) -> Result<Value, RpcError> {
        to_value(&self)
    }

    fn __into_arg(self) -> Result<Arg, RpcError> {
        to_payload(&self).map(Arg)
    }
}

#[diagnostic::do_not_recommend]
impl<T: Serialize> RpcArg<T> for &T {
    fn into_rpc_value(self) -> Result<Value, RpcError> {
        to_value(self)
    }

    fn __into_arg(self) -> Result<Arg, RpcError> {
        to_payload(self).map(Arg)
    }
}

impl<T> RpcArg<T> for RpcPromise<T> {
    fn into_rpc_value(self) -> Result<Value, RpcError> {
        Ok(Value::Promise(self.into_untyped()))
    }
}

impl<T> RpcArg<T> for &RpcPromise<T> {
    fn into_rpc_value(self) -> Result<Value, RpcError> {
        Ok(Value::Promise(self.untyped().clone()))
    }
}

impl RpcArg<String> for &str {
    fn into_rpc_value(self) -> Result<Value, RpcError> {
        Ok(Value::String(self.to_owned()))
    }
}

impl<T: Serialize> RpcArg<Vec<T>> for &[T] {
    fn into_rpc_value(self) -> Result<Value, RpcError> {
        to_value(self)
    }

    fn __into_arg(self) -> Result<Arg, RpcError> {
        to_payload(self).map(Arg)
    }
}

/// Lossless numeric widenings into `f64`, `i64` and `i32`, mirroring the standard `From` impls.
/// They also let an integer literal stand for an `f64` or `i64` parameter: the literal is
/// ambiguous among these impls, falls back to `i32`, and `i32` converts. (Unsigned and narrow
/// targets get none, so a literal passed to them is inferred as exactly that type.)
macro_rules! widen {
    ($($to:ty: $($from:ty),*;)*) => {$($(
        impl RpcArg<$to> for $from {
            fn into_rpc_value(self) -> Result<Value, RpcError> {
                to_value(&<$to>::from(self))
            }
        }
    )*)*};
}

widen! {
    f64: f32, i8, i16, i32, u8, u16, u32;
    i64: i8, i16, i32, u8, u16, u32;
    i32: i8, i16, u8, u16;
}
