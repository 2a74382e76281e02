//! End-to-end suite: interop with the real npm `capnweb` 0.12.0, hostile input, leak checks.

mod api;
mod engine;
mod eorder;
mod gate;
mod golden;
mod hostile;
mod interop_ws;
mod lifetimes;
mod map;
mod node;
mod server;
mod support;
mod tap;
