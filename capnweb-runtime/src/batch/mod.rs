//! HTTP batch (protocol.md section 2.2): one request/response pair is one complete, short-lived
//! session. The client sends every message it queued as one POST body (messages joined by `\n`);
//! the server applies them to a fresh session, waits until every result the client asked for is
//! settled, and answers with every message it produced, joined the same way.
//!
//! This module is the protocol side, independent of any HTTP library:
//!
//! - [`handle_batch`] serves one request body with a main object and returns the status and
//!   body to answer with;
//! - [`BatchSession`] is the client end: queue calls on [`BatchSession::main`], then await a
//!   result (or call [`BatchSession::send`]) and the whole batch goes out as one request.
//!
//! The `http` feature (on by default) adds a ready-made client and server on hyper in
//! `capnweb_runtime::http`. Both ends run on the same session engine as WebSocket sessions.

mod client;
mod server;

pub use client::BatchSession;
pub use server::{
    BatchReply, BatchServerOptions, DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_RESPONSE_BYTES,
    handle_batch,
};

/// What calls a batch did not answer, and calls made after it ended, fail with:
/// `RpcError::BatchEnded("Batch RPC request ended.")`, capnweb's wording.
pub const BATCH_ENDED_MESSAGE: &str = "Batch RPC request ended.";
