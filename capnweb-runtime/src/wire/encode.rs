//! Writing [`Value`]s as wire expressions (protocol.md section 5), byte-identical to what
//! capnweb 0.12.0's `Devaluator` + `JSON.stringify` produce for the same JavaScript value.
//!
//! - Arrays are escaped (`[[...]]`), except a call's top-level argument list ([`encode_args`]).
//! - Object keys are written in JavaScript enumeration order (array-index keys first, ascending),
//!   and an own `__proto__` key is left out, as a JS sender does.
//! - Numbers are JS-formatted; NaN and the infinities use their tags.
//! - Errors use the short 3- or 4-element form unless they have properties; property values
//!   that cannot be sent (capabilities, values nested too deep, ...) are silently dropped.
//! - Values nested 256 levels deep are refused (a JS sender refuses them too).

use base64::Engine as _;

use super::json::{js_key_order, write_number, write_string};
use super::{NoRefs, RefEncoder};
use crate::error::RpcError;
use crate::stream::{ReadableStream, WritableStream};
use crate::stub::{Promise, Stub};
use crate::value::{Bytes, BytesKind, JsError, Object, PropertyKey, Value};
use crate::wire::{Args, Payload, PayloadRef};

/// The sender's depth limit (capnweb's `DEFAULT_MAX_DEPTH`); not configurable, as in JS.
pub(crate) const MAX_DEPTH: usize = 256;

/// Appends the expression for `value`; stubs and promises are written by `refs`.
///
/// On error nothing is appended (`out` is restored to its previous length).
pub(crate) fn encode_value(
    value: &Value,
    refs: &mut dyn RefEncoder,
    out: &mut String,
) -> Result<(), RpcError> {
    let start = out.len();
    let result = Encoder { refs }.enc(value, 0, out);
    if result.is_err() {
        out.truncate(start);
    }
    result
}

/// [`encode_value`] for a value that may be wire text, which is copied as it is: it holds
/// nothing deeper than the limit (its serializer or the plain-data scan checked).
pub(crate) fn encode_payload(
    payload: PayloadRef<'_>,
    refs: &mut dyn RefEncoder,
    out: &mut String,
) -> Result<(), RpcError> {
    match payload {
        PayloadRef::Tree(value) => encode_value(value, refs, out),
        PayloadRef::Text(text) => {
            out.push_str(text.as_str());
            Ok(())
        }
    }
}

/// Appends a call's argument list: a plain JSON array (not escaped) of argument expressions,
/// each one level deep; arguments in wire form are copied as they are. On error nothing is
/// appended.
pub(crate) fn encode_args(
    args: &Args,
    refs: &mut dyn RefEncoder,
    out: &mut String,
) -> Result<(), RpcError> {
    let start = out.len();
    let mut enc = Encoder { refs };
    out.push('[');
    let mut result = Ok(());
    for (i, arg) in args.payloads().iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        result = match arg {
            Payload::Tree(value) => enc.enc(value, 1, out),
            Payload::Text(text) => {
                out.push_str(text.as_str());
                Ok(())
            }
        };
        if result.is_err() {
            break;
        }
    }
    out.push(']');
    if result.is_err() {
        out.truncate(start);
    }
    result
}

/// The error for values nested too deeply (or cyclic, in JS).
fn depth_error() -> RpcError {
    RpcError::Serialization(
        "Serialization exceeded maximum allowed depth. (Does the message contain cycles?)"
            .to_owned(),
    )
}

/// Encoding state: where capabilities go.
struct Encoder<'a> {
    refs: &'a mut dyn RefEncoder,
}

impl Encoder<'_> {
    fn enc(&mut self, value: &Value, depth: usize, out: &mut String) -> Result<(), RpcError> {
        if depth >= MAX_DEPTH {
            return Err(depth_error());
        }
        match value {
            Value::Undefined => out.push_str(r#"["undefined"]"#),
            Value::Null => out.push_str("null"),
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Number(n) => write_number_expr(*n, out),
            Value::String(s) => write_string(s, out),
            Value::Array(items) => {
                out.push_str("[[");
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    self.enc(item, depth + 1, out)?;
                }
                out.push_str("]]");
            }
            Value::Object(map) => self.enc_object(map, depth, out)?,
            Value::BigInt(b) => {
                out.push_str(r#"["bigint","#);
                write_string(b.as_str(), out);
                out.push(']');
            }
            Value::Date(d) => {
                out.push_str(r#"["date","#);
                match d.millis() {
                    Some(ms) => write_number(ms, out),
                    None => out.push_str("null"),
                }
                out.push(']');
            }
            Value::Bytes(b) => write_bytes(b, out)?,
            Value::Error(e) => self.enc_error(e, depth, out),
            Value::Url(href) => {
                out.push_str(r#"["url","#);
                write_string(href, out);
                out.push(']');
            }
            Value::Headers(pairs) => {
                out.push_str(r#"["headers","#);
                write_pairs(pairs, out);
                out.push(']');
            }
            Value::Request(req) => {
                out.push_str(r#"["request","#);
                write_string(&req.url, out);
                out.push(',');
                // A stream body needs `duplex: "half"` for `new Request` (capnweb's bodies
                // are always streams, and it always sends it).
                let streamed = matches!(req.init.get("body"), Some(Value::ReadableStream(_)));
                if streamed && !req.init.contains_key("duplex") {
                    let mut init = req.init.clone();
                    init.insert("duplex".into(), Value::from("half"));
                    self.enc_init(&init, depth, out)?;
                } else {
                    self.enc_init(&req.init, depth, out)?;
                }
                out.push(']');
            }
            Value::Response(resp) => {
                out.push_str(r#"["response","#);
                self.enc(&resp.body, depth + 1, out)?;
                out.push(',');
                self.enc_init(&resp.init, depth, out)?;
                out.push(']');
            }
            Value::Stub(stub) => self.refs.stub(stub, out)?,
            Value::Promise(promise) => self.refs.promise(promise, out)?,
            Value::ReadableStream(stream) => self.refs.readable(stream, out)?,
            Value::WritableStream(stream) => self.refs.writable(stream, out)?,
            Value::Blob(blob) => {
                out.push_str(r#"["blob","#);
                write_string(&blob.content_type, out);
                out.push(',');
                self.refs
                    .readable(&crate::stream::blob_content(blob), out)?;
                out.push(']');
            }
        }
        Ok(())
    }

    /// A plain object; members are one level deeper.
    fn enc_object(&mut self, map: &Object, depth: usize, out: &mut String) -> Result<(), RpcError> {
        out.push('{');
        let mut first = true;
        // JS enumerates array-index keys first; only an object that may have one needs the
        // reordering (a sorted key list and a lookup per key), so the common case is a walk.
        if map
            .keys()
            .any(|k| k.as_bytes().first().is_some_and(u8::is_ascii_digit))
        {
            for key in ordered_keys(map) {
                if let Some(item) = map.get(key) {
                    self.enc_entry(key, item, &mut first, depth, out)?;
                }
            }
        } else {
            for (key, item) in map {
                self.enc_entry(key, item, &mut first, depth, out)?;
            }
        }
        out.push('}');
        Ok(())
    }

    fn enc_entry(
        &mut self,
        key: &str,
        item: &Value,
        first: &mut bool,
        depth: usize,
        out: &mut String,
    ) -> Result<(), RpcError> {
        // Assigning `__proto__` in JS sets the prototype instead of a member, so a JS sender
        // never puts it on the wire (and a JS receiver would drop it).
        if key == "__proto__" {
            return Ok(());
        }
        if !std::mem::take(first) {
            out.push(',');
        }
        write_string(key, out);
        out.push(':');
        self.enc(item, depth + 1, out)
    }

    /// `["error", name, message(, stack-or-null, props)]`. Never fails: a property that cannot be
    /// encoded is left out, as JS does, and capabilities are never sent inside errors.
    fn enc_error(&mut self, e: &JsError, depth: usize, out: &mut String) {
        out.push_str(r#"["error","#);
        write_string(&e.name, out);
        out.push(',');
        write_string(&e.message, out);
        // A property counts as captured once its value encodes; JS then creates the props
        // object even if the key is `__proto__` (whose assignment writes nothing), which is how
        // `["error","Error","m",null,{}]` can occur.
        let mut captured = false;
        let mut props = String::from("{");
        let mut nested = Encoder { refs: &mut NoRefs };
        for key in ordered_keys(&e.props) {
            if matches!(key, "name" | "message" | "stack") {
                continue;
            }
            let Some(item) = e.props.get(key) else {
                continue;
            };
            let mut encoded = String::new();
            if nested.enc(item, depth + 1, &mut encoded).is_err() {
                continue;
            }
            captured = true;
            if key != "__proto__" {
                if props.len() > 1 {
                    props.push(',');
                }
                write_string(key, &mut props);
                props.push(':');
                props.push_str(&encoded);
            }
        }
        if captured {
            out.push(',');
            match &e.stack {
                Some(stack) => write_string(stack, out),
                None => out.push_str("null"),
            }
            out.push(',');
            out.push_str(&props);
            out.push('}');
        } else if let Some(stack) = &e.stack {
            out.push(',');
            write_string(stack, out);
        }
        out.push(']');
    }

    /// A request/response `init`: `body` is an expression, `headers` a pair list, and the other
    /// members plain JSON (the Fetch constructor reads them; they are not expressions).
    fn enc_init(&mut self, init: &Object, depth: usize, out: &mut String) -> Result<(), RpcError> {
        out.push('{');
        let mut first = true;
        for key in ordered_keys(init) {
            let Some(item) = init.get(key) else { continue };
            if matches!(item, Value::Undefined) {
                continue; // JSON.stringify leaves undefined members out.
            }
            if !first {
                out.push(',');
            }
            first = false;
            write_string(key, out);
            out.push(':');
            if key == "body" {
                self.enc(item, depth + 1, out)?;
            } else {
                write_plain(item, depth + 1, out)?;
            }
        }
        out.push('}');
        Ok(())
    }
}

/// The keys of `map` in JavaScript enumeration order.
fn ordered_keys(map: &Object) -> Vec<&str> {
    js_key_order(map.keys().map(String::as_str))
}

/// A number expression: NaN and the infinities as tags, anything else JS-formatted.
pub(crate) fn write_number_expr(n: f64, out: &mut String) {
    if n.is_nan() {
        out.push_str(r#"["nan"]"#);
    } else if n == f64::INFINITY {
        out.push_str(r#"["inf"]"#);
    } else if n == f64::NEG_INFINITY {
        out.push_str(r#"["-inf"]"#);
    } else {
        write_number(n, out);
    }
}

/// `["bytes", base64]` (Uint8Array) or `["bytes", base64, marker]`: standard alphabet, no padding.
fn write_bytes(b: &Bytes, out: &mut String) -> Result<(), RpcError> {
    let size = b.kind.element_size();
    if !b.data.len().is_multiple_of(size) {
        // A receiver would refuse it and abort the whole session; fail just this value instead.
        return Err(RpcError::Serialization(format!(
            "{} data must be a multiple of {size} bytes long, got {}",
            b.kind.name(),
            b.data.len()
        )));
    }
    out.push_str(r#"["bytes",""#);
    base64::engine::general_purpose::STANDARD_NO_PAD.encode_string(&b.data, out);
    out.push('"');
    if b.kind != BytesKind::Uint8Array {
        out.push(',');
        write_string(b.kind.name(), out);
    }
    out.push(']');
    Ok(())
}

/// A header pair list `[[name, value], ...]`.
fn write_pairs(pairs: &[(String, String)], out: &mut String) {
    out.push('[');
    for (i, (name, value)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push('[');
        write_string(name, out);
        out.push(',');
        write_string(value, out);
        out.push(']');
    }
    out.push(']');
}

/// Plain JSON (as `JSON.stringify` would write it) for request/response `init` members.
fn write_plain(value: &Value, depth: usize, out: &mut String) -> Result<(), RpcError> {
    if depth >= MAX_DEPTH {
        return Err(depth_error());
    }
    match value {
        Value::Null | Value::Undefined => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => write_number(*n, out),
        Value::String(s) | Value::Url(s) => write_string(s, out),
        Value::Headers(pairs) => write_pairs(pairs, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_plain(item, depth + 1, out)?;
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            let mut first = true;
            for key in ordered_keys(map) {
                let Some(item) = map.get(key).filter(|v| !matches!(v, Value::Undefined)) else {
                    continue;
                };
                if !first {
                    out.push(',');
                }
                first = false;
                write_string(key, out);
                out.push(':');
                write_plain(item, depth + 1, out)?;
            }
            out.push('}');
        }
        other => {
            return Err(RpcError::Serialization(format!(
                "a {} cannot be sent as a Request/Response init setting",
                other.kind()
            )));
        }
    }
    Ok(())
}

impl RefEncoder for NoRefs {
    /// Capabilities need a session; plain-data contexts (errors, aborts, `serialize`) refuse them.
    fn stub(&mut self, _stub: &Stub, _out: &mut String) -> Result<(), RpcError> {
        Err(no_session())
    }

    fn promise(&mut self, _promise: &Promise, _out: &mut String) -> Result<(), RpcError> {
        Err(no_session())
    }

    fn readable(&mut self, _stream: &ReadableStream, _out: &mut String) -> Result<(), RpcError> {
        Err(RpcError::Serialization(
            "Can't serialize a ReadableStream in this context: it needs an RPC session.".to_owned(),
        ))
    }

    fn writable(&mut self, _stream: &WritableStream, _out: &mut String) -> Result<(), RpcError> {
        Err(RpcError::Serialization(
            "Can't serialize a WritableStream in this context: it needs an RPC session.".to_owned(),
        ))
    }
}

/// capnweb's text for a capability met where none can be sent.
fn no_session() -> RpcError {
    RpcError::Serialization("Can't serialize RPC stubs in this context.".to_owned())
}

/// Writes `["tag",id]`, the reference forms the encoder callbacks produce (`import`, `export`,
/// `pipeline`, `promise`).
pub(crate) fn write_ref(out: &mut String, tag: &str, id: i64) {
    out.push_str("[\"");
    out.push_str(tag);
    out.push_str("\",");
    out.push_str(itoa::Buffer::new().format(id));
    out.push(']');
}

/// Writes a property path as a plain JSON array of names and indexes.
pub(crate) fn write_path(path: &[PropertyKey], out: &mut String) {
    out.push('[');
    for (i, key) in path.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        match key {
            PropertyKey::Name(name) => write_string(name, out),
            PropertyKey::Index(idx) => out.push_str(itoa::Buffer::new().format(*idx)),
        }
    }
    out.push(']');
}
