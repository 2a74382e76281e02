//! Writes the browser example's TypeScript declarations to standard output:
//!
//! ```sh
//! cargo run --example ts_types > examples/browser/api.d.ts
//! ```
//!
//! The suite's `typescript` test fails when the committed file differs from this output.

#[allow(dead_code)]
mod api;

fn main() {
    print!("{}", api::declarations());
}
