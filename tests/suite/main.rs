//! End-to-end suite: interop with the real npm `capnweb` 0.12.0, hostile input, leak checks.

mod node;
