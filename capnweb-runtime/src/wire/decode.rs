//! Evaluating received expressions into [`Value`]s (protocol.md section 5).
//!
//! The rules, error texts and depth accounting follow capnweb 0.12.0's `Evaluator`:
//!
//! - every evaluation step checks `depth >= max_depth` first (top level is depth 0); children of
//!   arrays and objects, error props values, request/response bodies and call arguments are one
//!   level deeper than the expression that holds them;
//! - call arguments continue the count of the enclosing message (they do not reset it);
//! - object keys naming `Object.prototype` members and `toJSON` are evaluated (so capabilities
//!   inside them are still imported and then released by dropping) and then dropped.
//!
//! Reference forms are parsed and validated here and then handed to a [`RefDecoder`].
//!
//! Where JavaScript would accept a reference ID that is a number but not an integer (it can never
//! name a table entry), we refuse it with the same error an unknown ID gets, or with
//! `unknown special value` for forms that create entries (`export`, `promise`, ...).

use super::decode_special as special;
use super::json::{write_json, write_number};
use super::message::{Expr, Repr};
use super::stream_decode::decode_expr_text;
use super::{Capture, Json, Limits, NoRefs, RefDecoder};
use crate::error::RpcError;
use crate::value::{Object, PropertyKey, Value};
use crate::wire::Args;

/// Object keys a JavaScript receiver refuses to set: the names of `Object.prototype` members
/// (assigning them could change the object's behaviour or prototype) and `toJSON`.
pub(crate) const BLOCKED_KEYS: [&str; 13] = capnweb_names::DROPPED_OBJECT_KEYS;

/// True if a received object key must be dropped (see [`BLOCKED_KEYS`]).
pub(crate) fn is_blocked_key(key: &str) -> bool {
    BLOCKED_KEYS.contains(&key)
}

/// The largest integer a JavaScript number holds exactly (2^53 - 1).
pub(crate) use crate::value::MAX_SAFE_INTEGER;

/// Evaluates one expression at nesting level `depth` (0 for a message's top-level expression).
///
/// Reference forms are passed to `refs`. Errors are the ones capnweb raises (`TypeError`
/// "unknown special value: ...", the depth error, bigint errors, ...); all abort the session.
///
/// The expression may be a tree or text already checked by the message parser (an abort
/// reason is an [`Expr`] like every other expression).
pub(crate) fn decode_expr<'e>(
    expr: impl Into<Expr<'e>>,
    depth: usize,
    limits: &Limits,
    refs: &mut dyn RefDecoder,
) -> Result<Value, RpcError> {
    match expr.into().0 {
        Repr::Tree(json) => Decoder { limits, refs }.eval(json, depth),
        Repr::Text(text) => decode_expr_text(&text, depth, limits, refs),
    }
}

/// Evaluation state: the limits and the session's reference handler.
pub(crate) struct Decoder<'a> {
    pub(crate) limits: &'a Limits,
    pub(crate) refs: &'a mut dyn RefDecoder,
}

impl Decoder<'_> {
    /// Evaluates `json` at `depth`.
    pub(crate) fn eval(&mut self, json: Json, depth: usize) -> Result<Value, RpcError> {
        self.check_depth(depth)?;
        Ok(match json {
            Json::Null => Value::Null,
            Json::Bool(b) => Value::Bool(b),
            Json::Number(n) => Value::Number(n.as_f64().unwrap_or(f64::NAN)),
            Json::String(s) => Value::String(s),
            Json::Object(map) => Value::Object(self.eval_object(map, depth)?),
            Json::Array(items) => self.eval_array(items, depth)?,
        })
    }

    /// Refuses evaluation at `depth` or deeper than the limit allows.
    pub(crate) fn check_depth(&self, depth: usize) -> Result<(), RpcError> {
        if depth >= self.limits.max_depth {
            return Err(depth_error(self.limits.max_depth));
        }
        Ok(())
    }

    /// Evaluates an object's members at `depth + 1`, dropping blocked keys after evaluation.
    fn eval_object(
        &mut self,
        map: serde_json::Map<String, Json>,
        depth: usize,
    ) -> Result<Object, RpcError> {
        let mut out = Object::with_capacity(map.len());
        for (key, item) in map {
            let value = self.eval(item, depth + 1)?;
            if !is_blocked_key(&key) {
                out.insert(key, value);
            }
            // A blocked key's value is dropped here, which releases any capability it held.
        }
        Ok(out)
    }

    /// Evaluates an escaped array or a tagged form.
    pub(crate) fn eval_array(
        &mut self,
        mut items: Vec<Json>,
        depth: usize,
    ) -> Result<Value, RpcError> {
        if items.len() == 1 && items[0].is_array() {
            let Some(Json::Array(inner)) = items.pop() else {
                return Err(unknown_special(&items));
            };
            let mut out = Vec::with_capacity(inner.len());
            for item in inner {
                out.push(self.eval(item, depth + 1)?);
            }
            return Ok(Value::Array(out));
        }
        let tag = match items.first() {
            Some(Json::String(tag)) => tag.as_str(),
            _ => return Err(unknown_special(&items)),
        };
        match tag {
            "bigint" => special::bigint(&items, self.limits),
            "date" => special::date(&items),
            "bytes" => special::bytes(&items),
            "error" => self.eval_error(items, depth),
            "undefined" if items.len() == 1 => Ok(Value::Undefined),
            "inf" => Ok(Value::Number(f64::INFINITY)),
            "-inf" => Ok(Value::Number(f64::NEG_INFINITY)),
            "nan" => Ok(Value::Number(f64::NAN)),
            "url" => match items.get(1) {
                Some(Json::String(url)) if items.len() == 2 => {
                    super::fetch_rules::url(url, || "Invalid URL".into()).map(Value::Url)
                }
                _ => Err(unknown_special(&items)),
            },
            "headers" => match items.get(1) {
                Some(Json::Array(pairs)) if items.len() == 2 => {
                    Ok(Value::Headers(special::header_pairs(pairs)?))
                }
                _ => Err(unknown_special(&items)),
            },
            "request" => self.eval_request(items, depth),
            "response" => self.eval_response(items, depth),
            "blob" => match (items.len(), items.get(1)) {
                (3, Some(Json::String(_))) => self.eval_blob(items, depth),
                _ => Err(unknown_special(&items)),
            },
            "import" | "pipeline" => self.eval_call_ref(items, depth),
            "remap" => self.eval_remap(items),
            "export" | "promise" | "writable" | "readable" => self.eval_new_ref(items),
            _ => Err(unknown_special(&items)),
        }
    }

    /// `["blob", type, readable]`: a promise of the blob, settled once its stream has been
    /// read whole (so the call or result holding it waits for it, as in capnweb).
    fn eval_blob(&mut self, mut items: Vec<Json>, depth: usize) -> Result<Value, RpcError> {
        let content = self.eval(items.pop().unwrap_or_default(), depth + 1)?;
        let Value::ReadableStream(stream) = content else {
            return Err(RpcError::protocol_as(
                "TypeError",
                "Blob content must be serialized as a ReadableStream.",
            ));
        };
        let content_type = match items.pop() {
            Some(Json::String(t)) => t,
            _ => String::new(),
        };
        Ok(Value::Promise(crate::stream::read_blob(
            stream,
            content_type,
        )))
    }

    /// `["import"|"pipeline", id, path?, args?]`.
    fn eval_call_ref(&mut self, mut items: Vec<Json>, depth: usize) -> Result<Value, RpcError> {
        if !(2..=4).contains(&items.len()) {
            return Err(unknown_special(&items));
        }
        let Some(id) = items.get(1).and_then(Json::as_f64) else {
            return Err(unknown_special(&items));
        };
        let path = match items.get(2) {
            None => None,
            Some(p) => Some(parse_path(p).ok_or_else(|| unknown_special(&items))?),
        };
        if items.len() == 4 && !items[3].is_array() {
            return Err(unknown_special(&items));
        }
        let id = export_id(id)?;
        let is_pipeline = items.first().and_then(Json::as_str) == Some("pipeline");
        let args = match items.pop() {
            Some(Json::Array(args)) if items.len() == 3 => {
                // The argument list is evaluated like an escaped array at this same depth, so
                // each argument sits one level deeper than the call expression.
                let mut out = Vec::with_capacity(args.len());
                for arg in args {
                    out.push(self.eval(arg, depth + 1)?);
                }
                Some(Args::from(out))
            }
            // Fewer than four elements: no call, and the popped element is not needed any more.
            _ => None,
        };
        if is_pipeline {
            self.refs.pipeline(id, path, args)
        } else {
            self.refs.import(id, path, args)
        }
    }

    /// `["remap", id, path, captures, instructions]`.
    fn eval_remap(&mut self, mut items: Vec<Json>) -> Result<Value, RpcError> {
        let shape_ok = items.len() == 5
            && items[1].is_number()
            && items[2].is_array()
            && items[3].is_array()
            && items[4].is_array();
        if !shape_ok {
            return Err(unknown_special(&items));
        }
        let path = parse_path(&items[2]).ok_or_else(|| unknown_special(&items))?;
        let id = export_id(items[1].as_f64().unwrap_or(f64::NAN))?;
        let mut captures = Vec::new();
        for cap in items[3].as_array().map(Vec::as_slice).unwrap_or_default() {
            captures.push(parse_capture(cap)?);
        }
        let Some(Json::Array(instructions)) = items.pop() else {
            return Err(unknown_special(&items));
        };
        if instructions.is_empty() {
            return Err(RpcError::protocol("Invalid empty mapper function."));
        }
        self.refs.remap(id, path, captures, instructions)
    }

    /// `["export"|"promise"|"writable"|"readable", id]` (extra elements ignored, as in JS).
    fn eval_new_ref(&mut self, items: Vec<Json>) -> Result<Value, RpcError> {
        let id = items.get(1).and_then(Json::as_f64).and_then(safe_integer);
        let (Some(id), Some(tag)) = (id, items.first().and_then(Json::as_str)) else {
            return Err(unknown_special(&items));
        };
        match tag {
            "export" => self.refs.export(id),
            "promise" => self.refs.promise(id),
            "writable" => self.refs.writable(id),
            _ => self.refs.readable(id),
        }
    }

    /// `["error", name, message, stack?, props?]`.
    fn eval_error(&mut self, mut items: Vec<Json>, depth: usize) -> Result<Value, RpcError> {
        let ok = items.len() >= 3 && items[1].is_string() && items[2].is_string();
        if !ok || (items.len() >= 5 && !items[4].is_object()) {
            return Err(unknown_special(&items));
        }
        let mut props = Object::new();
        if let Some(Json::Object(map)) = items.get_mut(4).map(std::mem::take) {
            for (key, item) in map {
                // JS skips these without evaluating them: they are set by the constructor.
                if matches!(key.as_str(), "name" | "message" | "stack") {
                    continue;
                }
                let value = self.eval(item, depth + 1)?;
                if !is_blocked_key(&key) {
                    props.insert(key, value);
                }
            }
        }
        let stack = match items.get_mut(3) {
            Some(Json::String(s)) => Some(std::mem::take(s)),
            _ => None,
        };
        let mut take_str = |i: usize| match items.get_mut(i) {
            Some(Json::String(s)) => std::mem::take(s),
            _ => String::new(),
        };
        let name = take_str(1);
        let message = take_str(2);
        Ok(Value::Error(Box::new(crate::value::JsError {
            name,
            message,
            stack,
            props,
        })))
    }
}

/// `TypeError("unknown special value: <json>")` for a malformed or unknown array form.
pub(crate) fn unknown_special(items: &[Json]) -> RpcError {
    let mut msg = String::from("unknown special value: ");
    write_json_items(items, &mut msg);
    RpcError::protocol_as("TypeError", msg)
}

/// Writes `items` as a JSON array, JS-style.
fn write_json_items(items: &[Json], out: &mut String) {
    out.push('[');
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_json(item, out);
    }
    out.push(']');
}

/// The evaluator's depth error.
pub(crate) fn depth_error(max_depth: usize) -> RpcError {
    RpcError::protocol_as(
        "TypeError",
        format!("Deserialization exceeded maximum allowed message depth of {max_depth}."),
    )
}

/// `n` as an integer ID if it is one a JS table could hold (an integer within ±(2^53 - 1)).
pub(crate) fn safe_integer(n: f64) -> Option<i64> {
    (n.fract() == 0.0 && n.abs() <= MAX_SAFE_INTEGER).then_some(n as i64)
}

/// A table ID from an `import`/`pipeline`/`remap` form; other numbers name no entry.
pub(crate) fn export_id(n: f64) -> Result<i64, RpcError> {
    safe_integer(n).ok_or_else(|| {
        let mut msg = String::from("no such entry on exports table: ");
        write_number(n, &mut msg);
        RpcError::protocol(msg)
    })
}

/// A property path: an array of strings and numbers. `None` if it is anything else.
pub(crate) fn parse_path(json: &Json) -> Option<Vec<PropertyKey>> {
    let parts = json.as_array()?;
    let mut path = Vec::with_capacity(parts.len());
    for part in parts {
        path.push(match part {
            Json::String(s) => PropertyKey::Name(s.clone()),
            Json::Number(n) => number_key(n.as_f64().unwrap_or(f64::NAN)),
            _ => return None,
        });
    }
    Some(path)
}

/// The property a number in a path names.
pub(crate) fn number_key(n: f64) -> PropertyKey {
    match safe_integer(n) {
        Some(i) if i >= 0 => PropertyKey::Index(i as u64),
        // JS converts any other number key to its string form ("1.5", "-1").
        _ => {
            let mut name = String::new();
            write_number(n, &mut name);
            PropertyKey::Name(name)
        }
    }
}

/// One `remap` capture: `["import", n]` or `["export", n]`.
fn parse_capture(cap: &Json) -> Result<Capture, RpcError> {
    let parsed = cap.as_array().filter(|c| c.len() == 2).and_then(|c| {
        let id = c.get(1)?.as_f64().and_then(safe_integer)?;
        match c.first()?.as_str()? {
            "import" => Some(Capture::Import(id)),
            "export" => Some(Capture::Export(id)),
            _ => None,
        }
    });
    parsed.ok_or_else(|| {
        let mut msg = String::from("unknown map capture: ");
        write_json(cap, &mut msg);
        RpcError::protocol_as("TypeError", msg)
    })
}

impl RefDecoder for NoRefs {
    /// Without a session there is no export table, so every ID is unknown.
    fn import(
        &mut self,
        id: i64,
        _path: Option<Vec<PropertyKey>>,
        _args: Option<Args>,
    ) -> Result<Value, RpcError> {
        Err(RpcError::protocol(format!(
            "no such entry on exports table: {id}"
        )))
    }

    fn pipeline(
        &mut self,
        id: i64,
        _path: Option<Vec<PropertyKey>>,
        _args: Option<Args>,
    ) -> Result<Value, RpcError> {
        Err(RpcError::protocol(format!(
            "no such entry on exports table: {id}"
        )))
    }

    fn export(&mut self, _id: i64) -> Result<Value, RpcError> {
        Err(no_session())
    }

    fn promise(&mut self, _id: i64) -> Result<Value, RpcError> {
        Err(no_session())
    }

    fn remap(
        &mut self,
        id: i64,
        _path: Vec<PropertyKey>,
        _captures: Vec<Capture>,
        _instructions: Vec<Json>,
    ) -> Result<Value, RpcError> {
        Err(RpcError::protocol(format!(
            "no such entry on exports table: {id}"
        )))
    }

    fn writable(&mut self, _id: i64) -> Result<Value, RpcError> {
        Err(no_session())
    }

    fn readable(&mut self, _id: i64) -> Result<Value, RpcError> {
        Err(RpcError::protocol(
            "Cannot retrieve pipe readable without an RPC session.",
        ))
    }
}

/// The error for capabilities met outside a session.
fn no_session() -> RpcError {
    RpcError::protocol("Cannot deserialize RPC stubs without an RPC session.")
}
