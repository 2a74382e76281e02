//! Rust types for the special values of protocol.md section 5.3.

use super::{Object, Value};

/// JavaScript `undefined` as a serde-friendly unit type.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Undefined;

/// A JavaScript bigint, kept as its canonical decimal text (optional `-`, no leading zeros).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct BigInt(pub(crate) String);

/// A JavaScript `Date`: milliseconds since the Unix epoch, or `None` for an invalid date.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Date(pub Option<f64>);

/// Which JavaScript buffer type a [`Bytes`] value travels as.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum BytesKind {
    /// `Uint8Array` (or a Node `Buffer`): the form with no type marker.
    #[default]
    Uint8Array,
    /// `ArrayBuffer`.
    ArrayBuffer,
    /// `DataView`.
    DataView,
    /// `Int8Array`.
    Int8Array,
    /// `Uint8ClampedArray`.
    Uint8ClampedArray,
    /// `Int16Array` (little-endian elements).
    Int16Array,
    /// `Uint16Array`.
    Uint16Array,
    /// `Int32Array`.
    Int32Array,
    /// `Uint32Array`.
    Uint32Array,
    /// `BigInt64Array`.
    BigInt64Array,
    /// `BigUint64Array`.
    BigUint64Array,
    /// `Float32Array`.
    Float32Array,
    /// `Float64Array`.
    Float64Array,
}

/// A byte buffer and the JavaScript type it travels as.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Bytes {
    /// The raw bytes (little-endian elements for the wider typed arrays).
    pub data: Vec<u8>,
    /// The JavaScript type.
    pub kind: BytesKind,
}

/// A JavaScript `Error` as data: what `["error", name, message, stack, props]` carries.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct JsError {
    /// The error's `name` (free text, e.g. `"TypeError"` or `"NotFoundError"`).
    pub name: String,
    /// The error's `message`.
    pub message: String,
    /// The stack, when the sender chose to include one.
    pub stack: Option<String>,
    /// Extra own properties (`code`, `cause`, ...).
    pub props: Object,
}

/// A Fetch API `Request`: its URL and the non-default settings of its `init`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RequestValue {
    /// The request URL.
    pub url: String,
    /// `init` members; `headers` holds a [`Value::Headers`], `body` the body value.
    pub init: Object,
}

/// A Fetch API `Response`: its body and the non-default settings of its `init`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ResponseValue {
    /// The body (null, a string or bytes).
    pub body: Value,
    /// `init` members (`status`, `statusText`, `headers` as a [`Value::Headers`]).
    pub init: Object,
}
