//! serde `Deserializer` that reads a [`Value`](super::Value).

use super::Value;
use crate::error::RpcError;

/// Converts a [`Value`] into any serde-deserializable type.
pub fn from_value<T: serde::de::DeserializeOwned>(_value: Value) -> Result<T, RpcError> {
    todo!("codec helper")
}
