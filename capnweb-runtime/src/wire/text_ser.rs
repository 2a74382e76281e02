//! Serializing a user type straight to Cap'n Web wire text, without building a [`Value`] tree.
//!
//! The output is exactly what [`to_value`](crate::value::to_value) followed by the wire encoder
//! writes: the same number and string formatting, arrays escaped as `[[...]]`, `()` as
//! `["undefined"]`, enums externally tagged. Whatever needs more than that gives up ([`Bail`])
//! and the caller takes the tree path, which then decides (and reports errors) as before:
//! capabilities and the special types (their serializers use magic newtype names), byte
//! strings, integers a JS number cannot hold, `__proto__` keys (left out by the encoder), keys
//! that start with a digit (JS enumerates array-index keys first, so the order could change),
//! nesting near the depth limit, and any error of the type's own `Serialize`. Scalars give up
//! too: as a tree they cost nothing, and the typed layer wants this for structured data.

use serde::ser::{self, Serialize};

use super::encode::{MAX_DEPTH, write_number_expr};
use crate::value::{MapKeySerializer, is_safe_integer};
use crate::value::{is_magic, take_slot};

/// The depth direct serialization stays below: one level under the encoder's limit, because a
/// call's arguments sit one level inside the message.
const LIMIT: usize = MAX_DEPTH - 1;
use super::json::{write_number, write_string};

/// `value` as wire text, or `None` where the tree path must decide (see the module docs).
pub(crate) fn to_wire_text<T: Serialize + ?Sized>(value: &T) -> Option<String> {
    let mut out = String::new();
    value
        .serialize(WireSerializer {
            out: &mut out,
            depth: 0,
        })
        .ok()?;
    Some(out)
}

/// Why direct serialization gave up; the tree path takes over.
#[derive(Debug)]
pub(crate) struct Bail;

impl std::fmt::Display for Bail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("needs the value tree")
    }
}

impl std::error::Error for Bail {}

impl ser::Error for Bail {
    fn custom<T: std::fmt::Display>(_: T) -> Self {
        Bail
    }
}

/// Gives up on a special value or a capability (a magic newtype), clearing what its serializer
/// stashed for the tree path, which will stash it again.
fn refuse_special(name: &str) -> Result<(), Bail> {
    if is_magic(name) {
        let _ = take_slot();
        return Err(Bail);
    }
    Ok(())
}

/// Writes one value at `depth` (the top level is 0, as in the encoder).
struct WireSerializer<'a> {
    out: &'a mut String,
    depth: usize,
}

impl<'a> WireSerializer<'a> {
    /// Scalars are written only inside structured data.
    fn scalar(self, write: impl FnOnce(&mut String)) -> Result<(), Bail> {
        if self.depth == 0 {
            return Err(Bail);
        }
        write(self.out);
        Ok(())
    }

    fn int(self, v: i128) -> Result<(), Bail> {
        if !is_safe_integer(v) {
            return Err(Bail);
        }
        self.scalar(|out| write_number(v as f64, out))
    }

    /// `{"<variant>":` before a variant's content.
    fn open_variant(self, variant: &str) -> Result<Compound<'a>, Bail> {
        let mut object = self.open_object()?;
        object.key(variant)?;
        Ok(object)
    }

    /// `{"<variant>":` and then `opener` (`[[` or `{`) of the variant's content, which sits one
    /// level inside the object.
    fn open_variant_content(self, variant: &str, opener: &str) -> Result<Compound<'a>, Bail> {
        let depth = self.depth;
        if depth + 2 >= LIMIT {
            return Err(Bail);
        }
        let object = self.open_variant(variant)?;
        object.out.push_str(opener);
        Ok(Compound {
            out: object.out,
            depth: depth + 1,
            first: true,
        })
    }

    fn open_object(self) -> Result<Compound<'a>, Bail> {
        if self.depth + 1 >= LIMIT {
            return Err(Bail);
        }
        self.out.push('{');
        Ok(Compound {
            out: self.out,
            depth: self.depth,
            first: true,
        })
    }

    fn open_array(self) -> Result<Compound<'a>, Bail> {
        if self.depth + 1 >= LIMIT {
            return Err(Bail);
        }
        self.out.push_str("[[");
        Ok(Compound {
            out: self.out,
            depth: self.depth,
            first: true,
        })
    }
}

/// An array or object being written.
struct Compound<'a> {
    out: &'a mut String,
    depth: usize,
    first: bool,
}

impl Compound<'_> {
    fn separator(&mut self) {
        if !std::mem::take(&mut self.first) {
            self.out.push(',');
        }
    }

    /// Writes a member's key. Keys the encoder treats specially give up: `__proto__` (left
    /// out) and keys starting with a digit (possibly reordered).
    fn key(&mut self, key: &str) -> Result<(), Bail> {
        if key == "__proto__" || key.as_bytes().first().is_some_and(u8::is_ascii_digit) {
            return Err(Bail);
        }
        self.separator();
        write_string(key, self.out);
        self.out.push(':');
        Ok(())
    }

    fn value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Bail> {
        value.serialize(WireSerializer {
            out: self.out,
            depth: self.depth + 1,
        })
    }

    fn element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Bail> {
        self.separator();
        value.serialize(WireSerializer {
            out: self.out,
            depth: self.depth + 1,
        })
    }

    fn close_object(self) -> Result<(), Bail> {
        self.out.push('}');
        Ok(())
    }
}

impl<'a> ser::Serializer for WireSerializer<'a> {
    type Ok = ();
    type Error = Bail;
    type SerializeSeq = Compound<'a>;
    type SerializeTuple = Compound<'a>;
    type SerializeTupleStruct = Compound<'a>;
    type SerializeTupleVariant = Compound<'a>;
    type SerializeMap = Compound<'a>;
    type SerializeStruct = Compound<'a>;
    type SerializeStructVariant = Compound<'a>;

    fn serialize_bool(self, v: bool) -> Result<(), Bail> {
        self.scalar(|out| out.push_str(if v { "true" } else { "false" }))
    }
    fn serialize_i8(self, v: i8) -> Result<(), Bail> {
        self.int(v.into())
    }
    fn serialize_i16(self, v: i16) -> Result<(), Bail> {
        self.int(v.into())
    }
    fn serialize_i32(self, v: i32) -> Result<(), Bail> {
        self.int(v.into())
    }
    fn serialize_i64(self, v: i64) -> Result<(), Bail> {
        self.int(v.into())
    }
    fn serialize_i128(self, v: i128) -> Result<(), Bail> {
        self.int(v)
    }
    fn serialize_u8(self, v: u8) -> Result<(), Bail> {
        self.int(v.into())
    }
    fn serialize_u16(self, v: u16) -> Result<(), Bail> {
        self.int(v.into())
    }
    fn serialize_u32(self, v: u32) -> Result<(), Bail> {
        self.int(v.into())
    }
    fn serialize_u64(self, v: u64) -> Result<(), Bail> {
        self.int(v.into())
    }
    fn serialize_u128(self, v: u128) -> Result<(), Bail> {
        self.int(i128::try_from(v).map_err(|_| Bail)?)
    }
    fn serialize_f32(self, v: f32) -> Result<(), Bail> {
        self.serialize_f64(v.into())
    }
    fn serialize_f64(self, v: f64) -> Result<(), Bail> {
        self.scalar(|out| write_number_expr(v, out))
    }
    fn serialize_char(self, v: char) -> Result<(), Bail> {
        self.scalar(|out| write_string(v.encode_utf8(&mut [0; 4]), out))
    }
    fn serialize_str(self, v: &str) -> Result<(), Bail> {
        self.scalar(|out| write_string(v, out))
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<(), Bail> {
        Err(Bail)
    }
    fn serialize_none(self) -> Result<(), Bail> {
        self.scalar(|out| out.push_str("null"))
    }
    fn serialize_some<T: ?Sized + Serialize>(self, value: &T) -> Result<(), Bail> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), Bail> {
        self.scalar(|out| out.push_str(r#"["undefined"]"#))
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), Bail> {
        self.serialize_unit()
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<(), Bail> {
        self.serialize_str(variant)
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        name: &'static str,
        value: &T,
    ) -> Result<(), Bail> {
        refuse_special(name)?;
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), Bail> {
        let mut object = self.open_variant(variant)?;
        object.value(value)?;
        object.close_object()
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Compound<'a>, Bail> {
        self.open_array()
    }
    fn serialize_tuple(self, _: usize) -> Result<Compound<'a>, Bail> {
        self.open_array()
    }
    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Compound<'a>, Bail> {
        self.open_array()
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Compound<'a>, Bail> {
        self.open_variant_content(variant, "[[")
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Compound<'a>, Bail> {
        self.open_object()
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Compound<'a>, Bail> {
        self.open_object()
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Compound<'a>, Bail> {
        self.open_variant_content(variant, "{")
    }
}

/// The sequence-like parts of `Compound`: each element is written in turn, then `close`
/// ends what was opened (`]]`; for a tuple variant also the object around it).
macro_rules! elements {
    ($($trait:ident :: $method:ident => $close:literal;)*) => {$(
        impl ser::$trait for Compound<'_> {
            type Ok = ();
            type Error = Bail;
            fn $method<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Bail> {
                self.element(value)
            }
            fn end(self) -> Result<(), Bail> {
                self.out.push_str($close);
                Ok(())
            }
        }
    )*};
}

elements! {
    SerializeSeq::serialize_element => "]]";
    SerializeTuple::serialize_element => "]]";
    SerializeTupleStruct::serialize_field => "]]";
    SerializeTupleVariant::serialize_field => "]]}";
}

impl ser::SerializeMap for Compound<'_> {
    type Ok = ();
    type Error = Bail;
    fn serialize_key<T: ?Sized + Serialize>(&mut self, key: &T) -> Result<(), Bail> {
        key.serialize(KeyWriter(self))
    }
    fn serialize_value<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Bail> {
        self.value(value)
    }
    fn end(self) -> Result<(), Bail> {
        self.close_object()
    }
}

/// The struct-like parts of `Compound`: named fields, then `close` (for a struct variant also
/// the object around it).
macro_rules! fields {
    ($($trait:ident => $close:literal;)*) => {$(
        impl ser::$trait for Compound<'_> {
            type Ok = ();
            type Error = Bail;
            fn serialize_field<T: ?Sized + Serialize>(
                &mut self,
                key: &'static str,
                value: &T,
            ) -> Result<(), Bail> {
                self.key(key)?;
                self.value(value)
            }
            fn end(self) -> Result<(), Bail> {
                self.out.push_str($close);
                Ok(())
            }
        }
    )*};
}

fields! {
    SerializeStruct => "}";
    SerializeStructVariant => "}}";
}

/// Writes a map key into its object: string keys without an intermediate `String`, other keys
/// (numbers, booleans, unit variants) as the tree path's `MapKeySerializer` names them.
struct KeyWriter<'c, 'a>(&'c mut Compound<'a>);

/// Key kinds the tree path turns into text: the same text here.
macro_rules! named_keys {
    ($($method:ident($ty:ty)),* $(,)?) => {$(
        fn $method(self, v: $ty) -> Result<(), Bail> {
            let name = MapKeySerializer.$method(v).map_err(|_| Bail)?;
            self.0.key(&name)
        }
    )*};
}

impl ser::Serializer for KeyWriter<'_, '_> {
    type Ok = ();
    type Error = Bail;
    type SerializeSeq = ser::Impossible<(), Bail>;
    type SerializeTuple = ser::Impossible<(), Bail>;
    type SerializeTupleStruct = ser::Impossible<(), Bail>;
    type SerializeTupleVariant = ser::Impossible<(), Bail>;
    type SerializeMap = ser::Impossible<(), Bail>;
    type SerializeStruct = ser::Impossible<(), Bail>;
    type SerializeStructVariant = ser::Impossible<(), Bail>;

    fn serialize_str(self, v: &str) -> Result<(), Bail> {
        self.0.key(v)
    }
    fn serialize_char(self, v: char) -> Result<(), Bail> {
        self.0.key(v.encode_utf8(&mut [0; 4]))
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<(), Bail> {
        self.0.key(variant)
    }
    named_keys! {
        serialize_bool(bool), serialize_i8(i8), serialize_i16(i16), serialize_i32(i32),
        serialize_i64(i64), serialize_i128(i128), serialize_u8(u8), serialize_u16(u16),
        serialize_u32(u32), serialize_u64(u64), serialize_u128(u128), serialize_f32(f32),
        serialize_f64(f64),
    }
    fn serialize_some<T: ?Sized + Serialize>(self, value: &T) -> Result<(), Bail> {
        value.serialize(self)
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        name: &'static str,
        value: &T,
    ) -> Result<(), Bail> {
        refuse_special(name)?;
        value.serialize(self)
    }
    // Nothing else names a key the tree path would accept as it is.
    fn serialize_bytes(self, _: &[u8]) -> Result<(), Bail> {
        Err(Bail)
    }
    fn serialize_none(self) -> Result<(), Bail> {
        Err(Bail)
    }
    fn serialize_unit(self) -> Result<(), Bail> {
        Err(Bail)
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), Bail> {
        Err(Bail)
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<(), Bail> {
        Err(Bail)
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, Bail> {
        Err(Bail)
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, Bail> {
        Err(Bail)
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, Bail> {
        Err(Bail)
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, Bail> {
        Err(Bail)
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, Bail> {
        Err(Bail)
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct, Bail> {
        Err(Bail)
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, Bail> {
        Err(Bail)
    }
}
