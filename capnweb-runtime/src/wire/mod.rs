//! The wire codec: JSON text <-> messages and expressions (protocol.md sections 4 and 5).
//!
//! [`Message`] is the public face of it: parse any message text, look at its kind, IDs and
//! expression, evaluate plain data with [`Expr::to_value`], and write a message back as the
//! exact text capnweb sends. [`serialize`] and [`deserialize`] do the same for a bare value.
//!
//! The codec knows the syntax of every expression form but not the session's tables: reference
//! forms (`import`, `pipeline`, `export`, `promise`, `remap`, `writable`, `readable`) are handed
//! to a `RefDecoder` when reading and stubs/promises to a `RefEncoder` when writing. The
//! session engine implements both; `NoRefs` refuses them (for errors, aborts and plain data).

mod args;
pub(crate) mod decode;
mod decode_special;
#[cfg(test)]
mod decode_tests;
pub(crate) mod encode;
#[cfg(test)]
mod encode_tests;
pub(crate) mod json;
pub(crate) mod message;
mod message_parse;
#[cfg(test)]
mod message_tests;
mod message_write;
mod payload;
mod plain;
mod stream_decode;
mod text_de;
#[cfg(test)]
mod text_de_tests;
mod text_ser;
#[cfg(test)]
mod text_ser_tests;

pub use message::{Expr, Message, MessageKind};

use crate::error::RpcError;
use crate::stub::{Promise, Stub};
pub use args::Args;
pub(crate) use payload::{Payload, PayloadRef, WireText, to_payload};

use crate::value::{PropertyKey, Value};

/// A parsed but not yet evaluated JSON tree.
pub type Json = serde_json::Value;

/// Limits a receiver enforces on what the peer sends (protocol.md section 14). Start from the
/// default (capnweb's limits) and change the fields you need.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct Limits {
    /// Largest accepted message, in UTF-16 code units (as capnweb counts).
    pub max_message_size: usize,
    /// Deepest accepted nesting of values (top level is depth 0; depth `max_depth` is refused).
    pub max_depth: usize,
    /// Longest accepted bigint text.
    pub max_bigint_digits: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_message_size: 32 * 1024 * 1024,
            max_depth: 256,
            max_bigint_digits: 16384,
        }
    }
}

/// One entry of a `remap` capture list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Capture {
    /// `["import", id]`: the sender's import (a capability the recipient hosts).
    Import(i64),
    /// `["export", id]`: a capability the sender hosts, newly exported.
    Export(i64),
}

/// Evaluates the reference forms met while decoding an expression.
pub(crate) trait RefDecoder {
    /// `["import", id]`, `["import", id, path]` or `["import", id, path, args]`.
    fn import(
        &mut self,
        id: i64,
        path: Option<Vec<PropertyKey>>,
        args: Option<Args>,
    ) -> Result<Value, RpcError>;
    /// `["pipeline", id]`, `["pipeline", id, path]` or `["pipeline", id, path, args]`.
    fn pipeline(
        &mut self,
        id: i64,
        path: Option<Vec<PropertyKey>>,
        args: Option<Args>,
    ) -> Result<Value, RpcError>;
    /// `["export", id]`.
    fn export(&mut self, id: i64) -> Result<Value, RpcError>;
    /// `["promise", id]`.
    fn promise(&mut self, id: i64) -> Result<Value, RpcError>;
    /// `["remap", id, path, captures, instructions]`; the instructions stay unevaluated.
    fn remap(
        &mut self,
        id: i64,
        path: Vec<PropertyKey>,
        captures: Vec<Capture>,
        instructions: Vec<Json>,
    ) -> Result<Value, RpcError>;
    /// `["writable", id]`.
    fn writable(&mut self, id: i64) -> Result<Value, RpcError>;
    /// `["readable", id]`.
    fn readable(&mut self, id: i64) -> Result<Value, RpcError>;
}

/// Writes the reference forms for stubs and promises met while encoding a value.
pub(crate) trait RefEncoder {
    /// Appends the expression for a capability (`["import", n]`, `["export", -n]`, ...).
    fn stub(&mut self, stub: &Stub, out: &mut String) -> Result<(), RpcError>;
    /// Appends the expression for a promise (`["pipeline", n]`, `["promise", -n]`, ...).
    fn promise(&mut self, promise: &Promise, out: &mut String) -> Result<(), RpcError>;
}

/// A [`RefDecoder`]/[`RefEncoder`] for contexts where references are not allowed.
pub(crate) struct NoRefs;

/// Serializes a plain value to JSON text, like capnweb's exported `serialize()`: the value is
/// encoded as a top-level expression and capabilities are refused.
pub fn serialize(value: &Value) -> Result<String, RpcError> {
    let mut out = String::new();
    encode::encode_value(value, &mut NoRefs, &mut out)?;
    Ok(out)
}

/// Parses JSON text produced by `serialize()` (here or in JS) back into a value, like
/// capnweb's exported `deserialize()`: default depth and bigint limits, no size limit, and
/// references refused.
pub fn deserialize(text: &str) -> Result<Value, RpcError> {
    let limits = Limits {
        max_message_size: usize::MAX,
        ..Limits::default()
    };
    json::precheck(text, &limits)?;
    stream_decode::decode_expr_text(text, 0, &limits, &mut NoRefs)
}
