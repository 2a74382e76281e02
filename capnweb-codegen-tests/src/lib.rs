//! Compile-time tests for the capnweb proc-macros live in `tests/`.
