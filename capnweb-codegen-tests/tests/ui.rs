//! trybuild UI tests for `#[rpc_interface]` and `#[rpc_target]`.
//!
//! - `tests/pass/*.rs` must compile, and their `main` runs (they check behaviour too, over a
//!   local target, so a wrong expansion that happens to compile is still caught).
//! - `tests/fail/*.rs` must fail with exactly the checked-in `.stderr`: one clear error at the
//!   user's own tokens. Refresh them with `TRYBUILD=overwrite cargo test -p capnweb-codegen-tests`
//!   and review the diff.
//!
//! One `TestCases` per test function: trybuild builds all of a `TestCases`' files in one cargo
//! invocation, which is what keeps these runs lean.

#[test]
fn pass() {
    trybuild::TestCases::new().pass("tests/pass/*.rs");
}

#[test]
fn fail() {
    trybuild::TestCases::new().compile_fail("tests/fail/*.rs");
}
