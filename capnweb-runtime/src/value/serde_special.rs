//! `Serialize`/`Deserialize` for the special value types ([`BigInt`], [`Date`], [`Bytes`],
//! [`Undefined`], [`JsError`]) and for capabilities ([`Stub`], [`Promise`]), using the magic
//! newtype mechanism of `serde_impls`.

use serde::de::{self, Deserialize, Deserializer, Visitor};
use serde::ser::{self, Serialize, SerializeMap, Serializer};

use super::serde_impls::{ObjectRef, deserialize_magic, serialize_magic, wrong};
use super::{BigInt, Bytes, Date, JsError, Object, Undefined, Value};
use crate::stub::{Promise, Stub};

const BIGINT: &str = "$capnweb::BigInt";
const DATE: &str = "$capnweb::Date";
const BYTES: &str = "$capnweb::Bytes";
const ERROR: &str = "$capnweb::Error";
const STUB: &str = "$capnweb::Stub";
const PROMISE: &str = "$capnweb::Promise";
const READABLE: &str = "$capnweb::ReadableStream";
const WRITABLE: &str = "$capnweb::WritableStream";
const BLOB: &str = "$capnweb::Blob";

impl Serialize for BigInt {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serialize_magic(
            serializer,
            BIGINT,
            Value::BigInt(self.clone()),
            self.as_str(),
        )
    }
}

impl<'de> Deserialize<'de> for BigInt {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<BigInt, D::Error> {
        deserialize_magic(deserializer, BIGINT, |v| match v {
            Value::BigInt(b) => Ok(b),
            Value::Number(n) if n.fract() == 0.0 && n.abs() < 1.7e38 => Ok(BigInt::from(n as i128)),
            Value::String(s) => s.parse::<BigInt>().map_err(|e| e.message()),
            other => Err(wrong("a bigint", &other)),
        })
    }
}

impl Serialize for Date {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serialize_magic(serializer, DATE, Value::Date(*self), &self.millis())
    }
}

impl<'de> Deserialize<'de> for Date {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Date, D::Error> {
        deserialize_magic(deserializer, DATE, |v| match v {
            Value::Date(d) => Ok(d),
            Value::Number(ms) => Ok(Date::from_millis(ms)),
            Value::Null | Value::Undefined => Ok(Date::invalid()),
            other => Err(wrong("a date", &other)),
        })
    }
}

/// Serializes bytes with `serialize_bytes`.
struct ByteCarrier<'a>(&'a [u8]);

impl Serialize for ByteCarrier<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(self.0)
    }
}

impl Serialize for Bytes {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serialize_magic(
            serializer,
            BYTES,
            Value::Bytes(self.clone()),
            &ByteCarrier(&self.data),
        )
    }
}

impl<'de> Deserialize<'de> for Bytes {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Bytes, D::Error> {
        deserialize_magic(deserializer, BYTES, |v| match v {
            Value::Bytes(b) => Ok(b),
            Value::Array(items) => items
                .iter()
                .map(|item| match item {
                    Value::Number(n) if n.fract() == 0.0 && (0.0..=255.0).contains(n) => {
                        Ok(*n as u8)
                    }
                    other => Err(wrong("a byte", other)),
                })
                .collect::<Result<Vec<u8>, String>>()
                .map(Bytes::new),
            other => Err(wrong("bytes", &other)),
        })
    }
}

impl Serialize for Undefined {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_unit_struct("Undefined")
    }
}

impl<'de> Deserialize<'de> for Undefined {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Undefined, D::Error> {
        struct UnitVisitor;
        impl<'de> Visitor<'de> for UnitVisitor {
            type Value = Undefined;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("undefined or null")
            }
            fn visit_unit<E: de::Error>(self) -> Result<Undefined, E> {
                Ok(Undefined)
            }
            fn visit_none<E: de::Error>(self) -> Result<Undefined, E> {
                Ok(Undefined)
            }
        }
        deserializer.deserialize_unit_struct("Undefined", UnitVisitor)
    }
}

/// The plain form of an error: `{name, message, stack?, props?}`.
struct ErrorCarrier<'a>(&'a JsError);

impl Serialize for ErrorCarrier<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let e = self.0;
        let len = 2 + usize::from(e.stack.is_some()) + usize::from(!e.props.is_empty());
        let mut map = serializer.serialize_map(Some(len))?;
        map.serialize_entry("name", &e.name)?;
        map.serialize_entry("message", &e.message)?;
        if let Some(stack) = &e.stack {
            map.serialize_entry("stack", stack)?;
        }
        if !e.props.is_empty() {
            map.serialize_entry("props", &ObjectRef(&e.props))?;
        }
        map.end()
    }
}

impl Serialize for JsError {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let value = Value::Error(Box::new(self.clone()));
        serialize_magic(serializer, ERROR, value, &ErrorCarrier(self))
    }
}

impl<'de> Deserialize<'de> for JsError {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<JsError, D::Error> {
        deserialize_magic(deserializer, ERROR, |v| match v {
            Value::Error(e) => Ok(*e),
            Value::Object(mut obj) => {
                let mut text = |key: &str| match obj.shift_remove(key) {
                    Some(Value::String(s)) => Ok(Some(s)),
                    None | Some(Value::Null | Value::Undefined) => Ok(None),
                    Some(other) => Err(wrong("a string", &other)),
                };
                let name = text("name")?.unwrap_or_else(|| "Error".to_owned());
                let message = text("message")?.unwrap_or_default();
                let stack = text("stack")?;
                let props = match obj.shift_remove("props") {
                    Some(Value::Object(props)) => props,
                    None | Some(Value::Null | Value::Undefined) => Object::new(),
                    Some(other) => return Err(wrong("an object", &other)),
                };
                Ok(JsError {
                    name,
                    message,
                    stack,
                    props,
                })
            }
            other => Err(wrong("an Error", &other)),
        })
    }
}

/// The plain form of a capability: there is none, so other serializers fail.
struct NoPlainForm(&'static str);

impl Serialize for NoPlainForm {
    fn serialize<S: Serializer>(&self, _serializer: S) -> Result<S::Ok, S::Error> {
        Err(ser::Error::custom(format!(
            "a {} can only be serialized by capnweb (to_value or an RPC call)",
            self.0
        )))
    }
}

impl Serialize for Stub {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serialize_magic(
            serializer,
            STUB,
            Value::Stub(self.clone()),
            &NoPlainForm("Stub"),
        )
    }
}

impl<'de> Deserialize<'de> for Stub {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Stub, D::Error> {
        deserialize_magic(deserializer, STUB, |v| match v {
            Value::Stub(s) => Ok(s),
            other => Err(wrong("a stub (capability)", &other)),
        })
    }
}

impl Serialize for crate::stream::ReadableStream {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serialize_magic(
            serializer,
            READABLE,
            Value::ReadableStream(self.clone()),
            &NoPlainForm("ReadableStream"),
        )
    }
}

impl<'de> Deserialize<'de> for crate::stream::ReadableStream {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserialize_magic(deserializer, READABLE, |v| match v {
            Value::ReadableStream(s) => Ok(s),
            other => Err(wrong("a ReadableStream", &other)),
        })
    }
}

impl Serialize for crate::stream::WritableStream {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serialize_magic(
            serializer,
            WRITABLE,
            Value::WritableStream(self.clone()),
            &NoPlainForm("WritableStream"),
        )
    }
}

impl<'de> Deserialize<'de> for crate::stream::WritableStream {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserialize_magic(deserializer, WRITABLE, |v| match v {
            Value::WritableStream(s) => Ok(s),
            other => Err(wrong("a WritableStream", &other)),
        })
    }
}

impl Serialize for super::Blob {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serialize_magic(
            serializer,
            BLOB,
            Value::Blob(self.clone()),
            &NoPlainForm("Blob"),
        )
    }
}

impl<'de> Deserialize<'de> for super::Blob {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserialize_magic(deserializer, BLOB, |v| match v {
            Value::Blob(b) => Ok(b),
            other => Err(wrong("a Blob", &other)),
        })
    }
}

impl Serialize for Promise {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serialize_magic(
            serializer,
            PROMISE,
            Value::Promise(self.clone()),
            &NoPlainForm("Promise"),
        )
    }
}

impl<'de> Deserialize<'de> for Promise {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Promise, D::Error> {
        deserialize_magic(deserializer, PROMISE, |v| match v {
            Value::Promise(p) => Ok(p),
            other => Err(wrong("a promise", &other)),
        })
    }
}
