//! The access types behind the [`Value`] deserializer: array elements, object members, object
//! keys and enum variants.

use serde::de::{self, DeserializeSeed, Unexpected, Visitor};

use super::de::invalid_type;
use super::serde_impls::{is_magic, park};
use super::{Object, Value};
use crate::error::RpcError;

/// Feeds an array to a visitor, refusing leftovers (like serde_json).
pub(super) fn visit_array<'de, V: Visitor<'de>>(
    items: Vec<Value>,
    visitor: V,
) -> Result<V::Value, RpcError> {
    let len = items.len();
    let mut seq = SeqAccess {
        iter: items.into_iter(),
    };
    let out = visitor.visit_seq(&mut seq)?;
    if seq.iter.len() == 0 {
        Ok(out)
    } else {
        Err(de::Error::invalid_length(len, &"fewer elements in array"))
    }
}

/// Feeds an object to a visitor.
pub(super) fn visit_object<'de, V: Visitor<'de>>(
    map: Object,
    visitor: V,
) -> Result<V::Value, RpcError> {
    visitor.visit_map(MapAccess {
        iter: map.into_iter(),
        value: None,
    })
}

/// Array elements for `visit_seq`.
struct SeqAccess {
    iter: std::vec::IntoIter<Value>,
}

impl<'de> de::SeqAccess<'de> for SeqAccess {
    type Error = RpcError;
    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, RpcError> {
        self.iter.next().map(|v| seed.deserialize(v)).transpose()
    }
    fn size_hint(&self) -> Option<usize> {
        Some(self.iter.len())
    }
}

/// Object members for `visit_map`.
struct MapAccess {
    iter: indexmap::map::IntoIter<String, Value>,
    value: Option<Value>,
}

impl<'de> de::MapAccess<'de> for MapAccess {
    type Error = RpcError;
    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, RpcError> {
        match self.iter.next() {
            Some((key, value)) => {
                self.value = Some(value);
                seed.deserialize(MapKey(key)).map(Some)
            }
            None => Ok(None),
        }
    }
    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, RpcError> {
        let value = self.value.take().unwrap_or_default();
        seed.deserialize(value)
    }
    fn size_hint(&self) -> Option<usize> {
        Some(self.iter.len())
    }
}

/// An object key: a string that integer, float and boolean targets parse (serde_json does the
/// same for maps such as `HashMap<u32, T>`).
struct MapKey(String);

impl MapKey {
    fn parse<T: std::str::FromStr>(&self, what: &str) -> Result<T, RpcError> {
        self.0
            .parse()
            .map_err(|_| RpcError::Serialization(format!("invalid {what} key: {:?}", self.0)))
    }
}

macro_rules! key_parse {
    ($($method:ident => $visit:ident: $t:ty),* $(,)?) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, RpcError> {
            visitor.$visit(self.parse::<$t>(stringify!($t))?)
        }
    )*};
}

impl<'de> de::Deserializer<'de> for MapKey {
    type Error = RpcError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, RpcError> {
        visitor.visit_string(self.0)
    }

    key_parse!(
        deserialize_bool => visit_bool: bool,
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
        deserialize_f32 => visit_f32: f32,
        deserialize_f64 => visit_f64: f64,
    );

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, RpcError> {
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, RpcError> {
        if is_magic(name) {
            return visitor.visit_newtype_struct(park(Value::String(self.0), false));
        }
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, RpcError> {
        visitor.visit_enum(EnumAccess {
            variant: self.0,
            value: None,
        })
    }

    serde::forward_to_deserialize_any! {
        char str string bytes byte_buf unit unit_struct seq tuple tuple_struct map struct
        identifier ignored_any
    }
}

/// An externally tagged enum: the variant name and its content, if any.
pub(super) struct EnumAccess {
    pub(super) variant: String,
    pub(super) value: Option<Value>,
}

impl<'de> de::EnumAccess<'de> for EnumAccess {
    type Error = RpcError;
    type Variant = VariantAccess;
    fn variant_seed<V: DeserializeSeed<'de>>(
        self,
        seed: V,
    ) -> Result<(V::Value, VariantAccess), RpcError> {
        let variant =
            seed.deserialize(de::value::StringDeserializer::<RpcError>::new(self.variant))?;
        Ok((variant, VariantAccess(self.value)))
    }
}

/// The content of an enum variant.
pub(super) struct VariantAccess(Option<Value>);

impl<'de> de::VariantAccess<'de> for VariantAccess {
    type Error = RpcError;

    fn unit_variant(self) -> Result<(), RpcError> {
        match self.0 {
            None | Some(Value::Null | Value::Undefined) => Ok(()),
            Some(other) => Err(invalid_type(&other, &"a unit variant")),
        }
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, RpcError> {
        match self.0 {
            Some(value) => seed.deserialize(value),
            None => Err(de::Error::invalid_type(
                Unexpected::UnitVariant,
                &"a newtype variant",
            )),
        }
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, RpcError> {
        match self.0 {
            Some(Value::Array(items)) => visit_array(items, visitor),
            Some(other) => Err(invalid_type(&other, &"a tuple variant")),
            None => Err(de::Error::invalid_type(
                Unexpected::UnitVariant,
                &"a tuple variant",
            )),
        }
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, RpcError> {
        match self.0 {
            Some(Value::Object(map)) => visit_object(map, visitor),
            Some(Value::Array(items)) => visit_array(items, visitor),
            Some(other) => Err(invalid_type(&other, &"a struct variant")),
            None => Err(de::Error::invalid_type(
                Unexpected::UnitVariant,
                &"a struct variant",
            )),
        }
    }
}
