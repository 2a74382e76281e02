//! Typed Cap'n Web RPC for Rust.
//!
//! An independent implementation of the Cap'n Web protocol, wire-compatible with the
//! `capnweb` 0.12.0 npm package. Not affiliated with Cloudflare.
//!
//! - [`Stub`] and [`Promise`] are the schema-free API: call methods by name with serde values,
//!   pipeline on results that have not arrived, pass capabilities both ways.
//! - [`RpcTarget`] is what a local object implements to be called over RPC.
//! - [`Session`] runs the protocol over a [`transport`] (WebSocket or in-memory).
//!
//! Sessions run on tokio and need a runtime with I/O and timers enabled (`#[tokio::main]`,
//! `#[tokio::test]` and `Runtime::new()` enable both; a hand-built runtime needs `enable_all()`).

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;
pub mod batch;
mod error;
mod hook;
#[cfg(any(feature = "server", feature = "http-client"))]
pub mod http;
mod local_promise;
mod map;
mod session;
mod stub;
mod target;
mod task;
pub mod transport;
mod typed;
pub mod value;
pub mod wire;

pub use capnweb_macros::{rpc_interface, rpc_target};
pub use error::RpcError;
#[cfg(feature = "server")]
pub use http::{Server, ServerBuilder};
pub use session::{OnBroken, Session, SessionBuilder, SessionOptions, SessionStats};
pub use stub::{IntoArgs, Promise, PromiseFuture, ResolveFuture, Stub};
pub use target::{CallFuture, RpcTarget};
pub use typed::{MapOutput, MapSubject, RpcArg, RpcClient, RpcData, RpcFuture, RpcPromise};
pub use value::{Args, Value, from_value, to_value};
pub use wire::{Limits, deserialize, serialize};
