//! Helpers for the code `#[rpc_interface]` and `#[rpc_target]` generate. Not a public API: the
//! names and signatures change with the macros.
//!
//! Keeping the logic here (instead of in every expansion) keeps the generated code short,
//! which matters for compile times, and keeps the macros' output readable.

use std::future::Future;

/// For the generated serde impls of client types (the user's crate need not depend on serde).
pub use serde;

use crate::error::RpcError;
pub use crate::stub::FromPromise;
use crate::stub::{Pipeline, Stub};
pub use crate::target::{Answer, Request};
use crate::target::{CallFuture, RpcTarget};
use crate::typed::RpcData;
use crate::value::Value;
use crate::wire::{Args, Payload};

/// One argument as a generated client sends it (see `RpcArg::__into_arg`): possibly wire text,
/// which only the runtime can read.
pub struct Arg(pub(crate) Payload);

/// The argument list of a call, from the arguments the generated client method received.
/// The first conversion error wins; the call is then not sent and its promise is rejected.
fn collect<const N: usize>(args: [Result<Arg, RpcError>; N]) -> Result<Args, RpcError> {
    let mut out = Vec::with_capacity(N);
    for arg in args {
        out.push(arg?.0);
    }
    // Trailing `undefined`s are left out, as a JavaScript caller leaves out arguments it does
    // not pass (the callee sees `undefined` either way, and its default parameters apply).
    while matches!(out.last(), Some(Payload::Tree(Value::Undefined))) {
        out.pop();
    }
    Ok(Args::from_payloads(out))
}

/// An `Option` parameter's argument: `None` travels as `undefined` (not `null`), so a
/// TypeScript default parameter (`increment(by = 1)`) applies.
pub fn optional(arg: Result<Arg, RpcError>) -> Result<Arg, RpcError> {
    arg.map(|Arg(payload)| match payload {
        Payload::Tree(Value::Null) => Arg(Payload::Tree(Value::Undefined)),
        other => Arg(other),
    })
}

// The client helpers below return whatever the generated method returns: an `RpcPromise<T>`
// for data, or a `Stub` that the method views as its client type (through
// `RpcClient::from_stub`, which also gives a wrong capability type its own error message).

/// Calls `method` with `args`.
pub fn call<R: FromPromise, const N: usize>(
    stub: &Stub,
    method: &str,
    args: [Result<Arg, RpcError>; N],
) -> R {
    stub.call_as(method, collect(args))
}

/// Invokes the capability itself as a function.
pub fn invoke<R: FromPromise, const N: usize>(stub: &Stub, args: [Result<Arg, RpcError>; N]) -> R {
    stub.invoke_as(collect(args))
}

/// Reads property `property`.
pub fn get<R: FromPromise>(stub: &Stub, property: &str) -> R {
    stub.get_as(property)
}

/// Makes a local target a capability.
pub fn serve<T: RpcTarget>(target: T) -> Stub {
    Stub::new(target)
}

// ---------------------------------------------------------------------------------------------
// Dispatch

/// The arguments of an incoming call, decoded one by one.
pub struct ArgReader {
    method: &'static str,
    values: std::vec::IntoIter<Payload>,
    index: usize,
}

/// Decodes the arguments of a call to `method`, which takes `max` arguments, with `f`
/// (generated: one `args.next::<T>(name)?` per parameter). Missing arguments read as
/// `undefined`, so `Option` parameters may be left out, as in JavaScript; extra ones are
/// refused with a `TypeError`.
pub fn decode<R>(
    args: Args,
    method: &'static str,
    max: usize,
    f: impl FnOnce(&mut ArgReader) -> Result<R, RpcError>,
) -> Result<R, RpcError> {
    let values = args.into_payloads();
    if values.len() > max {
        return Err(RpcError::type_error(format!(
            "{method}() takes {max} argument{}, but {} were given",
            if max == 1 { "" } else { "s" },
            values.len()
        )));
    }
    f(&mut ArgReader {
        method,
        values: values.into_iter(),
        index: 0,
    })
}

impl ArgReader {
    /// Decodes the next argument, named `name` in the method's signature.
    pub fn next<T: RpcData>(&mut self, name: &'static str) -> Result<T, RpcError> {
        let value = self
            .values
            .next()
            .unwrap_or(Payload::Tree(Value::Undefined));
        let index = self.index;
        self.index += 1;
        crate::typed::read_payload(value).map_err(|e| {
            RpcError::type_error(format!(
                "{}(): argument {} (`{name}`): {}",
                self.method,
                index + 1,
                e.message()
            ))
        })
    }
}

/// A method's encoded result, possibly wire text (opaque outside the runtime).
pub struct Reply(Payload);

/// Runs a decoded call: either the future computing the result or the decoding error.
pub fn respond<F>(call: Result<F, RpcError>) -> Answer
where
    F: Future<Output = Result<Reply, RpcError>> + Send + 'static,
{
    match call {
        Ok(fut) => Answer::payload(async move { fut.await.map(|Reply(payload)| payload) }),
        Err(e) => Answer::from(error(e)),
    }
}

/// [`respond`] for a method marked `#[rpc(run_to_completion)]`: its future runs on a task
/// that the end of the session does not cancel.
pub fn respond_to_completion<F>(call: Result<F, RpcError>) -> Answer
where
    F: Future<Output = Result<Reply, RpcError>> + Send + 'static,
{
    respond(call.map(crate::task::run_to_completion))
}

/// A generated target's answer as the tree its `call`, `get` or `invoke` returns.
pub fn tree(answer: Answer) -> CallFuture {
    answer.into_call_future()
}

/// Encodes a method's result.
pub fn encode<T: RpcData>(value: T) -> Result<Reply, RpcError> {
    let encoded = crate::wire::to_payload(&value);
    drop_result(value, &encoded);
    encoded.map(Reply)
}

/// Drops a method's result, after the answer is written if it was large (see
/// `session::drop_after_write`): its text is all the answer needs.
fn drop_result<T: RpcData>(value: T, encoded: &Result<Payload, RpcError>) {
    let wire_len = match encoded {
        Ok(Payload::Text(text)) => text.as_str().len(),
        _ => 0,
    };
    crate::session::drop_after_write(value, wire_len);
}

/// An error type a method may return: anything that converts into [`RpcError`]. A separate
/// trait (rather than `Into<RpcError>` directly) so that a type that does not convert gets one
/// message that says what to write, not a list of `RpcError`'s `From` impls.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be the error of an RPC method: it does not convert into `RpcError`",
    label = "no `From<{Self}> for RpcError`",
    note = "implement `From<{Self}> for capnweb_runtime::RpcError`, choosing the error's name, message and properties (e.g. `RpcError::new(\"NotFoundError\", ..).with_property(\"code\", ..)`)"
)]
pub trait IntoRpcError {
    /// Converts the error.
    fn into_rpc_error(self) -> RpcError;
}

#[diagnostic::do_not_recommend]
impl<E: Into<RpcError>> IntoRpcError for E {
    fn into_rpc_error(self) -> RpcError {
        self.into()
    }
}

/// Encodes a method's `Result`: the error becomes a rejection (name, message, properties).
pub fn encode_result<T: RpcData, E: IntoRpcError>(result: Result<T, E>) -> Result<Reply, RpcError> {
    match result {
        Ok(value) => encode(value),
        Err(e) => Err(e.into_rpc_error()),
    }
}

/// Encodes a capability result (converted by `RpcClient::into_stub`).
pub fn encode_stub(stub: Stub) -> Result<Reply, RpcError> {
    Ok(Reply(Payload::Tree(Value::Stub(stub))))
}

fn error(e: RpcError) -> CallFuture {
    Box::pin(std::future::ready(Err(e)))
}

/// The answer to a call of a method the target does not have (what JavaScript peers expect).
pub fn no_such_method(method: &str) -> Answer {
    Answer::from(error(RpcError::no_such_method(method)))
}

/// The answer to a read of a property the target does not have: `undefined`, as in JavaScript.
pub fn undefined() -> Answer {
    Answer::from(Box::pin(std::future::ready(Ok(Value::Undefined))) as CallFuture)
}

/// The answer to invoking a target that is not a function (what `RpcTarget::invoke` refuses
/// with by default).
pub fn not_callable() -> Answer {
    Answer::from(error(crate::target::not_callable()))
}

/// Implements the plumbing of a generated client type: `Clone` (dup), `Debug`,
/// [`RpcClient`](crate::RpcClient), serde through [`Stub`] (so a client can be an argument, a
/// result or a struct field), conversions from and to [`Stub`], and `MapOutput` (a mapper may
/// return it). The type must be a struct with one field, `stub: Stub`.
#[doc(hidden)]
#[macro_export]
macro_rules! __capnweb_client_impls {
    ($client:ident) => {
        impl ::core::clone::Clone for $client {
            fn clone(&self) -> Self {
                $client {
                    stub: ::core::clone::Clone::clone(&self.stub),
                }
            }
        }

        impl ::core::fmt::Debug for $client {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.debug_tuple(::core::stringify!($client))
                    .field(&self.stub)
                    .finish()
            }
        }

        impl $crate::RpcClient for $client {
            fn from_stub(stub: $crate::Stub) -> Self {
                $client { stub }
            }
            fn stub(&self) -> &$crate::Stub {
                &self.stub
            }
            fn into_stub(self) -> $crate::Stub {
                self.stub
            }
        }

        impl ::core::convert::From<$crate::Stub> for $client {
            fn from(stub: $crate::Stub) -> Self {
                $client { stub }
            }
        }

        impl ::core::convert::From<$client> for $crate::Stub {
            fn from(client: $client) -> Self {
                client.stub
            }
        }

        impl $crate::__private::serde::Serialize for $client {
            fn serialize<S: $crate::__private::serde::Serializer>(
                &self,
                serializer: S,
            ) -> ::core::result::Result<S::Ok, S::Error> {
                $crate::__private::serde::Serialize::serialize(&self.stub, serializer)
            }
        }

        impl $crate::MapOutput for $client {
            type Output = $client;
        }

        impl<'de> $crate::__private::serde::Deserialize<'de> for $client {
            fn deserialize<D: $crate::__private::serde::Deserializer<'de>>(
                deserializer: D,
            ) -> ::core::result::Result<Self, D::Error> {
                ::core::result::Result::map(
                    <$crate::Stub as $crate::__private::serde::Deserialize<'de>>::deserialize(
                        deserializer,
                    ),
                    |stub| $client { stub },
                )
            }
        }
    };
}

pub use crate::__capnweb_client_impls as client_impls;

// ---------------------------------------------------------------------------------------------
// Introspection (`#[rpc_interface(introspect)]`)

/// An interface's description, as `#[rpc_interface(introspect)]` writes it.
pub struct InterfaceDoc {
    pub name: &'static str,
    pub doc: &'static str,
    pub methods: &'static [MethodDoc],
}

/// One member of an interface.
pub struct MethodDoc {
    /// The wire name (empty for the object itself as a function).
    pub name: &'static str,
    /// `"method"`, `"property"` or `"invoke"`.
    pub kind: &'static str,
    pub params: &'static [ParamDoc],
    /// The Rust result type as written.
    pub result: &'static str,
    pub doc: &'static str,
}

/// One parameter: its name and Rust type as written.
pub struct ParamDoc {
    pub name: &'static str,
    pub ty: &'static str,
}

/// The answer to `$meta`: `{interface, doc, members: [{name, kind, params: [{name, type}],
/// result, doc}]}`.
pub fn describe(doc: &'static InterfaceDoc) -> Answer {
    let text = |s: &str| Value::String(s.to_owned());
    let members = doc
        .methods
        .iter()
        .map(|m| {
            let params = m
                .params
                .iter()
                .map(|p| {
                    let mut param = crate::value::Object::new();
                    param.insert("name".into(), text(p.name));
                    param.insert("type".into(), text(p.ty));
                    Value::Object(param)
                })
                .collect();
            let mut member = crate::value::Object::new();
            member.insert("name".into(), text(m.name));
            member.insert("kind".into(), text(m.kind));
            member.insert("params".into(), Value::Array(params));
            member.insert("result".into(), text(m.result));
            member.insert("doc".into(), text(m.doc));
            Value::Object(member)
        })
        .collect();
    let mut described = crate::value::Object::new();
    described.insert("interface".into(), text(doc.name));
    described.insert("doc".into(), text(doc.doc));
    described.insert("members".into(), Value::Array(members));
    let described = Value::Object(described);
    Answer::from(Box::pin(std::future::ready(Ok(described))) as CallFuture)
}
