//! serde `Serializer` that produces a [`Value`](super::Value).
//!
//! The mapping follows serde_json where JSON has an answer (structs and maps become objects,
//! enums are externally tagged, `None` is `null`) and uses JavaScript's richer types where it
//! does not: `()` and unit structs become `undefined`, byte slices become `Uint8Array`s and
//! integers beyond ±(2^53 - 1) become bigints (a JS number could not hold them exactly).
//!
//! The special types ([`BigInt`](super::BigInt), [`Date`](super::Date), [`Stub`](crate::Stub),
//! ...) serialize as private magic newtype structs; this serializer recognises the names and
//! picks the ready-made [`Value`] up from a thread-local slot (see `serde_impls`).

use serde::ser::{self, Serialize};

use super::serde_impls::{is_magic, take_slot};
use super::{BigInt, Bytes, Object, Value};
use crate::error::RpcError;

/// True if JavaScript holds `v` exactly as a number (|v| <= 2^53 - 1).
pub(crate) fn is_safe_integer(v: i128) -> bool {
    let max = super::MAX_SAFE_INTEGER as i128;
    (-max..=max).contains(&v)
}

/// Converts any serde-serializable value into a [`Value`].
pub fn to_value<T: serde::Serialize + ?Sized>(value: &T) -> Result<Value, RpcError> {
    value.serialize(ValueSerializer)
}

impl ser::Error for RpcError {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        RpcError::Serialization(msg.to_string())
    }
}

/// An integer as a number when JS can hold it exactly, else as a bigint.
pub(super) fn int_value(v: i128) -> Value {
    if is_safe_integer(v) {
        Value::Number(v as f64)
    } else {
        Value::BigInt(BigInt::from(v))
    }
}

/// [`int_value`] for values beyond `i128`.
fn uint_value(v: u128) -> Value {
    match i128::try_from(v) {
        Ok(i) => int_value(i),
        Err(_) => Value::BigInt(BigInt::from(v)),
    }
}

/// The serializer behind [`to_value`].
pub(crate) struct ValueSerializer;

impl ser::Serializer for ValueSerializer {
    type Ok = Value;
    type Error = RpcError;
    type SerializeSeq = SeqBuilder;
    type SerializeTuple = SeqBuilder;
    type SerializeTupleStruct = SeqBuilder;
    type SerializeTupleVariant = VariantSeqBuilder;
    type SerializeMap = MapBuilder;
    type SerializeStruct = MapBuilder;
    type SerializeStructVariant = VariantMapBuilder;

    fn serialize_bool(self, v: bool) -> Result<Value, RpcError> {
        Ok(Value::Bool(v))
    }
    fn serialize_i8(self, v: i8) -> Result<Value, RpcError> {
        Ok(Value::Number(v.into()))
    }
    fn serialize_i16(self, v: i16) -> Result<Value, RpcError> {
        Ok(Value::Number(v.into()))
    }
    fn serialize_i32(self, v: i32) -> Result<Value, RpcError> {
        Ok(Value::Number(v.into()))
    }
    fn serialize_i64(self, v: i64) -> Result<Value, RpcError> {
        Ok(int_value(v.into()))
    }
    fn serialize_i128(self, v: i128) -> Result<Value, RpcError> {
        Ok(int_value(v))
    }
    fn serialize_u8(self, v: u8) -> Result<Value, RpcError> {
        Ok(Value::Number(v.into()))
    }
    fn serialize_u16(self, v: u16) -> Result<Value, RpcError> {
        Ok(Value::Number(v.into()))
    }
    fn serialize_u32(self, v: u32) -> Result<Value, RpcError> {
        Ok(Value::Number(v.into()))
    }
    fn serialize_u64(self, v: u64) -> Result<Value, RpcError> {
        Ok(uint_value(v.into()))
    }
    fn serialize_u128(self, v: u128) -> Result<Value, RpcError> {
        Ok(uint_value(v))
    }
    fn serialize_f32(self, v: f32) -> Result<Value, RpcError> {
        Ok(Value::Number(v.into()))
    }
    fn serialize_f64(self, v: f64) -> Result<Value, RpcError> {
        Ok(Value::Number(v))
    }
    fn serialize_char(self, v: char) -> Result<Value, RpcError> {
        Ok(Value::String(v.to_string()))
    }
    fn serialize_str(self, v: &str) -> Result<Value, RpcError> {
        Ok(Value::String(v.to_owned()))
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<Value, RpcError> {
        Ok(Value::Bytes(Bytes::new(v)))
    }
    fn serialize_none(self) -> Result<Value, RpcError> {
        Ok(Value::Null)
    }
    fn serialize_some<T: ?Sized + Serialize>(self, value: &T) -> Result<Value, RpcError> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<Value, RpcError> {
        Ok(Value::Undefined)
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<Value, RpcError> {
        Ok(Value::Undefined)
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<Value, RpcError> {
        Ok(Value::String(variant.to_owned()))
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        name: &'static str,
        value: &T,
    ) -> Result<Value, RpcError> {
        if is_magic(name)
            && let Some(v) = take_slot()
        {
            return Ok(v);
        }
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<Value, RpcError> {
        let mut map = Object::with_capacity(1);
        map.insert(variant.to_owned(), to_value(value)?);
        Ok(Value::Object(map))
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<SeqBuilder, RpcError> {
        Ok(SeqBuilder(Vec::with_capacity(len.unwrap_or(0))))
    }
    fn serialize_tuple(self, len: usize) -> Result<SeqBuilder, RpcError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        len: usize,
    ) -> Result<SeqBuilder, RpcError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<VariantSeqBuilder, RpcError> {
        Ok(VariantSeqBuilder {
            variant,
            items: Vec::with_capacity(len),
        })
    }
    fn serialize_map(self, len: Option<usize>) -> Result<MapBuilder, RpcError> {
        Ok(MapBuilder {
            map: Object::with_capacity(len.unwrap_or(0)),
            key: None,
        })
    }
    fn serialize_struct(self, _name: &'static str, len: usize) -> Result<MapBuilder, RpcError> {
        self.serialize_map(Some(len))
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<VariantMapBuilder, RpcError> {
        Ok(VariantMapBuilder {
            variant,
            map: Object::with_capacity(len),
        })
    }
    fn collect_str<T: ?Sized + std::fmt::Display>(self, value: &T) -> Result<Value, RpcError> {
        Ok(Value::String(value.to_string()))
    }
}

/// Builds arrays for sequences, tuples and tuple structs.
pub(crate) struct SeqBuilder(Vec<Value>);

impl ser::SerializeSeq for SeqBuilder {
    type Ok = Value;
    type Error = RpcError;
    fn serialize_element<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), RpcError> {
        self.0.push(to_value(value)?);
        Ok(())
    }
    fn end(self) -> Result<Value, RpcError> {
        Ok(Value::Array(self.0))
    }
}

impl ser::SerializeTuple for SeqBuilder {
    type Ok = Value;
    type Error = RpcError;
    fn serialize_element<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), RpcError> {
        ser::SerializeSeq::serialize_element(self, value)
    }
    fn end(self) -> Result<Value, RpcError> {
        ser::SerializeSeq::end(self)
    }
}

impl ser::SerializeTupleStruct for SeqBuilder {
    type Ok = Value;
    type Error = RpcError;
    fn serialize_field<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), RpcError> {
        ser::SerializeSeq::serialize_element(self, value)
    }
    fn end(self) -> Result<Value, RpcError> {
        ser::SerializeSeq::end(self)
    }
}

/// Builds `{variant: [...]}` for tuple variants.
pub(crate) struct VariantSeqBuilder {
    variant: &'static str,
    items: Vec<Value>,
}

impl ser::SerializeTupleVariant for VariantSeqBuilder {
    type Ok = Value;
    type Error = RpcError;
    fn serialize_field<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), RpcError> {
        self.items.push(to_value(value)?);
        Ok(())
    }
    fn end(self) -> Result<Value, RpcError> {
        let mut map = Object::with_capacity(1);
        map.insert(self.variant.to_owned(), Value::Array(self.items));
        Ok(Value::Object(map))
    }
}

/// Builds objects for maps and structs.
pub(crate) struct MapBuilder {
    map: Object,
    key: Option<String>,
}

impl ser::SerializeMap for MapBuilder {
    type Ok = Value;
    type Error = RpcError;
    fn serialize_key<T: ?Sized + Serialize>(&mut self, key: &T) -> Result<(), RpcError> {
        self.key = Some(key.serialize(MapKeySerializer)?);
        Ok(())
    }
    fn serialize_value<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), RpcError> {
        let key = self
            .key
            .take()
            .ok_or_else(|| RpcError::Serialization("map value without a key".to_owned()))?;
        self.map.insert(key, to_value(value)?);
        Ok(())
    }
    fn end(self) -> Result<Value, RpcError> {
        Ok(Value::Object(self.map))
    }
}

impl ser::SerializeStruct for MapBuilder {
    type Ok = Value;
    type Error = RpcError;
    fn serialize_field<T: ?Sized + Serialize>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), RpcError> {
        self.map.insert(key.to_owned(), to_value(value)?);
        Ok(())
    }
    fn end(self) -> Result<Value, RpcError> {
        Ok(Value::Object(self.map))
    }
}

/// Builds `{variant: {...}}` for struct variants.
pub(crate) struct VariantMapBuilder {
    variant: &'static str,
    map: Object,
}

impl ser::SerializeStructVariant for VariantMapBuilder {
    type Ok = Value;
    type Error = RpcError;
    fn serialize_field<T: ?Sized + Serialize>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), RpcError> {
        self.map.insert(key.to_owned(), to_value(value)?);
        Ok(())
    }
    fn end(self) -> Result<Value, RpcError> {
        let mut outer = Object::with_capacity(1);
        outer.insert(self.variant.to_owned(), Value::Object(self.map));
        Ok(Value::Object(outer))
    }
}

/// Turns map keys into object keys: strings as they are, numbers and booleans as JS would
/// print them, unit variants by name (like serde_json, plus floats and booleans).
pub(crate) struct MapKeySerializer;

/// The error for keys that cannot be object keys.
fn key_error() -> RpcError {
    RpcError::Serialization("map keys must be strings, numbers, booleans or unit variants".into())
}

impl ser::Serializer for MapKeySerializer {
    type Ok = String;
    type Error = RpcError;
    type SerializeSeq = ser::Impossible<String, RpcError>;
    type SerializeTuple = ser::Impossible<String, RpcError>;
    type SerializeTupleStruct = ser::Impossible<String, RpcError>;
    type SerializeTupleVariant = ser::Impossible<String, RpcError>;
    type SerializeMap = ser::Impossible<String, RpcError>;
    type SerializeStruct = ser::Impossible<String, RpcError>;
    type SerializeStructVariant = ser::Impossible<String, RpcError>;

    fn serialize_bool(self, v: bool) -> Result<String, RpcError> {
        Ok(v.to_string())
    }
    fn serialize_i8(self, v: i8) -> Result<String, RpcError> {
        Ok(v.to_string())
    }
    fn serialize_i16(self, v: i16) -> Result<String, RpcError> {
        Ok(v.to_string())
    }
    fn serialize_i32(self, v: i32) -> Result<String, RpcError> {
        Ok(v.to_string())
    }
    fn serialize_i64(self, v: i64) -> Result<String, RpcError> {
        Ok(v.to_string())
    }
    fn serialize_i128(self, v: i128) -> Result<String, RpcError> {
        Ok(v.to_string())
    }
    fn serialize_u8(self, v: u8) -> Result<String, RpcError> {
        Ok(v.to_string())
    }
    fn serialize_u16(self, v: u16) -> Result<String, RpcError> {
        Ok(v.to_string())
    }
    fn serialize_u32(self, v: u32) -> Result<String, RpcError> {
        Ok(v.to_string())
    }
    fn serialize_u64(self, v: u64) -> Result<String, RpcError> {
        Ok(v.to_string())
    }
    fn serialize_u128(self, v: u128) -> Result<String, RpcError> {
        Ok(v.to_string())
    }
    fn serialize_f32(self, v: f32) -> Result<String, RpcError> {
        self.serialize_f64(v.into())
    }
    fn serialize_f64(self, v: f64) -> Result<String, RpcError> {
        // JS's String(number): "NaN", "Infinity", "1e+21", ...
        Ok(ryu_js::Buffer::new().format(v).to_owned())
    }
    fn serialize_char(self, v: char) -> Result<String, RpcError> {
        Ok(v.to_string())
    }
    fn serialize_str(self, v: &str) -> Result<String, RpcError> {
        Ok(v.to_owned())
    }
    fn serialize_bytes(self, _v: &[u8]) -> Result<String, RpcError> {
        Err(key_error())
    }
    fn serialize_none(self) -> Result<String, RpcError> {
        Err(key_error())
    }
    fn serialize_some<T: ?Sized + Serialize>(self, value: &T) -> Result<String, RpcError> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<String, RpcError> {
        Err(key_error())
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<String, RpcError> {
        Err(key_error())
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<String, RpcError> {
        Ok(variant.to_owned())
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        name: &'static str,
        value: &T,
    ) -> Result<String, RpcError> {
        if is_magic(name) {
            // A special value as a key: use its plain form (the carrier), drop the stashed one.
            let _ = take_slot();
        }
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _value: &T,
    ) -> Result<String, RpcError> {
        Err(key_error())
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Self::SerializeSeq, RpcError> {
        Err(key_error())
    }
    fn serialize_tuple(self, _len: usize) -> Result<Self::SerializeTuple, RpcError> {
        Err(key_error())
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleStruct, RpcError> {
        Err(key_error())
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant, RpcError> {
        Err(key_error())
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Self::SerializeMap, RpcError> {
        Err(key_error())
    }
    fn serialize_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStruct, RpcError> {
        Err(key_error())
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant, RpcError> {
        Err(key_error())
    }
    fn collect_str<T: ?Sized + std::fmt::Display>(self, value: &T) -> Result<String, RpcError> {
        Ok(value.to_string())
    }
}
