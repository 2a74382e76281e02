//! [`WireText`]: plain data kept in its wire form, and the typed layer's way of making it.

use serde::Serialize;

use super::Value;
use super::wire_ser::to_wire_text;
use crate::error::RpcError;

/// Plain data (no capabilities, promises or special values) already written in Cap'n Web's wire
/// form, as [`Value::Wire`] carries it.
///
/// The typed layer serializes structured arguments and results straight into this form, so
/// they reach the wire without a [`Value`] tree in between, and large plain values received
/// from the peer stay in it until a typed receiver reads them. Only the runtime makes one; it
/// is always valid wire text.
#[derive(Clone, PartialEq, Eq)]
pub struct WireText(String);

impl WireText {
    /// The wire text (an object, or an escaped array `[[...]]`).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Received text that [`is_plain_data`](crate::wire) accepted, kept as it came.
    pub(crate) fn received(text: &str) -> WireText {
        WireText(text.trim().to_owned())
    }

    /// The same data as a [`Value`] tree.
    pub fn expand(&self) -> Value {
        // The text came from our own serializer or passed the plain-data scan, so it always
        // parses; should it not, the value reads as `undefined` rather than taking the process
        // down.
        crate::wire::deserialize(&self.0).unwrap_or_else(|e| {
            tracing::error!("capnweb: a wire-form value did not parse back: {e}");
            Value::Undefined
        })
    }
}

impl std::fmt::Debug for WireText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "WireText({})", self.0)
    }
}

/// `value` as the typed layer sends it: structured data straight in wire form when it is plain,
/// otherwise (capabilities, special values, scalars, ...) a tree from [`to_value`](super::to_value).
pub(crate) fn to_value_for_wire<T: Serialize + ?Sized>(value: &T) -> Result<Value, RpcError> {
    match to_wire_text(value) {
        Some(text) => Ok(Value::Wire(WireText(text))),
        None => super::to_value(value),
    }
}

impl Value {
    /// This value with a [`Value::Wire`] expanded into a tree (other values as they are).
    pub fn expanded(self) -> Value {
        match self {
            Value::Wire(text) => text.expand(),
            other => other,
        }
    }
}
