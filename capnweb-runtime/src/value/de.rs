//! serde `Deserializer` that reads a [`Value`](super::Value).
//!
//! Mirrors [`to_value`](super::to_value): objects feed structs and maps, arrays feed sequences
//! and tuples, enums are externally tagged (a string or a one-key object), and both `null` and
//! `undefined` read as `None` and as `()`. Integer targets accept integral numbers and bigints
//! that fit, and refuse fractions and out-of-range values. The special types pick their
//! [`Value`] up through a thread-local slot (see `serde_impls`), so a [`Stub`](crate::Stub) can
//! be a field of a user struct.

use serde::de::{self, IntoDeserializer, Unexpected, Visitor};

use super::MAX_SAFE_INTEGER;
use super::de_access::{EnumAccess, visit_array, visit_object};
use super::serde_impls::{deserialize_scope, is_magic, park};
use super::{Object, Value};
use crate::error::RpcError;

/// Converts a [`Value`] into any serde-deserializable type.
pub fn from_value<T: serde::de::DeserializeOwned>(value: Value) -> Result<T, RpcError> {
    deserialize_scope(|| T::deserialize(value))
}

impl de::Error for RpcError {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        RpcError::Serialization(msg.to_string())
    }
}

/// What a value looks like in serde's error messages.
fn unexpected(value: &Value) -> Unexpected<'_> {
    match value {
        Value::Undefined => Unexpected::Other("undefined"),
        Value::Null => Unexpected::Unit,
        Value::Bool(b) => Unexpected::Bool(*b),
        Value::Number(n) => Unexpected::Float(*n),
        Value::String(s) => Unexpected::Str(s),
        Value::Array(_) => Unexpected::Seq,
        Value::Object(_) => Unexpected::Map,
        Value::Bytes(b) => Unexpected::Bytes(&b.data),
        other => Unexpected::Other(other.kind()),
    }
}

/// The error for a value of the wrong type.
pub(super) fn invalid_type(value: &Value, expected: &dyn de::Expected) -> RpcError {
    de::Error::invalid_type(unexpected(value), expected)
}

/// An integer read from a number or a bigint.
enum Int {
    Signed(i128),
    Unsigned(u128),
}

impl Value {
    /// The integer this value holds, refusing fractions, non-numbers and bigints beyond 128 bits.
    fn integer(&self, expected: &dyn de::Expected) -> Result<Int, RpcError> {
        match self {
            Value::Number(n) if n.is_finite() && n.fract() == 0.0 => {
                // Every integral f64 below 2^127 in magnitude converts exactly.
                if n.abs() < 1.7e38 {
                    Ok(Int::Signed(*n as i128))
                } else {
                    Err(RpcError::Serialization(format!(
                        "integer {n} is out of range"
                    )))
                }
            }
            Value::Number(n) => Err(RpcError::Serialization(format!(
                "invalid value: {}, expected {expected}",
                if n.is_finite() {
                    format!("fractional number {n}")
                } else {
                    format!("{n}")
                }
            ))),
            Value::BigInt(b) => match (b.to_i128(), b.to_u128()) {
                (Some(i), _) => Ok(Int::Signed(i)),
                (None, Some(u)) => Ok(Int::Unsigned(u)),
                _ => Err(RpcError::Serialization(format!(
                    "bigint {b} is out of range"
                ))),
            },
            other => Err(invalid_type(other, expected)),
        }
    }

    /// Converts special values to the plain data they degrade to (what `deserialize_any` shows
    /// a target that does not know them).
    fn degrade(self) -> Result<Value, RpcError> {
        let mut obj = Object::new();
        Ok(match self {
            Value::Url(href) => Value::String(href),
            Value::Headers(pairs) => Value::Array(
                pairs
                    .into_iter()
                    .map(|(n, v)| Value::Array(vec![Value::String(n), Value::String(v)]))
                    .collect(),
            ),
            Value::Error(e) => {
                obj.insert("name".into(), Value::String(e.name));
                obj.insert("message".into(), Value::String(e.message));
                if let Some(stack) = e.stack {
                    obj.insert("stack".into(), Value::String(stack));
                }
                if !e.props.is_empty() {
                    obj.insert("props".into(), Value::Object(e.props));
                }
                Value::Object(obj)
            }
            Value::Request(r) => {
                obj.insert("url".into(), Value::String(r.url));
                obj.insert("init".into(), Value::Object(r.init));
                Value::Object(obj)
            }
            Value::Response(r) => {
                obj.insert("body".into(), r.body);
                obj.insert("init".into(), Value::Object(r.init));
                Value::Object(obj)
            }
            Value::Stub(_)
            | Value::Promise(_)
            | Value::ReadableStream(_)
            | Value::WritableStream(_) => {
                return Err(RpcError::Serialization(format!(
                    "a {} can only be deserialized into its own type or a Value",
                    self.kind()
                )));
            }
            other => other,
        })
    }
}

macro_rules! deserialize_int {
    ($($method:ident => $visit:ident: $t:ty),* $(,)?) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, RpcError> {
            let out_of_range = |v: &dyn std::fmt::Display| {
                RpcError::Serialization(format!("integer {v} is out of range for {}", stringify!($t)))
            };
            let v = match self.integer(&visitor)? {
                Int::Signed(i) => <$t>::try_from(i).map_err(|_| out_of_range(&i))?,
                Int::Unsigned(u) => <$t>::try_from(u).map_err(|_| out_of_range(&u))?,
            };
            visitor.$visit(v)
        }
    )*};
}

/// How a number meets a visitor that takes anything: as an integer when it is a safe one (so
/// maps and untyped targets see `1`, not `1.0`), as a double otherwise. Reading straight from
/// wire text (`wire::text_de`) follows the same rule.
pub(crate) fn visit_number<'de, V: Visitor<'de>, E: de::Error>(
    visitor: V,
    n: f64,
) -> Result<V::Value, E> {
    if n.fract() == 0.0 && n.abs() <= MAX_SAFE_INTEGER && !(n == 0.0 && n.is_sign_negative()) {
        if n >= 0.0 {
            visitor.visit_u64(n as u64)
        } else {
            visitor.visit_i64(n as i64)
        }
    } else {
        visitor.visit_f64(n)
    }
}

impl<'de> de::Deserializer<'de> for Value {
    type Error = RpcError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, RpcError> {
        match self {
            Value::Undefined | Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(b),
            Value::Number(n) => visit_number(visitor, n),
            Value::BigInt(b) => match (b.to_i128(), b.to_u128()) {
                (Some(i), _) if i64::try_from(i).is_ok() => visitor.visit_i64(i as i64),
                (_, Some(u)) if u64::try_from(u).is_ok() => visitor.visit_u64(u as u64),
                _ => visitor.visit_string(b.0),
            },
            Value::String(s) => visitor.visit_string(s),
            Value::Array(items) => visit_array(items, visitor),
            Value::Object(map) => visit_object(map, visitor),
            Value::Date(d) => match d.millis() {
                Some(ms) => visitor.visit_f64(ms),
                None => visitor.visit_unit(),
            },
            Value::Bytes(b) => visit_array(
                b.data
                    .into_iter()
                    .map(|x| Value::Number(x.into()))
                    .collect(),
                visitor,
            ),
            // Capabilities have no plain form. A marker lets serde's buffering (untagged enums,
            // `flatten`) carry them to a `Stub`/`Promise`/`Value` target; it may be redeemed
            // more than once because buffered input can be tried against several variants.
            v @ (Value::Stub(_) | Value::Promise(_)) => visitor.visit_newtype_struct(park(v, true)),
            other => other.degrade()?.deserialize_any(visitor),
        }
    }

    deserialize_int!(
        deserialize_i8 => visit_i8: i8,
        deserialize_i16 => visit_i16: i16,
        deserialize_i32 => visit_i32: i32,
        deserialize_i64 => visit_i64: i64,
        deserialize_i128 => visit_i128: i128,
        deserialize_u8 => visit_u8: u8,
        deserialize_u16 => visit_u16: u16,
        deserialize_u32 => visit_u32: u32,
        deserialize_u64 => visit_u64: u64,
        deserialize_u128 => visit_u128: u128,
    );

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, RpcError> {
        match self {
            Value::Bool(b) => visitor.visit_bool(b),
            other => Err(invalid_type(&other, &visitor)),
        }
    }

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, RpcError> {
        self.deserialize_f64(visitor)
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, RpcError> {
        match self {
            Value::Number(n) => visitor.visit_f64(n),
            Value::BigInt(b) => visitor.visit_f64(b.to_f64()),
            other => Err(invalid_type(&other, &visitor)),
        }
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, RpcError> {
        self.deserialize_string(visitor)
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, RpcError> {
        self.deserialize_string(visitor)
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, RpcError> {
        match self {
            Value::String(s) | Value::Url(s) => visitor.visit_string(s),
            other => Err(invalid_type(&other, &visitor)),
        }
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, RpcError> {
        self.deserialize_byte_buf(visitor)
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, RpcError> {
        match self {
            Value::Bytes(b) => visitor.visit_byte_buf(b.data),
            Value::String(s) => visitor.visit_string(s),
            Value::Array(items) => visit_array(items, visitor),
            other => Err(invalid_type(&other, &visitor)),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, RpcError> {
        match self {
            Value::Null | Value::Undefined => visitor.visit_none(),
            other => visitor.visit_some(other),
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, RpcError> {
        match self {
            Value::Null | Value::Undefined => visitor.visit_unit(),
            other => Err(invalid_type(&other, &visitor)),
        }
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, RpcError> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, RpcError> {
        if is_magic(name) {
            // Hand the value over whole; the special type's visitor redeems the marker.
            return visitor.visit_newtype_struct(park(self, false));
        }
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, RpcError> {
        match self {
            Value::Array(items) => visit_array(items, visitor),
            Value::Bytes(b) => visit_array(
                b.data
                    .into_iter()
                    .map(|x| Value::Number(x.into()))
                    .collect(),
                visitor,
            ),
            Value::Headers(pairs) => Value::Headers(pairs).degrade()?.deserialize_seq(visitor),
            other => Err(invalid_type(&other, &visitor)),
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, RpcError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, RpcError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, RpcError> {
        match self {
            Value::Object(map) => visit_object(map, visitor),
            v @ (Value::Error(_) | Value::Request(_) | Value::Response(_)) => {
                v.degrade()?.deserialize_map(visitor)
            }
            other => Err(invalid_type(&other, &visitor)),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, RpcError> {
        match self {
            Value::Array(items) => visit_array(items, visitor),
            other => other.deserialize_map(visitor),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, RpcError> {
        match self {
            Value::String(variant) => visitor.visit_enum(EnumAccess {
                variant,
                value: None,
            }),
            Value::Object(map) if map.len() == 1 => {
                let Some((variant, value)) = map.into_iter().next() else {
                    return Err(RpcError::Serialization("empty enum object".into()));
                };
                visitor.visit_enum(EnumAccess {
                    variant,
                    value: Some(value),
                })
            }
            other => Err(de::Error::invalid_type(
                unexpected(&other),
                &"a string or an object with a single key (an enum variant)",
            )),
        }
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, RpcError> {
        self.deserialize_string(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, RpcError> {
        drop(self);
        visitor.visit_unit()
    }
}

impl<'de> IntoDeserializer<'de, RpcError> for Value {
    type Deserializer = Value;
    fn into_deserializer(self) -> Value {
        self
    }
}
