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
mod fetch_rules;
pub(crate) mod js_json;
pub(crate) mod json;
pub(crate) mod message;
mod message_parse;
#[cfg(test)]
mod message_tests;
mod message_write;
mod payload;
mod plain;
mod split;
#[cfg(test)]
mod split_tests;
mod stream_decode;
mod text_de;
#[cfg(test)]
mod text_de_tests;
mod text_ser;
#[cfg(test)]
mod text_ser_tests;
mod words;

pub use message::{Expr, Message, MessageKind};

use crate::error::RpcError;
use crate::stream::{ReadableStream, WritableStream};
use crate::stub::{Promise, Stub};
pub use args::Args;
pub(crate) use payload::{Payload, PayloadRef, WireText, to_payload};

use crate::value::{PropertyKey, Value};

/// A parsed but not yet evaluated JSON tree.
pub type Json = serde_json::Value;

/// Limits a receiver enforces on what the peer sends (protocol.md section 14), so that one peer
/// can hold only a bounded share of a server's memory and tasks. Exceeding any of them aborts
/// that session (and no other) with an error naming the limit, e.g. `the peer exceeded
/// max_exports (100000)`. Start from the default and change the fields you need:
///
/// ```
/// use capnweb_runtime::{Limits, SessionOptions};
///
/// let mut options = SessionOptions::default();
/// options.limits.max_message_size = 1 << 20;
/// options.limits.max_calls_in_flight = 1_000;
/// // Or build a set of limits on its own:
/// let limits = Limits::default().max_exports(10_000).max_imports(10_000);
/// options.limits = limits;
/// ```
///
/// The first three are capnweb's own (with its defaults). The others bound the tables and the
/// work a peer can make us keep; capnweb has no such limits. Their defaults are far above what
/// an honest application holds at once on one connection (tens or hundreds of entries, a few
/// calls in flight, map closures of a few calls), and low enough that one session cannot grow
/// without bound: an entry costs a few hundred bytes, so a full table is tens of megabytes.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct Limits {
    /// Largest accepted message, in UTF-16 code units (as capnweb counts). Default 32 Mi.
    pub max_message_size: usize,
    /// Deepest accepted nesting of values (top level is depth 0; depth `max_depth` is refused).
    /// Default 256.
    pub max_depth: usize,
    /// Longest accepted bigint text. Default 16384.
    pub max_bigint_digits: usize,
    /// Most entries our export table may hold: the results of the peer's calls and the objects
    /// and promises we sent it, until it releases them. Checked when an entry is added.
    /// Default 100,000.
    pub max_exports: usize,
    /// Most entries our import table may hold when the peer introduces a new one (a stub or a
    /// promise it sends us, which lives until we drop it). The results of our own calls are
    /// counted but never refused: they are ours to bound. Default 100,000.
    pub max_imports: usize,
    /// Most of the peer's calls (and property reads) that may be unfinished at once on our
    /// side: running, or queued behind a promise. A released call keeps running, as on
    /// capnweb, so this is what bounds the tasks a peer can start. Default 10,000 (a suspended
    /// call holds a task and whatever its method holds, ten times a table entry or more).
    pub max_calls_in_flight: usize,
    /// Most instructions one `.map()` program (a `remap`) may have, nested programs counted
    /// separately. Default 10,000 (a recorded closure has one per call it makes).
    pub max_remap_instructions: usize,
    /// Most values one `remap` may create as it replays: one per instruction per element, over
    /// every nested map. Default 1,000,000 (a ten-call closure over 100,000 elements).
    pub max_remap_output: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_message_size: 32 * 1024 * 1024,
            max_depth: 256,
            max_bigint_digits: 16384,
            max_exports: 100_000,
            max_imports: 100_000,
            max_calls_in_flight: 10_000,
            max_remap_instructions: 10_000,
            max_remap_output: 1_000_000,
        }
    }
}

impl Limits {
    /// Sets [`Limits::max_message_size`].
    pub fn max_message_size(mut self, units: usize) -> Self {
        self.max_message_size = units;
        self
    }

    /// Sets [`Limits::max_depth`].
    pub fn max_depth(mut self, depth: usize) -> Self {
        self.max_depth = depth;
        self
    }

    /// Sets [`Limits::max_bigint_digits`].
    pub fn max_bigint_digits(mut self, digits: usize) -> Self {
        self.max_bigint_digits = digits;
        self
    }

    /// Sets [`Limits::max_exports`].
    pub fn max_exports(mut self, entries: usize) -> Self {
        self.max_exports = entries;
        self
    }

    /// Sets [`Limits::max_imports`].
    pub fn max_imports(mut self, entries: usize) -> Self {
        self.max_imports = entries;
        self
    }

    /// Sets [`Limits::max_calls_in_flight`].
    pub fn max_calls_in_flight(mut self, calls: usize) -> Self {
        self.max_calls_in_flight = calls;
        self
    }

    /// Sets [`Limits::max_remap_instructions`].
    pub fn max_remap_instructions(mut self, instructions: usize) -> Self {
        self.max_remap_instructions = instructions;
        self
    }

    /// Sets [`Limits::max_remap_output`].
    pub fn max_remap_output(mut self, values: usize) -> Self {
        self.max_remap_output = values;
        self
    }
}

/// The abort reason for a peer that went past one of the [`Limits`].
pub(crate) fn limit_exceeded(name: &str, value: usize) -> RpcError {
    RpcError::protocol(format!("the peer exceeded {name} ({value})"))
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
    /// Opens a pipe to the peer for `stream` and appends `["readable", id]`.
    fn readable(&mut self, stream: &ReadableStream, out: &mut String) -> Result<(), RpcError>;
    /// Exports `stream` for the peer to write into and appends `["writable", id]`.
    fn writable(&mut self, stream: &WritableStream, out: &mut String) -> Result<(), RpcError>;
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
