//! Runs the Node peer (tests/node) for the interop suite.
