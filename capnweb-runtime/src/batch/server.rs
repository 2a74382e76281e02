//! The server end of an HTTP batch, independent of any HTTP library.

use std::time::Duration;

use crate::error::RpcError;
use crate::session::{Mode, SessionInner, SessionOptions};
use crate::stub::Stub;

/// The default [`BatchServerOptions::max_body_bytes`]: 32 MiB, the size of one message at
/// capnweb's default message-size limit.
pub const DEFAULT_MAX_BODY_BYTES: usize = 32 * 1024 * 1024;

/// The default [`BatchServerOptions::max_response_bytes`]: 32 MiB, the same as a request may
/// carry.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 32 * 1024 * 1024;

/// Settings for serving HTTP batches (and, in `capnweb_runtime::http`, the WebSocket sessions
/// on the same path).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct BatchServerOptions {
    /// Options of each session (limits enforced on what the client sends).
    pub session: SessionOptions,
    /// Largest accepted request body in bytes; a larger one is refused with `413` before any of
    /// it is evaluated.
    pub max_body_bytes: usize,
    /// Largest response body in bytes (the messages the batch produced, without the newlines
    /// between them). A batch cannot make its client wait for it to read, as a WebSocket
    /// session does ([`SessionOptions::pause_reading_above`]), so its response has a hard
    /// limit: a batch whose answers grow past it is aborted (the calls still running for it
    /// stop) and answered `500` with a body naming this limit. Default
    /// [`DEFAULT_MAX_RESPONSE_BYTES`] (32 MiB, as for the request).
    pub max_response_bytes: usize,
    /// How long a batch may take to drain (every result the client pulled is answered). `None`
    /// (the default) waits as long as the client stays connected, as capnweb does; a batch
    /// whose server calls back into the client and waits for the answer never drains.
    pub timeout: Option<Duration>,
}

impl Default for BatchServerOptions {
    fn default() -> Self {
        BatchServerOptions {
            session: SessionOptions::default(),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            timeout: None,
        }
    }
}

/// The HTTP answer to one batch request.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct BatchReply {
    /// The HTTP status code:
    ///
    /// - `200`: `body` holds the messages the session produced, joined by `\n` (no trailing
    ///   newline; empty for none);
    /// - `400`: the request body is not UTF-8, or the session aborted because of what the
    ///   client sent (a malformed message, a limit exceeded, an `abort` message); `body` is the
    ///   reason, e.g. `bad RPC message: ["bogus"]`;
    /// - `413`: the body is larger than [`BatchServerOptions::max_body_bytes`];
    /// - `500`: the session aborted for another reason, its response grew past
    ///   [`BatchServerOptions::max_response_bytes`], or it did not drain within
    ///   [`BatchServerOptions::timeout`].
    pub status: u16,
    /// The response body (`text/plain; charset=UTF-8`).
    pub body: String,
}

impl BatchReply {
    fn error(status: u16, body: impl Into<String>) -> Self {
        BatchReply {
            status,
            body: body.into(),
        }
    }
}

/// Serves one HTTP batch: applies the messages in `body` (split on `\n`; an empty body holds
/// none) to a fresh session whose main object is `main`, waits until the session has drained,
/// and returns what to answer.
///
/// The session then ends. Unlike capnweb, which keeps them, every object the batch exported is
/// dropped at that point (the client can never reach them again), so targets see `Drop`.
///
/// ```no_run
/// # async fn example(body: &[u8]) {
/// use capnweb_runtime::batch::{BatchServerOptions, handle_batch};
/// use capnweb_runtime::Stub;
/// # struct Api;
/// # impl capnweb_runtime::RpcTarget for Api {
/// #     fn call(self: std::sync::Arc<Self>, m: &str, _: capnweb_runtime::Args)
/// #         -> capnweb_runtime::CallFuture { unimplemented!() }
/// # }
/// let reply = handle_batch(body, Stub::new(Api), &BatchServerOptions::default()).await;
/// // Answer with `reply.status` and `reply.body` using your HTTP library.
/// # }
/// ```
pub async fn handle_batch(body: &[u8], main: Stub, options: &BatchServerOptions) -> BatchReply {
    if body.len() > options.max_body_bytes {
        return BatchReply::error(
            413,
            format!(
                "the request body ({} bytes) exceeds the limit of {} bytes",
                body.len(),
                options.max_body_bytes
            ),
        );
    }
    let Ok(text) = std::str::from_utf8(body) else {
        return BatchReply::error(400, "the request body is not valid UTF-8");
    };
    let lines: Vec<&str> = if text.is_empty() {
        Vec::new()
    } else {
        text.split('\n').collect()
    };
    let session = SessionInner::new(Some(main.hook), &options.session, Mode::BatchServer);
    match session
        .serve_batch(lines, options.timeout, options.max_response_bytes)
        .await
    {
        Ok(messages) => BatchReply {
            status: 200,
            body: messages.join("\n"),
        },
        Err(RpcError::Timeout) => BatchReply::error(
            500,
            format!(
                "the batch did not finish within {:?}",
                options.timeout.unwrap_or_default()
            ),
        ),
        Err(
            reason @ (RpcError::Protocol { .. }
            | RpcError::Serialization(_)
            | RpcError::PeerAborted(_)),
        ) => BatchReply::error(400, reason.message()),
        Err(reason) => BatchReply::error(500, reason.message()),
    }
}
