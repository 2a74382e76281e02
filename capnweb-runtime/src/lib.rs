//! Typed Cap'n Web RPC for Rust.
//!
//! An independent implementation of the Cap'n Web protocol, wire-compatible with the
//! `capnweb` 0.12.0 npm package. Not affiliated with Cloudflare.

mod error;
mod hook;
mod stub;
pub mod value;
pub mod wire;

pub use error::RpcError;
pub use stub::{Promise, Stub};
pub use value::{Value, from_value, to_value};
