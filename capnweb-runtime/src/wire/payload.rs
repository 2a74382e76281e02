//! [`WireText`] and [`Payload`]: plain data kept in its wire form, and what the runtime carries
//! where a value may be either a tree or such text.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::text_ser::to_wire_text;
use crate::error::RpcError;
use crate::value::Value;

/// Plain data (no capabilities, promises or special values) already written in Cap'n Web's wire
/// form: an object, or an escaped array `[[...]]`.
///
/// The typed layer serializes structured arguments and results straight into this form, so
/// they reach the wire without a [`Value`] tree in between, and large plain values received
/// from the peer stay in it until a typed receiver reads them. Only the runtime makes one, and
/// it is always valid wire text; application code never sees it (it gets a [`Value`]).
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct WireText(String);

impl WireText {
    /// The wire text.
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }

    /// Received text that [`is_plain_data`](crate::wire) accepted, kept as it came.
    pub(crate) fn received(text: &str) -> WireText {
        WireText(text.trim().to_owned())
    }

    /// The same data as a [`Value`] tree.
    pub(crate) fn expand(&self) -> Value {
        // The text came from our own serializer or passed the plain-data scan, so it always
        // parses; should it not, the value reads as `undefined` rather than taking the process
        // down.
        super::deserialize(&self.0).unwrap_or_else(|e| {
            tracing::error!("capnweb: a wire-form value did not parse back: {e}");
            Value::Undefined
        })
    }

    /// Reads `T` from the text: straight with serde_json when the direct reader can
    /// (`text_de`), otherwise from the expanded tree, so success, values and error texts are
    /// those of [`from_value`](crate::value::from_value) on the tree.
    pub(crate) fn read<T: DeserializeOwned>(&self) -> Result<T, RpcError> {
        match super::text_de::from_wire_text(&self.0) {
            Some(direct) => Ok(direct),
            None => crate::value::from_value(self.expand()),
        }
    }
}

impl std::fmt::Debug for WireText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "WireText({})", self.0)
    }
}

/// A value where the runtime may carry it as text: one argument of a call, a method's result,
/// a received message's expression, a settled promise. Text is only ever a whole value at one
/// of these places, never nested inside a tree, so everything that looks inside a value (a
/// property path, promise substitution, application code) takes the tree ([`into_value`]).
///
/// [`into_value`]: Payload::into_value
#[derive(Clone, Debug)]
pub(crate) enum Payload {
    /// A tree.
    Tree(Value),
    /// Plain data in wire form.
    Text(WireText),
}

impl Payload {
    /// The value as a tree (text is expanded).
    pub(crate) fn into_value(self) -> Value {
        match self {
            Payload::Tree(value) => value,
            Payload::Text(text) => text.expand(),
        }
    }

    /// A tree copy of the value.
    pub(crate) fn to_value(&self) -> Value {
        match self {
            Payload::Tree(value) => value.clone(),
            Payload::Text(text) => text.expand(),
        }
    }

    /// True if a promise must be awaited before the value is complete (text holds none).
    pub(crate) fn contains_promise(&self) -> bool {
        match self {
            Payload::Tree(value) => value.contains_promise(),
            Payload::Text(_) => false,
        }
    }
}

/// A borrowed [`Payload`], for encoding a value where it lies.
#[derive(Clone, Copy, Debug)]
pub(crate) enum PayloadRef<'a> {
    /// A tree.
    Tree(&'a Value),
    /// Plain data in wire form.
    Text(&'a WireText),
}

impl Payload {
    /// The value, borrowed.
    pub(crate) fn as_ref(&self) -> PayloadRef<'_> {
        match self {
            Payload::Tree(value) => PayloadRef::Tree(value),
            Payload::Text(text) => PayloadRef::Text(text),
        }
    }
}

impl From<Value> for Payload {
    fn from(value: Value) -> Self {
        Payload::Tree(value)
    }
}

/// `value` as the typed layer sends it: structured data straight in wire form when it is plain,
/// otherwise (capabilities, special values, scalars, ...) a tree from [`to_value`](crate::value::to_value).
pub(crate) fn to_payload<T: Serialize + ?Sized>(value: &T) -> Result<Payload, RpcError> {
    match to_wire_text(value) {
        Some(text) => Ok(Payload::Text(WireText(text))),
        None => crate::value::to_value(value).map(Payload::Tree),
    }
}
