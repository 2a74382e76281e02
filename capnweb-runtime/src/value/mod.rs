//! Application values as Cap'n Web carries them: JSON plus the special values of
//! protocol.md section 5.3 and capability references.
//!
//! [`Value`] is the schema-free representation that the dynamic API hands to and takes from the
//! application. Typed code converts to and from it through serde ([`to_value`], [`from_value`]).

mod bigint;
mod de;
mod de_access;
mod ser;
mod serde_impls;
mod serde_special;
#[cfg(test)]
mod serde_tests;
#[cfg(test)]
pub(crate) mod test_fixtures;
mod types;

pub use de::from_value;
pub(crate) use de::visit_number;
pub use ser::to_value;
pub(crate) use ser::{MapKeySerializer, is_safe_integer};
pub(crate) use serde_impls::{is_magic, take_slot};
pub use types::{
    BigInt, Blob, Bytes, BytesKind, Date, JsError, RequestValue, ResponseValue, Undefined,
};

/// The largest integer a JavaScript number holds exactly (`Number.MAX_SAFE_INTEGER`).
pub(crate) const MAX_SAFE_INTEGER: f64 = 9007199254740991.0;
use crate::stub::{Promise, Stub};

/// A JSON object with the key order preserved (JS objects keep insertion order).
pub type Object = indexmap::IndexMap<String, Value>;

/// One element of a property path: a property name or an array index.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum PropertyKey {
    /// A property (or method) name.
    Name(String),
    /// An array index.
    Index(u64),
}

/// Any value that can travel over Cap'n Web. New kinds of JavaScript values may be added (as
/// the stream and `Blob` kinds were), so a `match` needs a catch-all arm.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub enum Value {
    /// JavaScript `undefined`.
    #[default]
    Undefined,
    /// JSON `null`.
    Null,
    /// A boolean.
    Bool(bool),
    /// A JavaScript number (a double; NaN and the infinities travel as special forms).
    Number(f64),
    /// A JavaScript bigint.
    BigInt(BigInt),
    /// A string.
    String(String),
    /// An array.
    Array(Vec<Value>),
    /// A plain object.
    Object(Object),
    /// A JavaScript `Date` (possibly invalid).
    Date(Date),
    /// A byte buffer (`Uint8Array` or another typed array / `ArrayBuffer`).
    Bytes(Bytes),
    /// An `Error` object sent as a value.
    Error(Box<JsError>),
    /// A `URL`.
    Url(String),
    /// A `Headers` object as its (name, value) pairs.
    Headers(Vec<(String, String)>),
    /// A Fetch API `Request`.
    Request(Box<RequestValue>),
    /// A Fetch API `Response`.
    Response(Box<ResponseValue>),
    /// A capability: a reference to an object that may live on either side.
    Stub(Stub),
    /// A promise that is replaced by its resolution before the value reaches the application.
    Promise(Promise),
    /// A `ReadableStream`: chunks the peer sends us, or that we send it.
    ReadableStream(crate::stream::ReadableStream),
    /// A `WritableStream`: chunks we write to the peer, or that it writes to us.
    WritableStream(crate::stream::WritableStream),
    /// A `Blob`.
    Blob(Blob),
}

impl Value {
    /// The JavaScript type name of this value, for error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Undefined => "undefined",
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Number(_) => "number",
            Value::BigInt(_) => "bigint",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
            Value::Date(_) => "Date",
            Value::Bytes(_) => "bytes",
            Value::Error(_) => "Error",
            Value::Url(_) => "URL",
            Value::Headers(_) => "Headers",
            Value::Request(_) => "Request",
            Value::Response(_) => "Response",
            Value::Stub(_) => "stub",
            Value::Promise(_) => "promise",
            Value::ReadableStream(_) => "ReadableStream",
            Value::WritableStream(_) => "WritableStream",
            Value::Blob(_) => "Blob",
        }
    }

    /// The text of a [`Value::String`]; `None` for any other value.
    ///
    /// ```
    /// use capnweb_runtime::Value;
    ///
    /// assert_eq!(Value::String("NOT_FOUND".into()).as_str(), Some("NOT_FOUND"));
    /// assert_eq!(Value::Number(404.0).as_str(), None);
    /// ```
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(text) => Some(text),
            _ => None,
        }
    }

    /// The number of a [`Value::Number`]; `None` for any other value.
    ///
    /// ```
    /// use capnweb_runtime::Value;
    ///
    /// assert_eq!(Value::Number(404.0).as_f64(), Some(404.0));
    /// assert_eq!(Value::String("404".into()).as_f64(), None);
    /// ```
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Number(n) => Some(*n),
            _ => None,
        }
    }

    /// True if this value or anything inside it is a [`Value::Promise`].
    pub fn contains_promise(&self) -> bool {
        match self {
            Value::Promise(_) => true,
            Value::Array(items) => items.iter().any(Value::contains_promise),
            Value::Object(map) => map.values().any(Value::contains_promise),
            Value::Request(req) => req.init.values().any(Value::contains_promise),
            Value::Response(resp) => {
                resp.body.contains_promise() || resp.init.values().any(Value::contains_promise)
            }
            _ => false,
        }
    }
}

impl PartialEq for Value {
    /// Structural equality for data; stubs and promises compare by identity of what they refer to.
    fn eq(&self, other: &Self) -> bool {
        use Value::*;
        match (self, other) {
            (Undefined, Undefined) | (Null, Null) => true,
            (Bool(a), Bool(b)) => a == b,
            (Number(a), Number(b)) => a == b || (a.is_nan() && b.is_nan()),
            (BigInt(a), BigInt(b)) => a == b,
            (String(a), String(b)) | (Url(a), Url(b)) => a == b,
            (Array(a), Array(b)) => a == b,
            (Object(a), Object(b)) => {
                a.len() == b.len() && a.iter().zip(b.iter()).all(|(x, y)| x == y)
            }
            (Date(a), Date(b)) => a == b,
            (Bytes(a), Bytes(b)) => a == b,
            (Error(a), Error(b)) => a == b,
            (Headers(a), Headers(b)) => a == b,
            (Request(a), Request(b)) => a == b,
            (Response(a), Response(b)) => a == b,
            (Stub(a), Stub(b)) => a.same_target(b),
            (Promise(a), Promise(b)) => a.same_target(b),
            (ReadableStream(a), ReadableStream(b)) => a.same_stream(b),
            (WritableStream(a), WritableStream(b)) => a.same_stream(b),
            (Blob(a), Blob(b)) => a == b,
            _ => false,
        }
    }
}

macro_rules! value_from {
    ($($t:ty => $variant:ident),* $(,)?) => {$(
        impl From<$t> for Value {
            fn from(v: $t) -> Self { Value::$variant(v.into()) }
        }
    )*};
}
value_from!(bool => Bool, f64 => Number, f32 => Number, i32 => Number, u32 => Number,
    String => String, &str => String, Vec<Value> => Array, Object => Object, BigInt => BigInt,
    Date => Date, Bytes => Bytes, Stub => Stub, Promise => Promise);

impl From<JsError> for Value {
    fn from(e: JsError) -> Self {
        Value::Error(Box::new(e))
    }
}
