//! Cap'n Web over HTTP on hyper 1: WebSocket sessions and HTTP batches (protocol.md section
//! 2.2) served on the same path, and an HTTP batch client.
//!
//! - [`Server`] (feature `server`, on by default) is the server: every
//!   WebSocket upgrade gets a long-lived session and every POST is one batch, on any path, each
//!   with a fresh main object; [`Server::shutdown`](crate::Server::shutdown) stops it
//!   gracefully.
//! - [`RpcService`] is the same server as a tower `Service`, to mount in an existing stack
//!   (`axum::Router::route_service`, or `RpcService::router` with the `axum` feature).
//! - [`BatchClient`] (feature `http-client`, on by default) makes client batches that POST to
//!   a URL (plain `http://`; bring your own client through
//!   [`crate::batch::BatchSession::new`] for TLS).

#[cfg(feature = "http-client")]
mod client;
#[cfg(all(feature = "http-client", feature = "tls"))]
mod connector;
#[cfg(feature = "server")]
mod context;
#[cfg(feature = "server")]
mod refusal;
#[cfg(feature = "server")]
mod server;
#[cfg(feature = "server")]
mod service;
#[cfg(feature = "server")]
mod shutdown;

#[cfg(feature = "http-client")]
pub use client::{BatchClient, batch_session};
#[cfg(feature = "server")]
pub(crate) use context::PeerAddr;
#[cfg(feature = "server")]
pub use context::{SessionContext, SessionKind};
#[cfg(feature = "server")]
pub use refusal::Refusal;
#[cfg(feature = "server")]
pub use server::{DEFAULT_HANDSHAKE_TIMEOUT, DEFAULT_SHUTDOWN_TIMEOUT, Server, ServerBuilder};
#[cfg(feature = "server")]
pub use service::RpcService;
