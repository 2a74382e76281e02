//! Typed data straight from wire text: the read-side twin of `wire_ser`.
//!
//! [`WireText`](super::payload::WireText) is plain data (objects, scalars and escaped arrays
//! only), so serde_json can parse it into the caller's type directly once every escaped array
//! `[[...]]` is read as the array inside it. The adapters here do that unwrapping around
//! serde_json's deserializer, its visitors and its access types, and read numbers the way the
//! [`Value`](crate::value::Value) deserializer does (a number is a JavaScript double first).
//!
//! The direct read is an optimisation, never a second set of rules: on any error (a type that
//! does not fit, a special type that needs a tree, serde_json's recursion limit) the caller
//! expands the text and uses the tree deserializer, which decides, error text included.

use std::fmt;

use serde::de::{
    self, DeserializeSeed, Deserializer, EnumAccess, IgnoredAny, MapAccess, SeqAccess,
    VariantAccess, Visitor,
};

use crate::value::visit_number;

/// `T` read straight from plain wire text, or `None` if the tree deserializer must decide.
pub(super) fn from_wire_text<T: de::DeserializeOwned>(text: &str) -> Option<T> {
    let mut json = serde_json::Deserializer::from_str(text);
    let value = T::deserialize(Plain(&mut json)).ok()?;
    json.end().ok()?;
    Some(value)
}

/// A deserializer over wire text whose arrays are escaped.
struct Plain<D>(D);

/// A visitor that sees escaped arrays as arrays and numbers as JavaScript doubles (visited
/// by the tree deserializer's rule, [`visit_number`]).
struct Unescape<V>(V);

/// A seed whose deserializer is wrapped in [`Plain`].
struct PlainSeed<S>(S);

/// The elements of an escaped array's inner list.
struct Elements<A>(A);

/// Object members, each key and value read through [`Plain`].
struct Members<A>(A);

/// An enum's variant, its content read through [`Plain`].
struct Variant<A>(A);

/// The inner list of an escaped array, handed to the wrapped visitor.
struct InnerList<V>(V);

/// Refuses what only the tree deserializer may decide.
fn defer<E: de::Error>() -> E {
    E::custom("read from the tree instead")
}

macro_rules! forward_plain {
    ($($method:ident($($arg:ident: $ty:ty),*)),* $(,)?) => {$(
        fn $method<V: Visitor<'de>>(self, $($arg: $ty,)* visitor: V) -> Result<V::Value, D::Error> {
            self.0.$method($($arg,)* Unescape(visitor))
        }
    )*};
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for Plain<D> {
    type Error = D::Error;

    forward_plain!(
        deserialize_any(),
        deserialize_bool(),
        deserialize_i8(),
        deserialize_i16(),
        deserialize_i32(),
        deserialize_i64(),
        deserialize_i128(),
        deserialize_u8(),
        deserialize_u16(),
        deserialize_u32(),
        deserialize_u64(),
        deserialize_u128(),
        deserialize_f32(),
        deserialize_f64(),
        deserialize_char(),
        deserialize_str(),
        deserialize_string(),
        deserialize_option(),
        deserialize_unit(),
        deserialize_unit_struct(name: &'static str),
        deserialize_seq(),
        deserialize_tuple(len: usize),
        deserialize_tuple_struct(name: &'static str, len: usize),
        deserialize_map(),
        deserialize_struct(name: &'static str, fields: &'static [&'static str]),
        deserialize_enum(name: &'static str, variants: &'static [&'static str]),
        deserialize_identifier(),
        deserialize_ignored_any(),
    );

    // The tree deserializer reads bytes from a string's characters or an array's numbers;
    // serde_json would hand over a string's raw bytes.
    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_any(Unescape(visitor))
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_any(Unescape(visitor))
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        // `$capnweb::...` special types pick their value up from the tree deserializer, and
        // serde_json's `RawValue` would see the escapes.
        if name.starts_with('$') {
            return Err(defer());
        }
        self.0.deserialize_newtype_struct(name, Unescape(visitor))
    }
}

macro_rules! forward_visit {
    ($($method:ident($ty:ty)),* $(,)?) => {$(
        fn $method<E: de::Error>(self, v: $ty) -> Result<V::Value, E> {
            self.0.$method(v)
        }
    )*};
}

impl<'de, V: Visitor<'de>> Visitor<'de> for Unescape<V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        self.0.expecting(f)
    }

    forward_visit!(
        visit_bool(bool),
        visit_char(char),
        visit_str(&str),
        visit_borrowed_str(&'de str),
        visit_string(String),
        visit_bytes(&[u8]),
        visit_borrowed_bytes(&'de [u8]),
        visit_byte_buf(Vec<u8>),
    );

    fn visit_i64<E: de::Error>(self, n: i64) -> Result<V::Value, E> {
        visit_number(self.0, n as f64)
    }

    fn visit_u64<E: de::Error>(self, n: u64) -> Result<V::Value, E> {
        visit_number(self.0, n as f64)
    }

    fn visit_f64<E: de::Error>(self, n: f64) -> Result<V::Value, E> {
        visit_number(self.0, n)
    }

    fn visit_unit<E: de::Error>(self) -> Result<V::Value, E> {
        self.0.visit_unit()
    }

    fn visit_none<E: de::Error>(self) -> Result<V::Value, E> {
        self.0.visit_none()
    }

    fn visit_some<D: Deserializer<'de>>(self, de: D) -> Result<V::Value, D::Error> {
        self.0.visit_some(Plain(de))
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, de: D) -> Result<V::Value, D::Error> {
        self.0.visit_newtype_struct(Plain(de))
    }

    /// Every array in plain text is an escape: exactly one element, the list itself.
    fn visit_seq<A: SeqAccess<'de>>(self, mut escape: A) -> Result<V::Value, A::Error> {
        let value = escape
            .next_element_seed(InnerList(self.0))?
            .ok_or_else(defer)?;
        match escape.next_element::<IgnoredAny>()? {
            None => Ok(value),
            Some(_) => Err(defer()),
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<V::Value, A::Error> {
        self.0.visit_map(Members(map))
    }

    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<V::Value, A::Error> {
        self.0.visit_enum(Variant(data))
    }
}

impl<'de, V: Visitor<'de>> DeserializeSeed<'de> for InnerList<V> {
    type Value = V::Value;

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<V::Value, D::Error> {
        de.deserialize_seq(self)
    }
}

impl<'de, V: Visitor<'de>> Visitor<'de> for InnerList<V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("the list inside an escaped array")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, list: A) -> Result<V::Value, A::Error> {
        self.0.visit_seq(Elements(list))
    }
}

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for PlainSeed<S> {
    type Value = S::Value;

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<S::Value, D::Error> {
        self.0.deserialize(Plain(de))
    }
}

impl<'de, A: SeqAccess<'de>> SeqAccess<'de> for Elements<A> {
    type Error = A::Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, A::Error> {
        self.0.next_element_seed(PlainSeed(seed))
    }

    fn size_hint(&self) -> Option<usize> {
        self.0.size_hint()
    }
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Members<A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        self.0.next_key_seed(PlainSeed(seed))
    }

    fn next_value_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<T::Value, A::Error> {
        self.0.next_value_seed(PlainSeed(seed))
    }

    fn size_hint(&self) -> Option<usize> {
        self.0.size_hint()
    }
}

impl<'de, A: EnumAccess<'de>> EnumAccess<'de> for Variant<A> {
    type Error = A::Error;
    type Variant = Variant<A::Variant>;

    fn variant_seed<S: DeserializeSeed<'de>>(
        self,
        seed: S,
    ) -> Result<(S::Value, Self::Variant), A::Error> {
        let (tag, content) = self.0.variant_seed(PlainSeed(seed))?;
        Ok((tag, Variant(content)))
    }
}

impl<'de, A: VariantAccess<'de>> VariantAccess<'de> for Variant<A> {
    type Error = A::Error;

    fn unit_variant(self) -> Result<(), A::Error> {
        self.0.unit_variant()
    }

    fn newtype_variant_seed<S: DeserializeSeed<'de>>(self, seed: S) -> Result<S::Value, A::Error> {
        self.0.newtype_variant_seed(PlainSeed(seed))
    }

    fn tuple_variant<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, A::Error> {
        self.0.tuple_variant(len, Unescape(visitor))
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, A::Error> {
        self.0.struct_variant(fields, Unescape(visitor))
    }
}
