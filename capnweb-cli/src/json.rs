//! `--json`: values as plain JSON for programs. JSON values are themselves; every other
//! JavaScript value becomes an object with one `$`-prefixed tag:
//!
//! | value | JSON |
//! |---|---|
//! | `undefined` | `{"$undefined":true}` |
//! | `NaN`, `Infinity`, `-Infinity`, `-0` | `{"$number":"NaN"}` ... |
//! | `123n` | `{"$bigint":"123"}` |
//! | a `Date` | `{"$date":"2020-01-15T12:00:00.000Z"}` (`null` if invalid) |
//! | bytes | `{"$bytes":"aGk=","kind":"Uint8Array"}` (base64) |
//! | an `Error` | `{"$error":{"name":..,"message":..,"stack"?:..,"properties":{..}}}` |
//! | `URL` / `Headers` | `{"$url":".."}` / `{"$headers":[["name","value"],..]}` |
//! | `Request` / `Response` | `{"$request":{"url":..,..init}}` / `{"$response":{"body":..,..init}}` |
//! | `Blob` | `{"$blob":{"type":..,"bytes":"base64"}}` |
//! | a capability / promise / stream | `{"$capability":true}` / `{"$promise":true}` / `{"$readableStream":true}` ... |

use base64::Engine;
use capnweb_runtime::Value;
use capnweb_runtime::value::JsError;
use serde_json::{Map, Value as Json, json};

/// The JSON form of `value`.
pub fn to_json(value: &Value) -> Json {
    let tag = |name: &str, inner: Json| json!({ name: inner });
    match value {
        Value::Undefined => tag("$undefined", Json::Bool(true)),
        Value::Null => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Number(n) => number(*n),
        Value::BigInt(b) => tag("$bigint", Json::String(b.to_string())),
        Value::String(s) => Json::String(s.clone()),
        Value::Array(items) => Json::Array(items.iter().map(to_json).collect()),
        Value::Object(map) => object(map),
        Value::Date(date) => tag(
            "$date",
            date.millis()
                .map_or(Json::Null, |ms| Json::String(crate::time::format_iso(ms))),
        ),
        Value::Bytes(bytes) => json!({
            "$bytes": base64::engine::general_purpose::STANDARD.encode(&bytes.data),
            "kind": bytes.kind.name(),
        }),
        Value::Error(error) => tag("$error", error_json(error)),
        Value::Url(url) => tag("$url", Json::String(url.clone())),
        Value::Headers(pairs) => tag(
            "$headers",
            Json::Array(pairs.iter().map(|(n, v)| json!([n, v])).collect()),
        ),
        Value::Request(request) => {
            let mut fields = Map::new();
            fields.insert("url".into(), Json::String(request.url.clone()));
            fields.extend(request.init.iter().map(|(k, v)| (k.clone(), to_json(v))));
            tag("$request", Json::Object(fields))
        }
        Value::Response(response) => {
            let mut fields = Map::new();
            fields.insert("body".into(), to_json(&response.body));
            fields.extend(response.init.iter().map(|(k, v)| (k.clone(), to_json(v))));
            tag("$response", Json::Object(fields))
        }
        Value::Blob(blob) => tag(
            "$blob",
            json!({
                "type": blob.content_type,
                "bytes": base64::engine::general_purpose::STANDARD.encode(&blob.bytes),
            }),
        ),
        Value::Stub(_) => tag("$capability", Json::Bool(true)),
        Value::Promise(_) => tag("$promise", Json::Bool(true)),
        Value::ReadableStream(_) => tag("$readableStream", Json::Bool(true)),
        Value::WritableStream(_) => tag("$writableStream", Json::Bool(true)),
        other => tag(&format!("${}", other.kind()), Json::Bool(true)),
    }
}

/// An error's name, message, stack (if any) and properties.
pub fn error_json(error: &JsError) -> Json {
    let mut fields = Map::new();
    fields.insert("name".into(), Json::String(error.name.clone()));
    fields.insert("message".into(), Json::String(error.message.clone()));
    if let Some(stack) = &error.stack {
        fields.insert("stack".into(), Json::String(stack.clone()));
    }
    fields.insert("properties".into(), object(&error.props));
    Json::Object(fields)
}

fn object(map: &capnweb_runtime::value::Object) -> Json {
    Json::Object(map.iter().map(|(k, v)| (k.clone(), to_json(v))).collect())
}

/// Integers as integers (`1`, not `1.0`); what JSON cannot hold, tagged.
fn number(n: f64) -> Json {
    if !n.is_finite() || (n == 0.0 && n.is_sign_negative()) {
        return json!({ "$number": crate::inspect::number_text(n) });
    }
    if n.fract() == 0.0 && n.abs() < 9_007_199_254_740_992.0 {
        return Json::from(n as i64);
    }
    serde_json::Number::from_f64(n).map_or(Json::Null, Json::Number)
}

#[cfg(test)]
mod tests {
    use super::*;
    use capnweb_runtime::value::{BigInt, Bytes, Date};

    #[test]
    fn special_values_are_tagged() {
        let value = Value::Array(vec![
            Value::from(1.0),
            Value::from(1.5),
            Value::Undefined,
            Value::from(f64::NAN),
            Value::BigInt(BigInt::from(123)),
            Value::Date(Date::from_millis(0.0)),
            Value::Bytes(Bytes::new(b"hi".to_vec())),
            Value::from(JsError::new("E", "m").with_prop("code", 7)),
        ]);
        assert_eq!(
            to_json(&value).to_string(),
            r#"[1,1.5,{"$undefined":true},{"$number":"NaN"},{"$bigint":"123"},{"$date":"1970-01-01T00:00:00.000Z"},{"$bytes":"aGk=","kind":"Uint8Array"},{"$error":{"name":"E","message":"m","properties":{"code":7}}}]"#
        );
    }
}
