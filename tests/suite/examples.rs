//! Every program in `examples/` runs to completion and tells its story: each is run as a
//! process (the binaries `cargo test` builds beside this one) and must exit 0 and print the
//! lines listed here. A new example must be added to the list; one that is listed but gone
//! fails too.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

/// How long one example may take. They finish in well under a second; this only bounds a hang.
const LIMIT: Duration = Duration::from_secs(60);

/// One test per example, and the list of them, from one table.
macro_rules! examples {
    ($($name:ident: [$($line:literal),* $(,)?]),* $(,)?) => {
        /// Every example the tests below run.
        const LISTED: &[&str] = &[$(stringify!($name)),*];

        $(
            #[tokio::test]
            async fn $name() {
                run_and_check(stringify!($name), &[$($line),*]).await;
            }
        )*
    };
}

examples! {
    quickstart: [
        "[client] add(2, 3) = 5",
        "[client] add(add(1, 2), add(3, 4)) = 10",
        "[client] Hello, Ada!",
        "[client] tick 1",
        "[client] countdown finished: liftoff",
        "[client] session tables: 1 imports, 1 exports (only the main objects)",
    ],
    readme: [
        r#"user 1; ["user 1", "user 2", "user 3"]"#,
    ],
    resilient_client: [
        "[client] stock of 'bolts': 35",
        "[client] slow_report: gave up after 200 ms",
        "[client] a call on the old session: the RPC connection was lost",
        "[client] stock of 'nuts' after the restart: 28",
        "[state] closed",
    ],
    pipelining: [
        r#"[client] users.get(1).profile().name() = "Ada""#,
        r#"[client] forked: name = "Grace", email = "grace@example.com""#,
        "[client] users.get(99).profile().name() failed: NotFoundError: no user 99",
        "[client] session tables: 1 imports, 1 exports (only the main objects)",
    ],
    map_ids: [
        r#"[client] names: ["user 3", "user 1", "user 2"]"#,
        "[client] 3: user 3 scored 30",
        "[client] 2: user 2 scored 20",
        "[client] session tables: 1 imports, 1 exports (only the main objects)",
    ],
    progress_callback: [
        "[client] progress [##........] 25%",
        "[client] progress [##########] 100%",
        "[client] imported 100 rows",
        "[client] reports received: [25, 50, 75, 100]",
        "[client] the server released the reporter",
        "[client] session tables: 1 imports, 1 exports (only the main objects)",
    ],
    chat_room: [
        "[alice] bob joined",
        "[carol] bob: hi all",
        "[bob] carol left",
        "[carol] say(..) after leaving: Error: this capability has been revoked",
        "[alice] bob disconnected",
        "[server] members still seated: 0",
    ],
    error_codes: [
        "[client] withdraw 20 from alice: balance 30",
        r#"[client]   name "InsufficientFundsError", code Some("INSUFFICIENT_FUNDS")"#,
        "[client]   -> declined: the balance is only 50",
        r#"[client]   name "NotFoundError", code Some("NO_SUCH_ACCOUNT")"#,
        "[client]   -> no such account: check the number",
    ],
    auth: [
        "[client] with a bearer token: whoami = alice",
        "[client] without a token: could not connect: WebSocket connection to ws://",
        "[client] authenticate(t-alice).whoami() = alice",
        "[client] bob may not close his account: TypeError",
        "[client] authenticate(guess): Unauthorized: a valid token is required",
    ],
    axum_app: [
        "[client] GET /health -> HTTP/1.1 200 OK: ok",
        "[server] RPC WebSocket session from 127.0.0.1",
        "[client] WebSocket add(2) -> 2",
        "[server] RPC HttpBatch session from 127.0.0.1",
        "[client] HTTP batch add(3) -> 5",
        "[client] GET /count -> HTTP/1.1 200 OK: 5",
        "[client] WebSocket session ended: the RPC connection was lost: Peer closed WebSocket: 1001",
    ],
    http_batch: [
        "[client] add(add(1, 2), 3) = 6",
        "[client] user(7).name = user 7",
        "[client] requests so far: 1",
        "[client] a call after the batch: Batch RPC request ended.",
        "[client] next batch: add(20, 22) = 42",
        "[client] requests so far: 2",
    ],
    dynamic_api: [
        r#"[client] get("epoch") is a Date, 0 ms after 1970"#,
        r#"[client] get("settings") is an object with keys ["theme", "font_size"]"#,
        r#"[client] get("missing") is undefined"#,
        r#"[client] settings read back: Settings { theme: "dark", font_size: 14 }"#,
        r#"[client] bucket("archive").keys() = ["old"]"#,
        "[client] each: settings (object)",
        "[client] each visited 3 entries",
        "[client] delete(..): TypeError: 'delete' is not a function.",
    ],
    custom_transport: [
        r#"[client] >> ["push",["pipeline",0,["greet"],["Ada"]]]"#,
        r#"[client] << ["resolve",1,"Hello, Ada!"]"#,
        // docs/guide/pipelining-and-map.md shows these four frames.
        r#"[client] >> ["push",["pipeline",0,["twice"],[]]]"#,
        r#"[client] >> ["push",["pipeline",2,["greet"],["Grace"]]]"#,
        r#"[client] >> ["pull",3]"#,
        r#"[client] << ["resolve",3,"Hello, Grace! Hello, Grace!"]"#,
        "[client] = Hello, Grace! Hello, Grace!",
    ],
}

/// Examples that need more than a process to run, and the tests that run them.
const RUN_ELSEWHERE: &[&str] = &[
    // Its page needs a browser: browser.rs runs it in headless Chromium against the example's
    // own server code, and typescript.rs checks its api.d.ts and type-checks its client.
    "browser",
];

#[test]
fn every_example_is_listed() {
    let mut found = examples_on_disk();
    found.sort();
    let mut listed: Vec<String> = LISTED
        .iter()
        .chain(RUN_ELSEWHERE)
        .map(|name| name.to_string())
        .collect();
    listed.sort();
    assert_eq!(
        found, listed,
        "the examples in examples/ (left) and those tests/suite/examples.rs runs (right) differ"
    );
}

/// The examples in `examples/`: every `<name>.rs`, and every directory (an example of several
/// files, `<name>/main.rs` or declared in Cargo.toml).
fn examples_on_disk() -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut names = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("examples/") {
        let path = entry.expect("an entry of examples/").path();
        let name = path.file_stem().and_then(|s| s.to_str()).map(str::to_owned);
        if path.extension().is_some_and(|e| e == "rs") || path.is_dir() {
            names.extend(name);
        }
    }
    names
}

/// Runs example `name` and checks it succeeded and printed every line of `expected`.
async fn run_and_check(name: &str, expected: &[&str]) {
    let binary = example_binary(name);
    let run = tokio::process::Command::new(&binary)
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(LIMIT, run)
        .await
        .unwrap_or_else(|_| panic!("example {name} did not finish within {LIMIT:?}"))
        .unwrap_or_else(|e| panic!("could not run {}: {e}", binary.display()));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "example {name} failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
    let lines: Vec<&str> = stdout.lines().collect();
    for want in expected {
        assert!(
            lines.iter().any(|line| line.starts_with(want)),
            "example {name} did not print a line starting with {want:?}; it printed:\n{stdout}"
        );
    }
}

/// The example's binary, next to this test's (`target/<profile>/examples/<name>`), built
/// first if it is missing or older than the sources.
fn example_binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test's own path");
    // target/<profile>/deps/suite-<hash> -> target/<profile>/examples/<name>
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("the test runs from target/<profile>/deps");
    let binary = profile_dir
        .join("examples")
        .join(name)
        .with_extension(std::env::consts::EXE_EXTENSION);
    if modified(&binary).is_none_or(|built| built < newest_source()) {
        build_examples(profile_dir.ends_with("release"));
    }
    assert!(
        binary.is_file(),
        "{} does not exist after `cargo build --examples`",
        binary.display()
    );
    binary
}

/// `cargo test --workspace` builds the examples; a narrower run (`--test suite`) does not, so
/// build them here, once, with the workspace's features (those `cargo test --workspace`
/// uses, so the two share their artifacts).
fn build_examples(release: bool) {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let status = std::process::Command::new(env!("CARGO"))
            .args(["build", "--workspace", "--examples", "--quiet"])
            .args(release.then_some("--release"))
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .expect("running cargo");
        assert!(status.success(), "cargo build --examples failed");
    });
}

/// When the newest Rust source the examples are built from changed. (Only `.rs` files: a
/// directory's own time changes when an entry is added or removed, which cargo ignores, so
/// the binary would look stale for ever.)
fn newest_source() -> SystemTime {
    static NEWEST: OnceLock<SystemTime> = OnceLock::new();
    *NEWEST.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        [
            "examples",
            "capnweb-runtime/src",
            "capnweb-macros/src",
            "capnweb-names/src",
        ]
        .iter()
        .filter_map(|dir| newest_in(&root.join(dir)))
        .max()
        .unwrap_or(SystemTime::UNIX_EPOCH)
    })
}

fn newest_in(path: &Path) -> Option<SystemTime> {
    let Ok(entries) = std::fs::read_dir(path) else {
        return path
            .extension()
            .is_some_and(|e| e == "rs")
            .then(|| modified(path))
            .flatten();
    };
    entries
        .filter_map(|entry| newest_in(&entry.ok()?.path()))
        .max()
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}
