//! Golden vectors: capnweb 0.12.0's own `serialize()` output for a varied list of JavaScript
//! values (tests/node/golden.mjs) must survive our `deserialize` + `serialize` byte for byte.

use std::process::Command;

use capnweb_runtime::wire::{deserialize, serialize};

// The Node folder and its guarded `npm ci` (once per process, plus a lock file across
// processes) are shared with the interop tests.
use crate::node::{ensure_node_modules, node_dir};

/// Runs golden.mjs and returns the strings it printed.
fn golden_vectors() -> Vec<String> {
    ensure_node_modules();
    let output = Command::new("node")
        .arg("golden.mjs")
        .current_dir(node_dir())
        .output()
        .unwrap_or_else(|e| panic!("cannot run node (is Node.js installed?): {e}"));
    assert!(
        output.status.success(),
        "golden.mjs failed ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!("golden.mjs printed something that is not a JSON string list: {e}")
    })
}

#[test]
fn js_serialized_values_round_trip_byte_for_byte() {
    let vectors = golden_vectors();
    assert!(
        vectors.len() > 100,
        "only {} golden vectors; golden.mjs is broken",
        vectors.len()
    );
    let mut failures = Vec::new();
    for text in &vectors {
        match deserialize(text).and_then(|value| serialize(&value)) {
            Ok(again) if &again == text => {}
            Ok(again) => failures.push(format!("  sent: {text}\n  back: {again}")),
            Err(e) => failures.push(format!("  sent: {text}\n  error: {e}")),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} golden vectors do not round-trip:\n{}",
        failures.len(),
        vectors.len(),
        failures.join("\n")
    );
}
