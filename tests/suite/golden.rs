//! Golden vectors: capnweb 0.12.0's own `serialize()` output for a varied list of JavaScript
//! values (tests/node/golden.mjs) must survive our `deserialize` + `serialize` byte for byte, and
//! every frame two real capnweb sessions send each other (tests/node/golden-messages.mjs) must
//! survive the public message codec byte for byte.

use std::process::Command;

use capnweb_runtime::wire::{Expr, Limits, Message, MessageKind, deserialize, serialize};

// The Node folder and its guarded `npm ci` (once per process, plus a lock file across
// processes) are shared with the interop tests.
use crate::node::{ensure_node_modules, node_dir};

/// Runs golden.mjs and returns the strings it printed.
fn golden_vectors() -> Vec<String> {
    run_script("golden.mjs")
}

/// Runs a Node script that prints a JSON list of strings, and returns them.
fn run_script(script: &str) -> Vec<String> {
    serde_json::from_value(run_json(script)).unwrap_or_else(|e| {
        panic!("{script} printed something that is not a JSON string list: {e}")
    })
}

/// Runs a Node script that prints one JSON value, and returns it.
fn run_json(script: &str) -> serde_json::Value {
    ensure_node_modules();
    let output = Command::new("node")
        .arg(script)
        .current_dir(node_dir())
        .output()
        .unwrap_or_else(|e| panic!("cannot run node (is Node.js installed?): {e}"));
    assert!(
        output.status.success(),
        "{script} failed ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{script} printed something that is not JSON: {e}"))
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

/// The same message with its expression re-read as a tree, which is encoded from scratch.
fn through_tree(msg: &Message<'_>) -> Message<'static> {
    let tree = |e: &Expr<'_>| Expr::from(e.to_json().expect("valid JSON"));
    match msg {
        Message::Push(e) => Message::Push(tree(e)),
        Message::Resolve(id, e) => Message::Resolve(*id, tree(e)),
        Message::Reject(id, e) => Message::Reject(*id, tree(e)),
        Message::Abort(e) => Message::Abort(tree(e)),
        Message::Stream(e) => Message::Stream(tree(e)),
        other => other.clone().into_owned(),
    }
}

#[test]
fn js_session_frames_encode_back_byte_for_byte() {
    let frames = run_script("golden-messages.mjs");
    let limits = Limits::default();
    let mut kinds = Vec::new();
    let mut failures = Vec::new();
    for text in &frames {
        let msg = match Message::parse(text, &limits) {
            Ok(msg) => msg,
            Err(e) => {
                failures.push(format!("  sent: {text}\n  error: {e}"));
                continue;
            }
        };
        let tag = format!("[\"{}\"", msg.kind());
        let again = msg.to_string();
        let via_tree = through_tree(&msg).to_string();
        // Plain data also survives evaluation: the value encodes to the same expression.
        let via_value = msg
            .expr()
            .and_then(|e| e.to_value(&limits).ok())
            .map(|v| Message::Resolve(0, Expr::from_value(&v).unwrap()))
            .map(|m| m.expr().unwrap().to_string());
        if !text.starts_with(&tag) || &again != text || &via_tree != text {
            failures.push(format!(
                "  sent: {text}\n  kind: {}\n  back: {again}\n  tree: {via_tree}",
                msg.kind()
            ));
        } else if via_value.is_some_and(|v| Some(v) != msg.expr().map(|e| e.to_string())) {
            failures.push(format!("  sent: {text}\n  as a value it changes"));
        }
        kinds.push(msg.kind());
    }
    assert!(
        failures.is_empty(),
        "{} of {} frames do not survive the codec:\n{}",
        failures.len(),
        frames.len(),
        failures.join("\n")
    );
    for kind in [
        MessageKind::Push,
        MessageKind::Pull,
        MessageKind::Resolve,
        MessageKind::Reject,
        MessageKind::Release,
        MessageKind::Abort,
        MessageKind::Stream,
        MessageKind::Pipe,
    ] {
        assert!(
            kinds.contains(&kind),
            "golden-messages.mjs sent no {kind} message; it is broken"
        );
    }
}

#[test]
fn js_serialized_values_as_message_expressions() {
    // Every golden value as the expression of each message kind that carries one: the codec
    // keeps it byte for byte and evaluates it to what `deserialize` gives.
    let limits = Limits::default();
    let mut failures = Vec::new();
    for value_text in golden_vectors() {
        let expected = deserialize(&value_text).expect("golden values deserialize");
        for frame in [
            format!("[\"push\",{value_text}]"),
            format!("[\"resolve\",1,{value_text}]"),
            format!("[\"reject\",-1,{value_text}]"),
            format!("[\"abort\",{value_text}]"),
            format!("[\"stream\",{value_text}]"),
        ] {
            let checked = Message::parse(&frame, &limits).and_then(|msg| {
                let value = msg.expr().expect("an expression").to_value(&limits)?;
                Ok((msg.to_string(), through_tree(&msg).to_string(), value))
            });
            match checked {
                Ok((again, tree, value))
                    if again == frame && tree == frame && value == expected => {}
                Ok((again, tree, _)) => {
                    failures.push(format!("  sent: {frame}\n  back: {again}\n  tree: {tree}"))
                }
                Err(e) => failures.push(format!("  sent: {frame}\n  error: {e}")),
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} frames do not survive the codec:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// URL, Headers, Request and Response values: what capnweb's constructors refuse we refuse
/// (with the same error class), and what they normalize we normalize the same way
/// (tests/node/golden-values.mjs).
#[test]
fn fetch_values_are_refused_and_normalized_as_capnweb_does() {
    let vectors = run_json("golden-values.mjs");
    let vectors = vectors.as_array().expect("a list");
    assert!(vectors.len() > 30, "golden-values.mjs is broken");
    let mut failures = Vec::new();
    for vector in vectors {
        let text = vector["text"].as_str().expect("text");
        let ours = deserialize(text);
        let expected = match (&vector["error"], &vector["ok"]) {
            (serde_json::Value::String(class), _) => match &ours {
                Err(e) if e.name() == class => continue,
                _ => format!("refused with a {class}"),
            },
            (_, serde_json::Value::String(normalized)) => match ours.as_ref().map(serialize) {
                Ok(Ok(again)) if &again == normalized => continue,
                _ => format!("accepted as {normalized}"),
            },
            _ => match &ours {
                Ok(_) => continue,
                Err(_) => "accepted".to_owned(),
            },
        };
        let got = ours.map(|value| serialize(&value));
        failures.push(format!(
            "  {text}\n    capnweb: {expected}\n    ours: {got:?}"
        ));
    }
    assert!(
        failures.is_empty(),
        "{} of {} Fetch values differ from capnweb:\n{}",
        failures.len(),
        vectors.len(),
        failures.join("\n")
    );
}
