//! The scenarios of the npm capnweb clients in `tests/node` (`client.mjs` over WebSocket,
//! `batch-client.mjs` over HTTP batch), in the order each script runs them when none are named.
//! One list for the suite and for the CLI's proxy tests (which include this file); the suite
//! checks each list against what its script reports.

/// Every scenario `client.mjs` knows, in the order it runs them when none are named.
pub const ALL_SCENARIOS: &[&str] = &[
    "call.simple",
    "values.roundtrip",
    "pipeline.chain",
    "pipeline.promise-argument",
    "pipeline.property",
    "pipeline.large-result",
    "capability.returned",
    "capability.function",
    "callback.function",
    "callback.object",
    "callback.fire-and-forget",
    "errors.custom",
    "errors.builtin",
    "errors.pipelined-rejection",
    "errors.no-such-method",
    "release.dispose",
    "release.pipelined",
    "eorder.pipelined",
    "eorder.promise-argument",
    "disconnect.pending",
    "callback.held",
    "capability.passthrough",
    "map.array",
    "map.nested",
    "map.with-client-capture",
    "map.null-and-single-value",
    "streams.readable-result",
    "streams.readable-argument",
    "streams.writable-argument",
    "streams.bodies",
];

/// Every scenario `batch-client.mjs` knows, in the order it runs them when none are named.
pub const BATCH_SCENARIOS: &[&str] = &[
    "call.simple",
    "values.roundtrip",
    "pipeline.chain",
    "pipeline.promise-argument",
    "pipeline.property",
    "capability.function",
    "capability.passed-back",
    "batch.everything-at-once",
    "batch.map",
    "errors.custom",
    "errors.builtin",
    "errors.pipelined-rejection",
    "errors.no-such-method",
    "callback.fire-and-forget",
    "batch.calls-after-end",
    "release.batch-end",
    "http.bad-message",
];
