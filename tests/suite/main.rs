//! End-to-end suite: interop with the real npm `capnweb` 0.12.0, hostile input, leak checks.

mod api;
mod drops;
mod engine;
mod eorder;
mod gate;
mod golden;
mod hostile;
mod http_batch;
mod http_server;
mod interop_http;
mod interop_ws;
mod large_values;
mod lifetimes;
mod map;
mod node;
mod node_batch;
mod pipeline;
mod server;
mod support;
mod tap;
mod typed_api;
mod typed_interop;
mod typed_map;
mod writes;
