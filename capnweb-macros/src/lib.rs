//! Procedural macros for `capnweb-runtime`. Use them through the runtime crate's re-exports.
