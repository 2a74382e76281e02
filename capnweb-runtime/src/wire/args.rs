//! [`Args`]: the argument list a target receives.

use serde::de::DeserializeOwned;

use super::payload::Payload;
use crate::error::RpcError;
use crate::value::Value;

/// The arguments of a call, as an [`RpcTarget`](crate::RpcTarget) receives them.
///
/// Read one argument into a Rust type with [`get`](Args::get), or as a [`Value`] with
/// [`value`](Args::value); take them all as values with [`into_values`](Args::into_values).
/// A missing argument reads as `undefined`, as in JavaScript. Large plain-data arguments may
/// arrive still in their wire form; `get` then parses the text straight into the type, which
/// is why the list is opaque rather than a `Vec<Value>`.
///
/// ```
/// use std::sync::Arc;
/// use capnweb_runtime::{Args, CallFuture, RpcError, RpcTarget, Value};
///
/// struct Calculator;
///
/// impl RpcTarget for Calculator {
///     fn call(self: Arc<Self>, method: &str, args: Args) -> CallFuture {
///         let result = match method {
///             "add" => (|| Ok(Value::from(args.get::<f64>(0)? + args.get::<f64>(1)?)))(),
///             "count" => Ok(Value::from(args.len() as u32)),
///             _ => Err(RpcError::no_such_method(method)),
///         };
///         Box::pin(std::future::ready(result))
///     }
/// }
///
/// let args = Args::from(vec![Value::from(2), Value::from(3)]);
/// assert_eq!(args.len(), 2);
/// assert_eq!(args.get::<u32>(1).unwrap(), 3);
/// assert_eq!(args.value(2), Value::Undefined);
/// assert!(args.get::<String>(0).is_err());
/// ```
#[derive(Clone, Debug, Default)]
pub struct Args {
    items: Vec<Payload>,
}

impl Args {
    /// An empty argument list.
    pub fn new() -> Self {
        Args::default()
    }

    /// The number of arguments passed.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True if no argument was passed.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Argument `index` (from 0) read as `T`, as [`from_value`](crate::value::from_value) reads it:
    /// the same results and error texts whether the argument arrived as a tree or as text.
    /// A missing argument reads as `undefined` (so an `Option` is `None`).
    pub fn get<T: DeserializeOwned>(&self, index: usize) -> Result<T, RpcError> {
        match self.items.get(index) {
            Some(Payload::Text(text)) => text.read(),
            Some(Payload::Tree(value)) => crate::value::from_value(value.clone()),
            None => crate::value::from_value(Value::Undefined),
        }
    }

    /// Argument `index` (from 0) as a [`Value`]; `undefined` if it is missing.
    pub fn value(&self, index: usize) -> Value {
        self.items
            .get(index)
            .map_or(Value::Undefined, Payload::to_value)
    }

    /// All arguments as [`Value`]s.
    pub fn into_values(self) -> Vec<Value> {
        self.items.into_iter().map(Payload::into_value).collect()
    }

    /// Appends an argument.
    pub fn push(&mut self, value: impl Into<Value>) {
        self.items.push(Payload::Tree(value.into()));
    }

    /// An argument list as the runtime carries it.
    pub(crate) fn from_payloads(items: Vec<Payload>) -> Self {
        Args { items }
    }

    /// The arguments as the runtime carries them.
    pub(crate) fn payloads(&self) -> &[Payload] {
        &self.items
    }

    /// The arguments as the runtime carries them, owned.
    pub(crate) fn into_payloads(self) -> Vec<Payload> {
        self.items
    }

    /// True if an argument holds a promise that must settle before the call is delivered.
    pub(crate) fn contains_promise(&self) -> bool {
        self.items.iter().any(Payload::contains_promise)
    }
}

impl From<Vec<Value>> for Args {
    fn from(values: Vec<Value>) -> Self {
        Args {
            items: values.into_iter().map(Payload::Tree).collect(),
        }
    }
}

impl FromIterator<Value> for Args {
    fn from_iter<I: IntoIterator<Item = Value>>(iter: I) -> Self {
        Args {
            items: iter.into_iter().map(Payload::Tree).collect(),
        }
    }
}
