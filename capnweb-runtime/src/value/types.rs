//! Rust types for the special values of protocol.md section 5.3.

use super::{Object, Value};
use crate::error::RpcError;

/// JavaScript `undefined` as a serde-friendly unit type.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Undefined;

/// A JavaScript bigint, kept as its canonical decimal text (optional `-`, no leading zeros).
///
/// Build one from any Rust integer (`BigInt::from(5u64)`) or parse text with JavaScript
/// `BigInt()` rules (`"0x10".parse::<BigInt>()`).
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

/// A JavaScript `Blob`: a MIME type and bytes. It travels as a stream (`["blob", type,
/// ["readable", id]]`), so it needs a session (not an HTTP batch); a received one is read
/// whole before the call or result that holds it is delivered, as capnweb does.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Blob {
    /// The MIME type (`Blob.type`), possibly empty.
    pub content_type: String,
    /// The content.
    pub bytes: Vec<u8>,
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

// ---------------------------------------------------------------------------------------------
// BigInt

impl BigInt {
    /// The canonical decimal text (`"-42"`, `"0"`, `"12345678901234567890"`).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True for values below zero.
    pub fn is_negative(&self) -> bool {
        self.0.starts_with('-')
    }

    /// The nearest `f64` (what JavaScript's `Number(big)` gives).
    pub fn to_f64(&self) -> f64 {
        // Rust's float parser rounds long decimal strings correctly, like JS does.
        self.0.parse::<f64>().unwrap_or(f64::NAN)
    }

    /// The value as an `i128`, if it fits.
    pub fn to_i128(&self) -> Option<i128> {
        self.0.parse().ok()
    }

    /// The value as a `u128`, if it fits.
    pub fn to_u128(&self) -> Option<u128> {
        self.0.parse().ok()
    }
}

impl std::str::FromStr for BigInt {
    type Err = RpcError;

    /// Parses text the way JavaScript `BigInt(text)` does: surrounding whitespace is ignored, the
    /// empty string is zero, decimal digits may have a sign, and `0x`/`0o`/`0b` prefixes select
    /// another radix. Anything else is a `SyntaxError` ("Cannot convert 12abc to a BigInt").
    fn from_str(text: &str) -> Result<Self, RpcError> {
        super::bigint::parse_js(text).map(BigInt).ok_or_else(|| {
            RpcError::protocol_as("SyntaxError", format!("Cannot convert {text} to a BigInt"))
        })
    }
}

impl std::fmt::Display for BigInt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

macro_rules! bigint_from_int {
    ($($t:ty),*) => {$(
        impl From<$t> for BigInt {
            fn from(v: $t) -> Self { BigInt(v.to_string()) }
        }
    )*};
}
bigint_from_int!(
    i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, u128, usize
);

macro_rules! int_try_from_bigint {
    ($($t:ty),*) => {$(
        impl TryFrom<&BigInt> for $t {
            type Error = RpcError;
            fn try_from(v: &BigInt) -> Result<Self, RpcError> {
                v.0.parse::<$t>().map_err(|_| {
                    RpcError::Serialization(format!(
                        "bigint {} does not fit in {}", v.0, stringify!($t)
                    ))
                })
            }
        }
    )*};
}
int_try_from_bigint!(
    i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, u128, usize
);

// ---------------------------------------------------------------------------------------------
// Date

/// The largest time value a JavaScript `Date` can hold (100,000,000 days), in milliseconds.
const MAX_TIME_MS: f64 = 8.64e15;

impl Date {
    /// A date at `ms` milliseconds since the epoch, normalised like JavaScript's `new Date(ms)`:
    /// the fraction is truncated, and values that are not finite or lie beyond ±8.64e15 make an
    /// invalid date.
    pub fn from_millis(ms: f64) -> Date {
        Date(time_clip(ms))
    }

    /// An invalid date (`new Date(NaN)`), which travels as `["date", null]`.
    pub fn invalid() -> Date {
        Date(None)
    }

    /// Milliseconds since the epoch after JavaScript's normalisation, or `None` when invalid.
    pub fn millis(&self) -> Option<f64> {
        self.0.and_then(time_clip)
    }

    /// The current time.
    pub fn now() -> Date {
        Date::from(std::time::SystemTime::now())
    }
}

/// ECMAScript TimeClip: what `new Date(number)` does to its argument.
pub(crate) fn time_clip(ms: f64) -> Option<f64> {
    if !ms.is_finite() || ms.abs() > MAX_TIME_MS {
        return None;
    }
    // `+ 0.0` turns -0 into +0, as TimeClip does.
    Some(ms.trunc() + 0.0)
}

impl From<std::time::SystemTime> for Date {
    fn from(t: std::time::SystemTime) -> Self {
        let ms = match t.duration_since(std::time::UNIX_EPOCH) {
            Ok(d) => d.as_secs_f64() * 1000.0,
            Err(e) => -(e.duration().as_secs_f64() * 1000.0),
        };
        Date::from_millis(ms)
    }
}

// ---------------------------------------------------------------------------------------------
// Bytes

impl BytesKind {
    /// Every kind, in the order capnweb lists them.
    pub const ALL: [BytesKind; 13] = [
        BytesKind::ArrayBuffer,
        BytesKind::DataView,
        BytesKind::Int8Array,
        BytesKind::Uint8Array,
        BytesKind::Uint8ClampedArray,
        BytesKind::Int16Array,
        BytesKind::Uint16Array,
        BytesKind::Int32Array,
        BytesKind::Uint32Array,
        BytesKind::BigInt64Array,
        BytesKind::BigUint64Array,
        BytesKind::Float32Array,
        BytesKind::Float64Array,
    ];

    /// The JavaScript class name, as used for the wire's type marker.
    pub fn name(self) -> &'static str {
        match self {
            BytesKind::Uint8Array => "Uint8Array",
            BytesKind::ArrayBuffer => "ArrayBuffer",
            BytesKind::DataView => "DataView",
            BytesKind::Int8Array => "Int8Array",
            BytesKind::Uint8ClampedArray => "Uint8ClampedArray",
            BytesKind::Int16Array => "Int16Array",
            BytesKind::Uint16Array => "Uint16Array",
            BytesKind::Int32Array => "Int32Array",
            BytesKind::Uint32Array => "Uint32Array",
            BytesKind::BigInt64Array => "BigInt64Array",
            BytesKind::BigUint64Array => "BigUint64Array",
            BytesKind::Float32Array => "Float32Array",
            BytesKind::Float64Array => "Float64Array",
        }
    }

    /// The kind for a JavaScript class name (exact spelling), if it is one of the byte containers.
    pub fn from_name(name: &str) -> Option<BytesKind> {
        BytesKind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// The element size in bytes; the data length must be a multiple of it.
    pub fn element_size(self) -> usize {
        match self {
            BytesKind::Int16Array | BytesKind::Uint16Array => 2,
            BytesKind::Int32Array | BytesKind::Uint32Array | BytesKind::Float32Array => 4,
            BytesKind::BigInt64Array | BytesKind::BigUint64Array | BytesKind::Float64Array => 8,
            _ => 1,
        }
    }
}

impl Bytes {
    /// A `Uint8Array` holding `data`.
    pub fn new(data: impl Into<Vec<u8>>) -> Bytes {
        Bytes {
            data: data.into(),
            kind: BytesKind::Uint8Array,
        }
    }

    /// A buffer of another JavaScript type (elements little-endian).
    pub fn with_kind(data: impl Into<Vec<u8>>, kind: BytesKind) -> Bytes {
        Bytes {
            data: data.into(),
            kind,
        }
    }
}

impl From<Vec<u8>> for Bytes {
    fn from(data: Vec<u8>) -> Self {
        Bytes::new(data)
    }
}

impl From<&[u8]> for Bytes {
    fn from(data: &[u8]) -> Self {
        Bytes::new(data)
    }
}

// ---------------------------------------------------------------------------------------------
// JsError, Request, Response

impl JsError {
    /// An error with a class name and message, no stack and no extra properties.
    pub fn new(name: impl Into<String>, message: impl Into<String>) -> JsError {
        JsError {
            name: name.into(),
            message: message.into(),
            ..JsError::default()
        }
    }

    /// Sets the stack text.
    pub fn with_stack(mut self, stack: impl Into<String>) -> JsError {
        self.stack = Some(stack.into());
        self
    }

    /// Adds an own property (such as `code` or `cause`).
    pub fn with_prop(mut self, key: impl Into<String>, value: impl Into<Value>) -> JsError {
        self.props.insert(key.into(), value.into());
        self
    }
}

impl RequestValue {
    /// A `GET` request for `url` with default settings.
    pub fn new(url: impl Into<String>) -> RequestValue {
        RequestValue {
            url: url.into(),
            init: Object::new(),
        }
    }
}

impl ResponseValue {
    /// A `200` response with `body` (null, a string or bytes).
    pub fn new(body: impl Into<Value>) -> ResponseValue {
        ResponseValue {
            body: body.into(),
            init: Object::new(),
        }
    }

    /// The HTTP status (`init.status`, 200 when absent).
    pub fn status(&self) -> u16 {
        match self.init.get("status") {
            Some(Value::Number(n)) if (0.0..=999.0).contains(n) => *n as u16,
            _ => 200,
        }
    }
}

impl From<Undefined> for Value {
    fn from(_: Undefined) -> Self {
        Value::Undefined
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bigint_parse_follows_js() {
        let ok = |s: &str| s.parse::<BigInt>().map(|b| b.0).ok();
        assert_eq!(ok("42").as_deref(), Some("42"));
        assert_eq!(ok(" 0x1F ").as_deref(), Some("31"));
        assert_eq!(ok("").as_deref(), Some("0"));
        assert_eq!(ok("+7").as_deref(), Some("7"));
        assert_eq!(ok("-000").as_deref(), Some("0"));
        assert_eq!(ok("00012").as_deref(), Some("12"));
        assert_eq!(ok("\u{a0} 12\n").as_deref(), Some("12"));
        assert_eq!(ok("0o17").as_deref(), Some("15"));
        assert_eq!(ok("0B101").as_deref(), Some("5"));
        for bad in [
            "-0x1", "-", "1_0", "0b", "12abc", "1.5", "1n", "0x", "\u{85}1",
        ] {
            assert!(ok(bad).is_none(), "{bad:?} should be refused");
        }
        let err = "12abc".parse::<BigInt>().unwrap_err();
        assert_eq!(err.name(), "SyntaxError");
        assert_eq!(err.message(), "Cannot convert 12abc to a BigInt");
    }

    #[test]
    fn bigint_conversions() {
        let b = BigInt::from(-9007199254740993i64);
        assert_eq!(b.as_str(), "-9007199254740993");
        assert!(b.is_negative());
        assert_eq!(i64::try_from(&b).unwrap(), -9007199254740993);
        assert!(u64::try_from(&b).is_err());
        assert_eq!(BigInt::from(u128::MAX).to_u128(), Some(u128::MAX));
        assert_eq!(BigInt::from(7u8).to_f64(), 7.0);
    }

    #[test]
    fn date_clips_like_js() {
        assert_eq!(Date::from_millis(1.7).0, Some(1.0));
        assert_eq!(Date::from_millis(-1.7).0, Some(-1.0));
        assert_eq!(Date::from_millis(8.64e15).0, Some(8.64e15));
        assert_eq!(Date::from_millis(8.64e15 + 1.0).0, None);
        assert_eq!(Date::from_millis(f64::NAN).0, None);
        assert!(Date::from_millis(-0.0).0.unwrap().is_sign_positive());
        assert!(Date::now().millis().is_some());
    }

    #[test]
    fn bytes_kinds() {
        for k in BytesKind::ALL {
            assert_eq!(BytesKind::from_name(k.name()), Some(k));
        }
        assert_eq!(BytesKind::from_name("Foo"), None);
        assert_eq!(BytesKind::Float64Array.element_size(), 8);
        assert_eq!(BytesKind::DataView.element_size(), 1);
    }
}
