//! Evaluation of the data-carrying tags: `bigint`, `date`, `bytes`, `headers`, `request` and
//! `response` (protocol.md section 5.3), with capnweb 0.12.0's checks and error texts.
//!
//! Web types are kept as data, without the normalisation a browser would apply: URLs are not
//! parsed or canonicalised and header names keep their case and order. A JS sender always sends
//! them in canonical form already.

use super::decode::{Decoder, depth_error, unknown_special};
use super::fetch_rules;
use super::json::write_number;
use super::{Json, Limits};
use crate::error::RpcError;
use crate::value::{BigInt, Bytes, BytesKind, Date, Object, RequestValue, ResponseValue, Value};

/// `["bigint", text]`: length-capped (whole string, in UTF-16 units), then parsed like `BigInt()`.
pub(crate) fn bigint(items: &[Json], limits: &Limits) -> Result<Value, RpcError> {
    let Some(Json::String(text)) = items.get(1) else {
        return Err(unknown_special(items));
    };
    let max = limits.max_bigint_digits;
    // Cheap test first: UTF-16 length never exceeds UTF-8 length.
    if text.len() > max && text.chars().map(char::len_utf16).sum::<usize>() > max {
        return Err(RpcError::protocol_as(
            "TypeError",
            format!("Deserialized bigint exceeds maximum length of {max} digits."),
        ));
    }
    Ok(Value::BigInt(text.parse::<BigInt>()?))
}

/// `["date", ms]` or `["date", null]` (invalid date).
pub(crate) fn date(items: &[Json]) -> Result<Value, RpcError> {
    match items.get(1) {
        Some(Json::Null) => Ok(Value::Date(Date::invalid())),
        Some(Json::Number(n)) => Ok(Value::Date(Date::from_millis(
            n.as_f64().unwrap_or(f64::NAN),
        ))),
        _ => Err(unknown_special(items)),
    }
}

/// `["bytes", base64]` or `["bytes", base64, marker]`.
pub(crate) fn bytes(items: &[Json]) -> Result<Value, RpcError> {
    let Some(Json::String(b64)) = items.get(1) else {
        return Err(unknown_special(items));
    };
    let data = decode_base64_lenient(b64);
    let kind = match items.get(2) {
        None => BytesKind::Uint8Array,
        Some(Json::String(marker)) => BytesKind::from_name(marker).ok_or_else(|| {
            let shown = prefix_utf16(marker, 64);
            RpcError::protocol_as("TypeError", format!("Unknown bytes type marker: {shown}"))
        })?,
        Some(other) => {
            let ty = match other {
                Json::Bool(_) => "boolean",
                Json::Number(_) => "number",
                _ => "object",
            };
            return Err(RpcError::protocol_as(
                "TypeError",
                format!("Unknown bytes type marker type: {ty}"),
            ));
        }
    };
    let size = kind.element_size();
    if !data.len().is_multiple_of(size) {
        return Err(RpcError::protocol_as(
            "TypeError",
            format!(
                "Invalid byte length {} for {}; expected a multiple of {size}",
                data.len(),
                kind.name()
            ),
        ));
    }
    Ok(Value::Bytes(Bytes { data, kind }))
}

/// The longest prefix of `s` that is at most `units` UTF-16 code units long.
fn prefix_utf16(s: &str, units: usize) -> &str {
    let mut used = 0;
    for (i, c) in s.char_indices() {
        used += c.len_utf16();
        if used > units {
            return &s[..i];
        }
    }
    s
}

/// Plain base64 in the standard alphabet, padded or not: what capnweb (and we) send. Whatever
/// it accepts, it decodes to the same bytes as [`decode_base64_node_rules`], many times faster
/// (stream chunks are 64 KiB each).
const STANDARD_ANY_PADDING: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    base64::engine::GeneralPurposeConfig::new()
        .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// Decodes base64 the way Node's `Buffer.from(text, "base64")` does: both the standard and the
/// URL-safe alphabet, padding optional, decoding stops at the first `=`, and any other character
/// is skipped. Being as lenient as Node keeps us from aborting sessions a JS peer would accept.
pub(crate) fn decode_base64_lenient(text: &str) -> Vec<u8> {
    use base64::Engine as _;
    STANDARD_ANY_PADDING
        .decode(text)
        .unwrap_or_else(|_| decode_base64_node_rules(text))
}

/// [`decode_base64_lenient`] one character at a time: for what the standard decoder refuses.
fn decode_base64_node_rules(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() / 4 * 3 + 2);
    let mut acc: u32 = 0;
    let mut bits = 0u32;
    for b in text.bytes() {
        let v = match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b'=' => break,
            _ => continue,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

/// A `headers` pair list: every entry must be a two-element array. Primitive names and values
/// are converted to strings as JS `Headers` does; objects are refused. Then checked and
/// normalized as `Headers` does ([`fetch_rules::headers`]).
pub(crate) fn header_pairs(pairs: &[Json]) -> Result<Vec<(String, String)>, RpcError> {
    let bad = || {
        RpcError::protocol_as(
            "TypeError",
            "Headers must be serialized as an array of [name, value] pairs.",
        )
    };
    let mut out = Vec::with_capacity(pairs.len());
    for pair in pairs {
        match pair.as_array().map(Vec::as_slice) {
            Some([name, value]) => out.push((
                primitive_string(name).ok_or_else(bad)?,
                primitive_string(value).ok_or_else(bad)?,
            )),
            _ => return Err(bad()),
        }
    }
    fetch_rules::headers(out)
}

/// JS `String(x)` for a JSON primitive.
fn primitive_string(json: &Json) -> Option<String> {
    Some(match json {
        Json::String(s) => s.clone(),
        Json::Number(n) => {
            let mut s = String::new();
            write_number(n.as_f64().unwrap_or(f64::NAN), &mut s);
            s
        }
        Json::Bool(b) => b.to_string(),
        Json::Null => "null".to_owned(),
        _ => return None,
    })
}

/// JavaScript truthiness of a JSON value.
fn truthy(json: &Json) -> bool {
    match json {
        Json::Null => false,
        Json::Bool(b) => *b,
        Json::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Json::String(s) => !s.is_empty(),
        Json::Array(_) | Json::Object(_) => true,
    }
}

/// True if `json` is a `["readable", ...]` form (whose value is a stream, a valid body).
fn is_readable_form(json: &Json) -> bool {
    json.as_array()
        .and_then(|a| a.first())
        .and_then(Json::as_str)
        == Some("readable")
}

/// True if an evaluated body is one a `Request`/`Response` accepts: null, a string or a
/// `Uint8Array` (streams are recognised by their wire form instead).
fn valid_body(value: &Value) -> bool {
    match value {
        Value::Null | Value::String(_) => true,
        Value::Bytes(b) => b.kind == BytesKind::Uint8Array,
        _ => false,
    }
}

/// The `init` object of a request or response. JS accepts any object there, so an array is an
/// init with no settings.
fn init_map(json: Json) -> serde_json::Map<String, Json> {
    match json {
        Json::Object(map) => map,
        _ => serde_json::Map::new(),
    }
}

impl Decoder<'_> {
    /// `["request", url, init]`.
    pub(crate) fn eval_request(
        &mut self,
        mut items: Vec<Json>,
        depth: usize,
    ) -> Result<Value, RpcError> {
        let ok = items.len() == 3
            && items[1].is_string()
            && (items[2].is_object() || items[2].is_array());
        if !ok {
            return Err(unknown_special(&items));
        }
        let mut init = init_map(items.pop().unwrap_or_default());
        let url = match items.pop() {
            Some(Json::String(url)) => url,
            _ => String::new(),
        };
        let url = fetch_rules::url(&url, || format!("Failed to parse URL from {url}"))?;
        let method = match init.get("method").and_then(Json::as_str) {
            Some(method) => fetch_rules::method(method)?,
            None => "GET".to_owned(),
        };
        // `new Request` keeps the method; capnweb sends it only when it is not the default.
        if method == "GET" {
            init.remove("method");
        } else if init.contains_key("method") {
            init.insert("method".into(), Json::String(method.clone()));
        }
        let mut body = None;
        if let Some(raw) = init.get_mut("body").filter(|b| truthy(b)) {
            let raw = std::mem::take(raw);
            let readable = is_readable_form(&raw);
            let value = self.eval(raw, depth + 1)?;
            if !readable && !valid_body(&value) {
                return Err(RpcError::protocol_as(
                    "TypeError",
                    "Request body must be of type ReadableStream.",
                ));
            }
            if method == "GET" || method == "HEAD" {
                return Err(RpcError::protocol_as(
                    "TypeError",
                    "Request with GET/HEAD method cannot have body.",
                ));
            }
            body = Some(value);
        }
        if let Some(raw) = init.get_mut("signal").filter(|s| truthy(s)) {
            // No expression evaluates to an AbortSignal; evaluate anyway so that capabilities
            // inside are released, as JS does, then refuse.
            let _ = self.eval(std::mem::take(raw), depth + 1)?;
            return Err(RpcError::protocol_as(
                "TypeError",
                "Request signal must be of type AbortSignal.",
            ));
        }
        let init = self.eval_init(init, body, depth)?;
        Ok(Value::Request(Box::new(RequestValue { url, init })))
    }

    /// `["response", body, init]`.
    pub(crate) fn eval_response(
        &mut self,
        mut items: Vec<Json>,
        depth: usize,
    ) -> Result<Value, RpcError> {
        if items.len() != 3 {
            return Err(unknown_special(&items));
        }
        let init_ok = items[2].is_object() || items[2].is_array();
        // JS evaluates the body before it looks at `init`; keep the original for the error text.
        let raw_body = if init_ok {
            std::mem::take(&mut items[1])
        } else {
            items[1].clone()
        };
        let readable = is_readable_form(&raw_body);
        let body = self.eval(raw_body, depth + 1)?;
        if !readable && !valid_body(&body) {
            return Err(RpcError::protocol_as(
                "TypeError",
                "Response body must be of type ReadableStream.",
            ));
        }
        if !init_ok {
            return Err(unknown_special(&items));
        }
        let init = init_map(items.pop().unwrap_or_default());
        if init.get("webSocket").is_some_and(truthy) {
            return Err(RpcError::protocol_as(
                "TypeError",
                "Can't deserialize a Response containing a webSocket.",
            ));
        }
        let mut init = init;
        let mut status = 200.0;
        if let Some(given) = init.get("status") {
            let ok = given
                .as_f64()
                .is_some_and(|s| s.fract() == 0.0 && (200.0..=599.0).contains(&s));
            if !ok {
                return Err(RpcError::protocol_as(
                    "RangeError",
                    "Response status must be an integer in the range of 200 to 599, inclusive.",
                ));
            }
            status = given.as_f64().unwrap_or(200.0);
        }
        if let Some(text) = init.get("statusText").and_then(Json::as_str) {
            fetch_rules::status_text(text)?;
        }
        if body != Value::Null && fetch_rules::is_null_body_status(status) {
            return Err(RpcError::protocol_as(
                "TypeError",
                format!("Response constructor: Invalid response status code {status}"),
            ));
        }
        // capnweb sends only what differs from the defaults.
        if status == 200.0 {
            init.remove("status");
        }
        if init.get("statusText").and_then(Json::as_str) == Some("") {
            init.remove("statusText");
        }
        let init = self.eval_init(init, None, depth)?;
        Ok(Value::Response(Box::new(ResponseValue { body, init })))
    }

    /// Converts the remaining `init` members: `headers` (a pair list) becomes
    /// [`Value::Headers`], `body` is the already evaluated body, and everything else is plain
    /// JSON passed to the Fetch constructor as is (not an expression: arrays are not escaped).
    fn eval_init(
        &mut self,
        init: serde_json::Map<String, Json>,
        mut body: Option<Value>,
        depth: usize,
    ) -> Result<Object, RpcError> {
        if init
            .get("headers")
            .is_some_and(|h| truthy(h) && !h.is_array())
        {
            return Err(RpcError::protocol_as(
                "TypeError",
                "Request headers must be serialized as an array of pairs.",
            ));
        }
        let mut out = Object::with_capacity(init.len());
        for (key, raw) in init {
            let value = match (key.as_str(), raw) {
                ("body", raw) => match body.take() {
                    Some(v) => v,
                    None => self.literal(raw, depth + 1)?,
                },
                ("headers", Json::Array(pairs)) => Value::Headers(header_pairs(&pairs)?),
                (_, raw) => self.literal(raw, depth + 1)?,
            };
            out.insert(key, value);
        }
        Ok(out)
    }

    /// Plain JSON to [`Value`] without evaluating tags. Depth still counts, which bounds the
    /// recursion (JS would not refuse a deep literal here, but no real init is that deep).
    fn literal(&self, json: Json, depth: usize) -> Result<Value, RpcError> {
        if depth >= self.limits.max_depth {
            return Err(depth_error(self.limits.max_depth));
        }
        Ok(match json {
            Json::Null => Value::Null,
            Json::Bool(b) => Value::Bool(b),
            Json::Number(n) => Value::Number(n.as_f64().unwrap_or(f64::NAN)),
            Json::String(s) => Value::String(s),
            Json::Array(items) => Value::Array(
                items
                    .into_iter()
                    .map(|j| self.literal(j, depth + 1))
                    .collect::<Result<_, _>>()?,
            ),
            Json::Object(map) => Value::Object(
                map.into_iter()
                    .map(|(k, j)| Ok((k, self.literal(j, depth + 1)?)))
                    .collect::<Result<_, RpcError>>()?,
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_like_node() {
        assert_eq!(decode_base64_lenient("aGk"), b"hi");
        assert_eq!(decode_base64_lenient("aGk="), b"hi");
        assert_eq!(decode_base64_lenient("aGk=xyz"), b"hi");
        assert_eq!(decode_base64_lenient("a"), b"");
        assert_eq!(decode_base64_lenient(""), b"");
        assert_eq!(decode_base64_lenient("a G-_k"), vec![0x68, 0x6f, 0xbf]);
        assert_eq!(
            decode_base64_lenient("AAECf4D+/w"),
            vec![0, 1, 2, 127, 128, 254, 255]
        );
        assert_eq!(
            decode_base64_lenient("AAECf4D-_w"),
            vec![0, 1, 2, 127, 128, 254, 255]
        );
        assert_eq!(decode_base64_lenient("é€aGk"), b"hi");
    }

    /// The standard decoder is only a shortcut: on everything, including what it refuses
    /// (URL-safe characters, misplaced or excess padding, stray characters, a length of 4n+1,
    /// non-zero trailing bits), the result is Node's.
    #[test]
    fn base64_shortcut_agrees_with_node_rules() {
        let standard = base64::engine::general_purpose::STANDARD;
        let mut inputs: Vec<String> = (0..40u8)
            .map(|n| {
                use base64::Engine as _;
                let data: Vec<u8> = (0..n).map(|i| i.wrapping_mul(37) ^ n).collect();
                standard.encode(data)
            })
            .collect();
        inputs.extend(
            inputs
                .clone()
                .iter()
                .map(|t| t.trim_end_matches('=').to_owned()),
        );
        let alphabet = b"AZaz09+/-_= \n.QgwA";
        let mut seed = 0x2545_f491_u32;
        for len in 0..200 {
            let text: String = (0..len % 23)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 17;
                    seed ^= seed << 5;
                    alphabet[seed as usize % alphabet.len()] as char
                })
                .collect();
            inputs.push(text);
        }
        inputs.extend(
            [
                "aGk==", "aG=k", "aGl", "aGk=aGk=", "a", "ab", "abc", "abcde", "QQ", "QR", "QR==",
            ]
            .map(String::from),
        );
        for text in &inputs {
            assert_eq!(
                decode_base64_lenient(text),
                decode_base64_node_rules(text),
                "{text:?}"
            );
        }
    }

    #[test]
    fn utf16_prefix() {
        assert_eq!(prefix_utf16("abc", 2), "ab");
        assert_eq!(prefix_utf16("a😀", 2), "a");
        assert_eq!(prefix_utf16("a😀", 3), "a😀");
    }

    #[test]
    fn header_pair_rules() {
        let pairs: Vec<Json> = serde_json::from_str(r#"[["a","1"],["B",2],["c",true]]"#).unwrap();
        assert_eq!(
            header_pairs(&pairs).unwrap(),
            vec![
                ("a".into(), "1".into()),
                ("b".into(), "2".into()),
                ("c".into(), "true".into())
            ]
        );
        for bad in [
            r#"[["a"]]"#,
            r#"[["a","b","c"]]"#,
            r#"["ab"]"#,
            r#"[["a",{}]]"#,
        ] {
            let pairs: Vec<Json> = serde_json::from_str(bad).unwrap();
            assert!(header_pairs(&pairs).is_err(), "{bad}");
        }
    }
}
