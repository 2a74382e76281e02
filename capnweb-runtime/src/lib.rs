//! Typed Cap'n Web RPC for Rust.
//!
//! An independent implementation of the Cap'n Web protocol, wire-compatible with the
//! `capnweb` 0.12.0 npm package (browsers, Node, Cloudflare Workers) in both directions. Not
//! affiliated with Cloudflare.
//!
//! - `#[rpc_interface]` on a trait generates a typed client (`...Client`) with pipelined
//!   promises ([`RpcPromise`]) and a server dispatch table; `#[rpc_target]` on the impl makes
//!   your type a capability.
//! - [`Stub`] and [`Promise`] are the schema-free API: call methods by name with serde values,
//!   pipeline on results that have not arrived, pass capabilities both ways.
//! - [`RpcTarget`] is what a local object implements to be called over RPC.
//! - [`Session`] runs the protocol over a [`transport`]; [`wire`] is the message codec.
//!
//! # Starting and stopping
//!
//! | what | start it with | configure | stop it with |
//! |---|---|---|---|
//! | a server (WebSocket + HTTP batch on one port) | [`Server::builder`]`(make_main)` then `.bind(addr)` | [`ServerBuilder`]: limits, handshake and shutdown timeouts, TLS, admission (`admit`); [`SessionOptions`] | [`Server::shutdown`] (graceful, bounded by a deadline); dropping the handle begins it |
//! | the same, mounted in your own router | [`ServerBuilder::into_service`] | as above | [`http::RpcService::shutdown`] |
//! | a WebSocket client | [`transport::websocket::connect`]`(url)` or [`transport::websocket::Connector`] | `Connector`: headers, bearer token, connect timeout, TLS; [`SessionOptions`] | [`Session::close`] (or drop the last `Session` clone) |
//! | a WebSocket client that reconnects | [`reconnect::ReconnectingSession::builder`]`(dial)` (a pool: [`reconnect::SessionPool`]) | backoff, max attempts, state callback; the dial's `Connector` | [`reconnect::ReconnectingSession::close`] (or drop the last clone) |
//! | an HTTP batch client | [`http::batch_session`]`(url)` or [`http::BatchClient`] | `BatchClient`: headers, bearer token, request timeout, TLS | ends by itself after its one request |
//! | a session over any transport | [`Session::builder`] then `.start(transport)` | [`SessionBuilder`] methods | [`Session::close`], [`Session::abort`] |
//! | one HTTP batch on your own HTTP server | [`batch::handle_batch`] | [`batch::BatchServerOptions`] | returns when answered |
//!
//! Every way of starting a session shares [`SessionOptions`]: [`Limits`], a default call
//! timeout, a time limit for our methods, WebSocket keepalive, the back-pressure marks (a peer
//! that does not read our answers is not read either). One await can have its own
//! timeout ([`Promise::timeout`], [`RpcPromise::timeout`]). Every failure is an [`RpcError`];
//! `tracing` events (targets `capnweb::session`, `capnweb::message`, `capnweb::call`,
//! `capnweb::reconnect`) show what a session did. A session that ends cancels the calls still
//! running for it (unless a method opts out with [`run_to_completion`]), a capability tells
//! when its connection is gone ([`Stub::closed`], [`Stub::on_broken`]), and a panicking method
//! rejects only its own call, as a JavaScript `throw` would.
//!
//! # Features
//!
//! - `server` (default): [`Server`] and [`http::RpcService`], on hyper.
//! - `http-client` (default): [`http::BatchClient`], on hyper's pooled client.
//! - `axum`: `http::RpcService::router`.
//! - `tls`: `wss://` for the WebSocket client and a TLS [`Server`] (`ServerBuilder::tls`), on
//!   rustls with the ring provider; see the `tls` module.
//! - `typescript`: `typescript::Declarations`, a `.d.ts` for `#[rpc_interface(typescript)]`
//!   interfaces (argument and result types described with ts-rs).
//! - `tls-native-roots`: `tls::native_roots_client_config`, trusting the operating system's
//!   certificate store.
//!
//! With `default-features = false` the crate is a WebSocket client (and the protocol engine,
//! codec and batch protocol) without hyper or axum.
//!
//! Sessions run on tokio and need a runtime with I/O and timers enabled (`#[tokio::main]`,
//! `#[tokio::test]` and `Runtime::new()` enable both; a hand-built runtime needs `enable_all()`).

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;
mod active;
mod attenuate;
pub mod batch;
mod error;
mod hook;
#[cfg(any(feature = "server", feature = "http-client"))]
pub mod http;
mod lanes;
mod latch;
mod local_promise;
mod map;
pub mod reconnect;
mod session;
pub mod stream;
mod stub;
mod sync;
mod target;
mod task;
#[cfg(feature = "tls")]
pub mod tls;
pub mod transport;
mod typed;
#[cfg(feature = "typescript")]
pub mod typescript;
pub mod value;
mod wait_list;
pub mod wire;

pub use attenuate::{Revoker, revocable};
pub use capnweb_macros::{rpc_interface, rpc_target};
pub use error::{ErrorSource, RpcError};
#[cfg(feature = "server")]
pub use http::{Server, ServerBuilder};
pub use session::{
    DEFAULT_PAUSE_READING_ABOVE, DEFAULT_RESUME_READING_AT, OnBroken, Session, SessionBuilder,
    SessionOptions, SessionStats,
};
pub use stream::{RpcSink, RpcStream};
pub use stub::{IntoArgs, Promise, PromiseFuture, ResolveFuture, Stub};
pub use target::{CallFuture, RpcTarget};
pub use task::run_to_completion;
pub use typed::{MapOutput, MapSubject, RpcArg, RpcClient, RpcData, RpcFuture, RpcPromise};
pub use value::{Value, from_value, to_value};
pub use wire::Args;
pub use wire::{Limits, deserialize, serialize};
