//! serde `Serializer` that produces a [`Value`](super::Value).

use super::Value;
use crate::error::RpcError;

/// Converts any serde-serializable value into a [`Value`].
pub fn to_value<T: serde::Serialize + ?Sized>(_value: &T) -> Result<Value, RpcError> {
    todo!("codec helper")
}
