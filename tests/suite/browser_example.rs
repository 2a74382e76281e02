//! The browser example's own files (examples/browser/), compiled into the suite so that its
//! tests use exactly what the example serves.

#[path = "../../examples/browser/api.rs"]
#[allow(dead_code)]
pub mod api;
#[path = "../../examples/browser/server.rs"]
pub mod server;
