//! The typed layer: what `#[rpc_interface]` and `#[rpc_target]` generate code against.
//!
//! - [`RpcPromise<T>`]: the result of a typed call that returns data. Await it for
//!   `Result<T, RpcError>`, pipeline on it, or pass it wherever an argument of type `T` is
//!   expected (one round trip for the whole chain).
//! - [`RpcArg<T>`]: what a generated client method accepts for a parameter of type `T`: the value
//!   itself, a reference to it, or an `RpcPromise<T>`.
//! - [`RpcClient`]: implemented by every generated client type (`UsersClient`, ...) and by
//!   [`Stub`](crate::Stub); a typed view of a capability.
//! - [`RpcData`]: the bound every argument and result type meets (serde both ways, `Send`).
//!
//! Everything here is a thin typed veneer over the schema-free [`Stub`](crate::Stub) and
//! [`Promise`](crate::Promise), which stay available through `.stub()` and `.untyped()`.

mod arg;
mod client;
mod map;
mod promise;

pub use arg::{RpcArg, RpcData};
pub use client::RpcClient;
pub use map::{MapOutput, MapSubject};
pub use promise::{RpcFuture, RpcPromise};

use serde::de::DeserializeOwned;

use crate::error::RpcError;
use crate::wire::Payload;

/// Reads a typed argument or result. The text it was read from is not needed afterwards; when
/// it is large, it is freed after the session reader's next write rather than before it (see
/// `session::drop_after_write`).
pub(crate) fn read_payload<T: DeserializeOwned>(payload: Payload) -> Result<T, RpcError> {
    match payload {
        Payload::Tree(value) => crate::value::from_value(value),
        Payload::Text(text) => {
            let read = text.read();
            let len = text.as_str().len();
            crate::session::drop_after_write(text, len);
            read
        }
    }
}
