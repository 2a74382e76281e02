//! `Serialize`/`Deserialize` for [`Value`] and the special types, so they can be fields of user
//! structs converted with [`to_value`](super::to_value) / [`from_value`](super::from_value).
//!
//! serde has no notion of "a capability" or "a bigint", so these types travel through serde as
//! private magic newtype structs (names starting with `$capnweb::`):
//!
//! - **Serializing.** The type puts its ready-made [`Value`] in a thread-local slot and calls
//!   `serialize_newtype_struct(MAGIC, carrier)`. Our serializer takes the value from the slot;
//!   any other serializer (serde_json, ...) serializes the carrier, a plain form: a bigint's
//!   decimal string, a date's milliseconds or `null`, bytes as a byte array, an error as
//!   `{name, message, stack?, props?}`. Stubs and promises have no plain form and fail.
//! - **Deserializing.** The type calls `deserialize_newtype_struct(MAGIC, ..)`. Our deserializer
//!   parks the whole [`Value`] in a thread-local table and hands over a marker map
//!   `{"$capnweb::slot": index}`, which the visitor redeems. The marker survives serde's
//!   internal buffering (untagged enums, `flatten`), which is why it is an index and not a
//!   one-shot slot. Other deserializers hand over the plain form, which is converted.

use std::cell::{Cell, RefCell};

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeStruct, Serializer};

use super::ser::int_value;
use super::{BigInt, Bytes, Object, Value};
use crate::error::RpcError;

const URL: &str = "$capnweb::Url";
const HEADERS: &str = "$capnweb::Headers";
const REQUEST: &str = "$capnweb::Request";
const RESPONSE: &str = "$capnweb::Response";
const VALUE: &str = "$capnweb::Value";

/// The key of the marker map that stands for a parked value.
const SLOT_KEY: &str = "$capnweb::slot";

thread_local! {
    /// The value being serialized by the innermost special type.
    static SER_SLOT: RefCell<Option<Value>> = const { RefCell::new(None) };
    /// Parked values: (value, reusable). Reusable entries were parked for buffered visits and
    /// may be redeemed more than once; they are cleared when the outermost `from_value` ends.
    static DE_TABLE: RefCell<Vec<Option<(Value, bool)>>> = const { RefCell::new(Vec::new()) };
    /// How many `from_value` calls are running on this thread.
    static DE_DEPTH: Cell<usize> = const { Cell::new(0) };
}

/// True for the private newtype names of this module.
pub(crate) fn is_magic(name: &str) -> bool {
    name.starts_with("$capnweb::")
}

/// Takes the value stored by the innermost special type's `serialize`.
pub(crate) fn take_slot() -> Option<Value> {
    SER_SLOT.with(|s| s.borrow_mut().take())
}

/// Serializes `value` as the magic newtype `name`, with `carrier` as the plain form.
pub(super) fn serialize_magic<S: Serializer, C: Serialize + ?Sized>(
    serializer: S,
    name: &'static str,
    value: Value,
    carrier: &C,
) -> Result<S::Ok, S::Error> {
    SER_SLOT.with(|s| *s.borrow_mut() = Some(value));
    let result = serializer.serialize_newtype_struct(name, carrier);
    // Another serializer did not take it: do not leave it behind.
    let _ = take_slot();
    result
}

/// Parks `value` and returns the marker that redeems it.
pub(super) fn park(value: Value, reusable: bool) -> Parked {
    DE_TABLE.with(|t| {
        let mut t = t.borrow_mut();
        t.push(Some((value, reusable)));
        Parked(t.len() as u64 - 1)
    })
}

/// Redeems a parked value (taking it, unless it is reusable).
fn unpark(index: u64) -> Option<Value> {
    DE_TABLE.with(|t| {
        let mut t = t.borrow_mut();
        let entry = t.get_mut(usize::try_from(index).ok()?)?;
        match entry {
            Some((value, true)) => Some(value.clone()),
            _ => entry.take().map(|(value, _)| value),
        }
    })
}

/// Runs a top-level conversion; the outermost one clears the parked values afterwards.
pub(super) fn deserialize_scope<R>(f: impl FnOnce() -> R) -> R {
    struct Guard;
    impl Drop for Guard {
        fn drop(&mut self) {
            let depth = DE_DEPTH.with(|d| {
                d.set(d.get().saturating_sub(1));
                d.get()
            });
            if depth == 0 {
                DE_TABLE.with(|t| t.borrow_mut().clear());
            }
        }
    }
    DE_DEPTH.with(|d| d.set(d.get() + 1));
    let _guard = Guard;
    f()
}

/// The marker for a parked value: deserializes as `{"$capnweb::slot": index}`.
pub(super) struct Parked(u64);

impl<'de> Deserializer<'de> for Parked {
    type Error = RpcError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, RpcError> {
        let entries = std::iter::once((SLOT_KEY, self.0));
        visitor.visit_map(de::value::MapDeserializer::new(entries))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map struct enum identifier
        ignored_any
    }
}

// ---------------------------------------------------------------------------------------------
// Value

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Undefined => serializer.serialize_unit(),
            Value::Null => serializer.serialize_none(),
            Value::Bool(b) => serializer.serialize_bool(*b),
            // Integral numbers as integers, so that other formats print `1`, not `1.0`.
            Value::Number(n) if n.fract() == 0.0 && n.abs() <= 9_007_199_254_740_991.0 => {
                if *n >= 0.0 && n.is_sign_positive() {
                    serializer.serialize_u64(*n as u64)
                } else if *n == 0.0 {
                    serializer.serialize_f64(*n)
                } else {
                    serializer.serialize_i64(*n as i64)
                }
            }
            Value::Number(n) => serializer.serialize_f64(*n),
            Value::BigInt(b) => b.serialize(serializer),
            Value::String(s) => serializer.serialize_str(s),
            Value::Array(items) => serializer.collect_seq(items),
            Value::Object(map) => serializer.collect_map(map),
            Value::Date(d) => d.serialize(serializer),
            Value::Bytes(b) => b.serialize(serializer),
            Value::Error(e) => e.serialize(serializer),
            Value::Url(href) => serialize_magic(serializer, URL, self.clone(), href.as_str()),
            Value::Headers(pairs) => serialize_magic(serializer, HEADERS, self.clone(), pairs),
            Value::Request(r) => {
                let carrier = Pair(("url", &r.url), ("init", &ObjectRef(&r.init)));
                serialize_magic(serializer, REQUEST, self.clone(), &carrier)
            }
            Value::Response(r) => {
                let carrier = Pair(("body", &r.body), ("init", &ObjectRef(&r.init)));
                serialize_magic(serializer, RESPONSE, self.clone(), &carrier)
            }
            Value::Stub(s) => s.serialize(serializer),
            Value::Promise(p) => p.serialize(serializer),
            Value::ReadableStream(s) => s.serialize(serializer),
            Value::WritableStream(s) => s.serialize(serializer),
            Value::Blob(b) => b.serialize(serializer),
        }
    }
}

/// Serializes an [`Object`] as a map (indexmap's own impl needs a feature we do not enable).
pub(super) struct ObjectRef<'a>(pub(super) &'a Object);

impl Serialize for ObjectRef<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.0)
    }
}

/// A two-member struct carrier (`{url, init}`, `{body, init}`).
struct Pair<'a, A, B>((&'static str, &'a A), (&'static str, &'a B));

impl<A: Serialize, B: Serialize> Serialize for Pair<'_, A, B> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut st = serializer.serialize_struct("Carrier", 2)?;
        st.serialize_field(self.0.0, self.0.1)?;
        st.serialize_field(self.1.0, self.1.1)?;
        st.end()
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_newtype_struct(VALUE, ValueVisitor)
    }
}

/// Builds a [`Value`] from whatever a deserializer offers, redeeming parked values.
struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any value")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(int_value(v.into()))
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Value, E> {
        Ok(int_value(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(int_value(v.into()))
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Value, E> {
        Ok(i128::try_from(v)
            .map(int_value)
            .unwrap_or_else(|_| Value::BigInt(BigInt::from(v))))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Ok(Value::Number(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Value, E> {
        Ok(Value::Bytes(Bytes::new(v)))
    }
    fn visit_byte_buf<E: de::Error>(self, v: Vec<u8>) -> Result<Value, E> {
        Ok(Value::Bytes(Bytes::new(v)))
    }
    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Value::deserialize(d)
    }
    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(ValueVisitor)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        while let Some(item) = seq.next_element::<Value>()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let Some(first) = map.next_key::<String>()? else {
            return Ok(Value::Object(Object::new()));
        };
        if first == SLOT_KEY {
            let index = map.next_value::<u64>()?;
            return unpark(index).ok_or_else(|| {
                de::Error::custom("a capnweb value was used after its conversion ended")
            });
        }
        let mut obj = Object::with_capacity(map.size_hint().unwrap_or(0).min(4096) + 1);
        obj.insert(first, map.next_value::<Value>()?);
        while let Some((key, value)) = map.next_entry::<String, Value>()? {
            obj.insert(key, value);
        }
        Ok(Value::Object(obj))
    }
}

/// Deserializes the magic newtype `name` into a [`Value`] and converts it with `convert`.
pub(super) fn deserialize_magic<'de, D: Deserializer<'de>, T>(
    deserializer: D,
    name: &'static str,
    convert: impl FnOnce(Value) -> Result<T, String>,
) -> Result<T, D::Error> {
    let value = deserializer.deserialize_newtype_struct(name, ValueVisitor)?;
    convert(value).map_err(de::Error::custom)
}

/// The message for a value of the wrong kind.
pub(super) fn wrong(expected: &str, got: &Value) -> String {
    format!("invalid type: {}, expected {expected}", got.kind())
}
