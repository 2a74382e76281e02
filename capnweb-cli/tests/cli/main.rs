//! End-to-end tests of the `capnweb` binary, against our server and against the npm capnweb
//! 0.12.0 reference server (`tests/node`).

mod call;
mod describe;
mod node;
mod proxy;
mod repl;
mod server;
mod support;
mod tls;

/// The suite's implementation of the shared test API (`tests/node/api.mjs`), for the npm
/// client scenarios that run through the proxy.
#[allow(dead_code, missing_docs)]
#[path = "../../../tests/suite/api.rs"]
mod test_api;

/// The npm clients' scenario lists, shared with the suite.
#[path = "../../../tests/suite/scenarios.rs"]
mod scenarios;

/// The suite's certificate authority made at test time.
#[allow(dead_code, missing_docs)]
#[path = "../../../tests/suite/pki.rs"]
mod pki;
