//! Evaluating an expression straight from its JSON text, without building a `serde_json` tree
//! first (the tree costs as much as the evaluation itself: every string, array and object is
//! allocated twice).
//!
//! Plain JSON, escaped arrays and `import`/`pipeline` calls (the forms that carry bulk data) are
//! evaluated as the parser reads them. Every other tagged form is small: its elements are read
//! into a tree and handed to the tree evaluator ([`Decoder`]), which owns the rules. Error texts
//! stay those of the tree evaluator: when the text turns out to be malformed in a way the error
//! must quote, the expression is evaluated again as a tree with references that do nothing,
//! which reproduces the error (the session aborts on it anyway).
//!
//! The text must already have passed the size, nesting and JSON checks of
//! [`parse`](super::json::parse), as every expression of a parsed message has.

use std::fmt;

use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

use serde_json::value::RawValue;

use super::decode::{Decoder, is_blocked_key, number_key};
use super::plain::{KEEP_AS_TEXT_MIN_LEN, is_plain_data};
use super::{Capture, Json, Limits, RefDecoder};
use crate::error::RpcError;
use crate::value::{Object, PropertyKey, Value};
use crate::wire::{Args, Payload, WireText};

/// Evaluates the expression in `text` at `depth`, passing reference forms to `refs`.
pub(crate) fn decode_expr_text(
    text: &str,
    depth: usize,
    limits: &Limits,
    refs: &mut dyn RefDecoder,
) -> Result<Value, RpcError> {
    evaluate(text, depth, limits, refs, false)
}

/// Evaluates a received message's expression like [`decode_expr_text`], except that a large
/// value of plain data, or a large plain argument of a call in it, is kept as its text
/// ([`Payload::Text`]): a typed receiver reads its own types straight from that text.
pub(crate) fn decode_message_expr(
    text: &str,
    depth: usize,
    limits: &Limits,
    refs: &mut dyn RefDecoder,
) -> Result<Payload, RpcError> {
    if text.len() < KEEP_AS_TEXT_MIN_LEN {
        return evaluate(text, depth, limits, refs, false).map(Payload::Tree);
    }
    if is_plain_data(text, depth, limits) {
        return Ok(Payload::Text(WireText::received(text)));
    }
    evaluate(text, depth, limits, refs, true).map(Payload::Tree)
}

fn evaluate(
    text: &str,
    depth: usize,
    limits: &Limits,
    refs: &mut dyn RefDecoder,
    keep_plain_args: bool,
) -> Result<Value, RpcError> {
    let mut stop = None;
    let result = {
        let mut ctx = Ctx {
            dec: Decoder { limits, refs },
            stop: &mut stop,
            keep_plain_args,
        };
        let mut de = serde_json::Deserializer::from_str(text);
        de.disable_recursion_limit();
        Expr {
            ctx: &mut ctx,
            depth,
        }
        .deserialize(&mut de)
    };
    match (result, stop) {
        (Ok(value), _) => Ok(value),
        (Err(_), Some(Stop::Error(e))) => Err(e),
        // Malformed in a way the error text must quote, or (if the caller skipped the checks)
        // not JSON at all: the tree evaluator says what is wrong.
        (Err(_), Some(Stop::Quote) | None) => {
            let tree = super::json::parse(text, limits)?;
            match super::decode::decode_expr(tree, depth, limits, &mut Inert) {
                Err(e) => Err(e),
                // Both evaluators follow the same rules, so this would be a bug of ours.
                Ok(_) => Err(RpcError::protocol("malformed expression")),
            }
        }
    }
}

/// Why evaluation stopped early.
enum Stop {
    /// An evaluation error, final as it is.
    Error(RpcError),
    /// A malformed form whose error quotes its JSON: evaluate again as a tree.
    Quote,
}

/// The evaluator and the slot for why it stopped (serde's own error type cannot carry it).
struct Ctx<'a, 'b> {
    dec: Decoder<'b>,
    stop: &'a mut Option<Stop>,
    /// Keep large plain call arguments as text (see [`decode_message_expr`]).
    keep_plain_args: bool,
}

impl Ctx<'_, '_> {
    /// Records `stop` and returns the error that unwinds the parser.
    fn fail<E: serde::de::Error>(&mut self, stop: Stop) -> E {
        *self.stop = Some(stop);
        E::custom("evaluation stopped")
    }

    fn check<T, E: serde::de::Error>(&mut self, r: Result<T, RpcError>) -> Result<T, E> {
        r.map_err(|e| self.fail(Stop::Error(e)))
    }
}

/// One expression at `depth`.
struct Expr<'c, 'a, 'b> {
    ctx: &'c mut Ctx<'a, 'b>,
    depth: usize,
}

impl<'de> DeserializeSeed<'de> for Expr<'_, '_, '_> {
    type Value = Value;

    fn deserialize<D: serde::Deserializer<'de>>(self, de: D) -> Result<Value, D::Error> {
        let depth_ok = self.ctx.dec.check_depth(self.depth);
        self.ctx.check(depth_ok)?;
        de.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Expr<'_, '_, '_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a Cap'n Web expression")
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }

    fn visit_i64<E>(self, n: i64) -> Result<Value, E> {
        Ok(Value::Number(n as f64))
    }

    fn visit_u64<E>(self, n: u64) -> Result<Value, E> {
        Ok(Value::Number(n as f64))
    }

    fn visit_f64<E>(self, n: f64) -> Result<Value, E> {
        Ok(Value::Number(n))
    }

    fn visit_str<E>(self, s: &str) -> Result<Value, E> {
        Ok(Value::String(s.to_owned()))
    }

    fn visit_string<E>(self, s: String) -> Result<Value, E> {
        Ok(Value::String(s))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Object::new();
        while let Some(key) = map.next_key::<String>()? {
            let value = map.next_value_seed(Expr {
                ctx: &mut *self.ctx,
                depth: self.depth + 1,
            })?;
            // A blocked key's value is dropped here, which releases any capability it held.
            if !is_blocked_key(&key) {
                out.insert(key, value);
            }
        }
        Ok(Value::Object(out))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let ctx = self.ctx;
        let depth = self.depth;
        let first = seq.next_element_seed(First {
            ctx: &mut *ctx,
            depth,
        })?;
        match first {
            Some(Head::Escaped(items)) => {
                if seq.next_element::<IgnoredAny>()?.is_some() {
                    return Err(ctx.fail(Stop::Quote));
                }
                Ok(Value::Array(items))
            }
            Some(Head::Call { pipeline }) => call_ref(ctx, seq, pipeline, depth),
            // Every other form is small: the tree evaluator applies its rules.
            head => {
                let mut items: Vec<Json> = Vec::new();
                match head {
                    Some(Head::Json(first)) => items.push(first),
                    // Matched above; here only to keep the match exhaustive.
                    Some(Head::Call { .. } | Head::Escaped(_)) | None => {}
                }
                while let Some(item) = seq.next_element::<Json>()? {
                    items.push(item);
                }
                let value = ctx.dec.eval_array(items, depth);
                ctx.check(value)
            }
        }
    }
}

/// `["import"|"pipeline", id, path?, args?]` after its tag: the arguments are evaluated as they
/// are read.
fn call_ref<'de, A: SeqAccess<'de>>(
    ctx: &mut Ctx<'_, '_>,
    mut seq: A,
    is_pipeline: bool,
    depth: usize,
) -> Result<Value, A::Error> {
    // An ID that is no number, or a path that is no array of strings and numbers, fails here
    // with serde's error and no stop reason: the tree evaluator then says what is wrong.
    let Some(id) = seq.next_element::<f64>()? else {
        return Err(ctx.fail(Stop::Quote));
    };
    let path = seq.next_element_seed(PathSeed)?;
    let args = match path {
        None => None,
        Some(_) => seq.next_element_seed(ArgList {
            ctx: &mut *ctx,
            depth,
        })?,
    };
    if seq.next_element::<IgnoredAny>()?.is_some() {
        return Err(ctx.fail(Stop::Quote));
    }
    let id = super::decode::export_id(id);
    let id = ctx.check(id)?;
    let value = if is_pipeline {
        ctx.dec.refs.pipeline(id, path, args)
    } else {
        ctx.dec.refs.import(id, path, args)
    };
    ctx.check(value)
}

/// The first element of an array: an escaped array's contents (evaluated one level deeper),
/// or any other JSON, kept as a tree.
enum Head {
    Escaped(Vec<Value>),
    /// `"import"` or `"pipeline"`: a call form, read without a tree.
    Call {
        pipeline: bool,
    },
    Json(Json),
}

impl Head {
    fn string(s: &str) -> Head {
        match s {
            "import" => Head::Call { pipeline: false },
            "pipeline" => Head::Call { pipeline: true },
            _ => Head::Json(Json::String(s.to_owned())),
        }
    }
}

struct First<'c, 'a, 'b> {
    ctx: &'c mut Ctx<'a, 'b>,
    depth: usize,
}

impl<'de> DeserializeSeed<'de> for First<'_, '_, '_> {
    type Value = Head;

    fn deserialize<D: serde::Deserializer<'de>>(self, de: D) -> Result<Head, D::Error> {
        de.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for First<'_, '_, '_> {
    type Value = Head;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array element")
    }

    fn visit_unit<E>(self) -> Result<Head, E> {
        Ok(Head::Json(Json::Null))
    }

    fn visit_bool<E>(self, b: bool) -> Result<Head, E> {
        Ok(Head::Json(Json::Bool(b)))
    }

    fn visit_i64<E>(self, n: i64) -> Result<Head, E> {
        Ok(Head::Json(Json::from(n)))
    }

    fn visit_u64<E>(self, n: u64) -> Result<Head, E> {
        Ok(Head::Json(Json::from(n)))
    }

    fn visit_f64<E>(self, n: f64) -> Result<Head, E> {
        Ok(Head::Json(Json::from(n)))
    }

    fn visit_str<E>(self, s: &str) -> Result<Head, E> {
        Ok(Head::string(s))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Head, A::Error> {
        let map = serde::de::value::MapAccessDeserializer::new(map);
        Ok(Head::Json(serde::Deserialize::deserialize(map)?))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Head, A::Error> {
        // An escaped array's elements sit one level below the array expression.
        elements(self.ctx, seq, self.depth + 1).map(Head::Escaped)
    }
}

/// A call's argument list: evaluated like an escaped array at the call's depth.
struct ArgList<'c, 'a, 'b> {
    ctx: &'c mut Ctx<'a, 'b>,
    depth: usize,
}

impl<'de> DeserializeSeed<'de> for ArgList<'_, '_, '_> {
    type Value = Args;

    fn deserialize<D: serde::Deserializer<'de>>(self, de: D) -> Result<Args, D::Error> {
        de.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ArgList<'_, '_, '_> {
    type Value = Args;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an argument list")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Args, A::Error> {
        if !self.ctx.keep_plain_args {
            return elements(self.ctx, seq, self.depth + 1).map(Args::from);
        }
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(item) = seq.next_element_seed(ArgText {
            ctx: &mut *self.ctx,
            depth: self.depth + 1,
        })? {
            out.push(item);
        }
        Ok(Args::from_payloads(out))
    }

    // Anything else where the arguments belong is malformed: the tree evaluator quotes it.
    fn visit_unit<E: serde::de::Error>(self) -> Result<Args, E> {
        Err(self.ctx.fail(Stop::Quote))
    }

    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<Args, E> {
        Err(self.ctx.fail(Stop::Quote))
    }

    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<Args, E> {
        Err(self.ctx.fail(Stop::Quote))
    }

    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<Args, E> {
        Err(self.ctx.fail(Stop::Quote))
    }

    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Args, E> {
        Err(self.ctx.fail(Stop::Quote))
    }

    fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<Args, E> {
        Err(self.ctx.fail(Stop::Quote))
    }

    fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<Args, A::Error> {
        Err(self.ctx.fail(Stop::Quote))
    }
}

/// One argument of a call, taken as text first: kept as it is when it is large plain data,
/// evaluated from that text otherwise.
struct ArgText<'c, 'a, 'b> {
    ctx: &'c mut Ctx<'a, 'b>,
    depth: usize,
}

impl<'de> DeserializeSeed<'de> for ArgText<'_, '_, '_> {
    type Value = Payload;

    fn deserialize<D: serde::Deserializer<'de>>(self, de: D) -> Result<Payload, D::Error> {
        use serde::de::Error;
        let text = <&'de RawValue as serde::Deserialize<'de>>::deserialize(de)?.get();
        if text.len() >= KEEP_AS_TEXT_MIN_LEN
            && is_plain_data(text, self.depth, self.ctx.dec.limits)
        {
            return Ok(Payload::Text(WireText::received(text)));
        }
        let mut de = serde_json::Deserializer::from_str(text);
        de.disable_recursion_limit();
        // Why it failed is in the context's stop slot (or, for malformed JSON, nowhere, and the
        // caller re-evaluates the whole expression as a tree for the error).
        Expr {
            ctx: self.ctx,
            depth: self.depth,
        }
        .deserialize(&mut de)
        .map(Payload::Tree)
        .map_err(|_| D::Error::custom("evaluation stopped"))
    }
}

/// Evaluates every element of `seq` at `depth`.
fn elements<'de, A: SeqAccess<'de>>(
    ctx: &mut Ctx<'_, '_>,
    mut seq: A,
    depth: usize,
) -> Result<Vec<Value>, A::Error> {
    let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0));
    while let Some(item) = seq.next_element_seed(Expr {
        ctx: &mut *ctx,
        depth,
    })? {
        out.push(item);
    }
    Ok(out)
}

/// References that do nothing: used only to re-evaluate a malformed expression for its error.
struct Inert;

impl RefDecoder for Inert {
    fn import(
        &mut self,
        _: i64,
        _: Option<Vec<PropertyKey>>,
        _: Option<Args>,
    ) -> Result<Value, RpcError> {
        Ok(Value::Undefined)
    }

    fn pipeline(
        &mut self,
        _: i64,
        _: Option<Vec<PropertyKey>>,
        _: Option<Args>,
    ) -> Result<Value, RpcError> {
        Ok(Value::Undefined)
    }

    fn export(&mut self, _: i64) -> Result<Value, RpcError> {
        Ok(Value::Undefined)
    }

    fn promise(&mut self, _: i64) -> Result<Value, RpcError> {
        Ok(Value::Undefined)
    }

    fn remap(
        &mut self,
        _: i64,
        _: Vec<PropertyKey>,
        _: Vec<Capture>,
        _: Vec<Json>,
    ) -> Result<Value, RpcError> {
        Ok(Value::Undefined)
    }

    fn writable(&mut self, _: i64) -> Result<Value, RpcError> {
        Ok(Value::Undefined)
    }

    fn readable(&mut self, _: i64) -> Result<Value, RpcError> {
        Ok(Value::Undefined)
    }
}

/// A call's property path: an array of strings and numbers, read straight into keys.
struct PathSeed;

impl<'de> DeserializeSeed<'de> for PathSeed {
    type Value = Vec<PropertyKey>;

    fn deserialize<D: serde::Deserializer<'de>>(self, de: D) -> Result<Self::Value, D::Error> {
        de.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for PathSeed {
    type Value = Vec<PropertyKey>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a property path")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut path = Vec::with_capacity(seq.size_hint().unwrap_or(1));
        while let Some(key) = seq.next_element_seed(KeySeed)? {
            path.push(key);
        }
        Ok(path)
    }
}

/// One element of a property path.
struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = PropertyKey;

    fn deserialize<D: serde::Deserializer<'de>>(self, de: D) -> Result<Self::Value, D::Error> {
        de.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for KeySeed {
    type Value = PropertyKey;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string or a number")
    }

    fn visit_str<E>(self, s: &str) -> Result<PropertyKey, E> {
        Ok(PropertyKey::Name(s.to_owned()))
    }

    fn visit_i64<E>(self, n: i64) -> Result<PropertyKey, E> {
        Ok(number_key(n as f64))
    }

    fn visit_u64<E>(self, n: u64) -> Result<PropertyKey, E> {
        Ok(number_key(n as f64))
    }

    fn visit_f64<E>(self, n: f64) -> Result<PropertyKey, E> {
        Ok(number_key(n))
    }
}
