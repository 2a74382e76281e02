//! The TypeScript declarations of the browser example's API: the committed
//! `examples/browser/api.d.ts` is what the generator writes, and `tsc --strict` accepts the
//! example's client with it and rejects wrong uses of the API.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::browser_example::{api, server};
use crate::node::{ensure_node_modules, node_dir};

const REGENERATE: &str = "cargo run --example ts_types > examples/browser/api.d.ts";

#[test]
fn committed_declarations_are_current() {
    let path = server::example_dir().join("api.d.ts");
    let committed = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read {}: {e}; write it with `{REGENERATE}`",
            path.display()
        )
    });
    let current = api::declarations();
    assert!(
        committed == current,
        "{} is stale (the Rust interfaces changed): run `{REGENERATE}`\n--- generated now ---\n{current}",
        path.display()
    );
}

/// A directory holding `client.ts` (the example's, or a changed copy), the generated
/// declarations as `api.ts` (a `.ts` file is checked even with `skipLibCheck`, which capnweb's
/// own `.d.ts` needs) and a strict `tsconfig.json`.
fn project(name: &str, client: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("tsc-{}", std::process::id()))
        .join(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("client.ts"), client).unwrap();
    std::fs::copy(server::example_dir().join("api.d.ts"), dir.join("api.ts")).unwrap();
    let capnweb = node_dir().join("node_modules").join("capnweb");
    let tsconfig = serde_json::json!({
        "compilerOptions": {
            "strict": true,
            "noEmit": true,
            "target": "es2022",
            "lib": ["es2022", "esnext.disposable", "dom"],
            "module": "esnext",
            "moduleResolution": "bundler",
            "skipLibCheck": true,
            "types": [],
            "paths": { "capnweb": [capnweb] }
        },
        "files": ["client.ts"]
    });
    std::fs::write(dir.join("tsconfig.json"), tsconfig.to_string()).unwrap();
    dir
}

/// Starts `tsc -p dir` (tsc --strict --noEmit, from the project's tsconfig).
fn start_tsc(dir: &Path) -> std::process::Child {
    let tsc = node_dir().join("node_modules").join(".bin").join("tsc");
    Command::new(&tsc)
        .arg("-p")
        .arg(dir)
        .arg("--pretty")
        .arg("false")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", tsc.display()))
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// `client` with `from` replaced by `to` (which must occur exactly once, so a change to the
/// example cannot turn the negative checks into no-ops).
fn changed(client: &str, from: &str, to: &str) -> String {
    assert_eq!(
        client.matches(from).count(),
        1,
        "examples/browser/client.ts should contain `{from}` exactly once"
    );
    client.replacen(from, to, 1)
}

#[test]
fn tsc_accepts_the_typed_client_and_rejects_wrong_uses() {
    ensure_node_modules();
    let client = std::fs::read_to_string(server::example_dir().join("client.ts")).unwrap();
    let ok = project("ok", &client);
    let wrong_argument = project(
        "wrong-argument",
        &changed(&client, "await api.add(2, 3),", "await api.add(\"2\", 3),"),
    );
    let no_such_method = project(
        "no-such-method",
        &changed(&client, "await api.add(2, 3),", "await api.subtract(2, 3),"),
    );
    // The three runs are independent: run them side by side.
    let runs: Vec<_> = [&ok, &wrong_argument, &no_such_method]
        .into_iter()
        .map(|dir| start_tsc(dir))
        .collect();
    let mut outputs = runs
        .into_iter()
        .map(|child| child.wait_with_output().unwrap());
    let (ok, wrong_argument, no_such_method) = (
        outputs.next().unwrap(),
        outputs.next().unwrap(),
        outputs.next().unwrap(),
    );

    assert!(
        ok.status.success(),
        "tsc --strict should accept examples/browser/client.ts with the generated types:\n{}",
        text(&ok)
    );

    let out = text(&wrong_argument);
    assert!(
        !wrong_argument.status.success(),
        "tsc accepted a string for `add(a: number)`"
    );
    assert!(
        out.contains("client.ts(") && out.contains("error TS2345") && out.contains("'string'"),
        "expected TS2345 (a string is not a number) in client.ts, got:\n{out}"
    );
    assert_eq!(
        out.matches("error TS").count(),
        1,
        "only the changed line is wrong:\n{out}"
    );

    let out = text(&no_such_method);
    assert!(
        !no_such_method.status.success(),
        "tsc accepted a call of `subtract`, which Api lacks"
    );
    assert!(
        out.contains("client.ts(") && out.contains("error TS2339") && out.contains("'subtract'"),
        "expected TS2339 (no property 'subtract') in client.ts, got:\n{out}"
    );
    assert_eq!(
        out.matches("error TS").count(),
        1,
        "only the changed line is wrong:\n{out}"
    );
}

#[test]
fn the_readme_shows_the_generator_verbatim() {
    let root = env!("CARGO_MANIFEST_DIR");
    let readme = std::fs::read_to_string(format!("{root}/README.md")).expect("README.md");
    let api = std::fs::read_to_string(server::example_dir().join("api.rs")).unwrap();
    let (_, function) = api
        .split_once("/// The `.d.ts` text for this API")
        .expect("examples/browser/api.rs has `declarations`");
    let block = format!("```rust\n/// The `.d.ts` text for this API{function}```");
    assert!(
        readme.contains(&block),
        "README.md's TypeScript section should show `declarations` from examples/browser/api.rs verbatim"
    );
}
