//! Runs the Node peer (tests/node) for the interop suite.
//!
//! The Node side is the real npm `capnweb` 0.12.0:
//!
//! - `tests/node/server.mjs` serves the shared test API (`tests/node/api.mjs`, the spec of that
//!   API) over WebSocket (and HTTP batch) and prints `LISTENING <port>` once ready;
//! - `tests/node/client.mjs <ws-url> [scenario ...]` runs interop scenarios against any server
//!   implementing the API and prints one JSON line per scenario.
//!
//! The helpers here start those scripts from Rust tests. The blocking helpers use
//! `std::process`; when the *Rust* side of a test runs inside a tokio runtime (a Rust server
//! that the Node client talks to), use the `*_async` variants so the runtime keeps running
//! while Node works.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::{OnceLock, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use serde::Deserialize;

pub(crate) use crate::scenarios::ALL_SCENARIOS;

/// The Node server script that serves the test API with capnweb 0.12.0.
pub(crate) const SERVER_SCRIPT: &str = "server.mjs";

/// How long a Node server may take to print its `LISTENING <port>` line.
const SERVER_START_TIMEOUT: Duration = Duration::from_secs(20);

/// Upper bound for one `client.mjs` run (each scenario is bounded at 5 s by the script itself).
const CLIENT_TIMEOUT: Duration = Duration::from_secs(60);

/// The directory holding the Node scripts and their `package.json`.
pub(crate) fn node_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("node")
}

/// Whether `tests/node/node_modules` holds the packages the scripts import.
fn node_modules_present(dir: &Path) -> bool {
    ["capnweb", "ws", "typescript", "esbuild"]
        .iter()
        .all(|package| {
            dir.join("node_modules")
                .join(package)
                .join("package.json")
                .is_file()
        })
}

/// Makes sure `tests/node/node_modules` is installed, running `npm ci --no-audit --no-fund` in
/// `tests/node` if `capnweb` (or `ws`) is missing.
///
/// Runs at most once per test process; concurrent callers wait for the first one. A lock file
/// under `CARGO_TARGET_TMPDIR` also serializes test processes that race on a fresh checkout.
///
/// # Panics
///
/// If npm cannot be run or fails.
pub(crate) fn ensure_node_modules() {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        let dir = node_dir();
        if node_modules_present(&dir) {
            return;
        }
        let lock_path = Path::new(env!("CARGO_TARGET_TMPDIR")).join("capnweb-suite-npm-ci.lock");
        let lock = File::create(&lock_path).unwrap_or_else(|err| {
            panic!("cannot create the npm lock file {}: {err}", lock_path.display())
        });
        lock.lock()
            .unwrap_or_else(|err| panic!("cannot lock {}: {err}", lock_path.display()));
        // Another test process may have installed the packages while we waited for the lock.
        if node_modules_present(&dir) {
            return;
        }
        let npm = if cfg!(windows) { "npm.cmd" } else { "npm" };
        let output = Command::new(npm)
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&dir)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|err| {
                panic!(
                    "cannot run `{npm} ci` in {}: {err}. The interop suite needs Node.js (20 or \
                     later) and npm on PATH.",
                    dir.display()
                )
            });
        if !output.status.success() || !node_modules_present(&dir) {
            panic!(
                "`{npm} ci --no-audit --no-fund` in {} failed ({}).\n--- stdout:\n{}\n--- stderr:\n{}",
                dir.display(),
                output.status,
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr),
            );
        }
    });
}

/// Builds `node <script> <args...>` run in [`node_dir`].
fn node_command(script: &str) -> Command {
    let mut command = Command::new("node");
    command.arg(script).current_dir(node_dir());
    command
}

/// Spawns `command`, with a clear panic if Node.js is not available.
fn spawn_node(command: &mut Command, what: &str) -> Child {
    command.spawn().unwrap_or_else(|err| {
        panic!("cannot start {what}: {err}. The interop suite needs Node.js (20 or later) on PATH.")
    })
}

/// Kills and reaps `child`, ignoring errors (it may already have exited).
fn kill_and_reap(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// A running Node server (`node <script>` in `tests/node`), killed when dropped.
///
/// The server keeps running as long as its stdin is open; this struct holds that pipe, so even
/// a test process that dies without running `Drop` takes the server down with it.
pub(crate) struct NodeServer {
    /// The TCP port the server listens on, on 127.0.0.1.
    pub port: u16,
    /// The `node` process.
    child: Child,
    /// The server's stdin; closing it asks the server to exit.
    stdin: Option<ChildStdin>,
}

impl NodeServer {
    /// Starts `node <script>` in `tests/node` and waits (up to 20 s) for its `LISTENING <port>`
    /// line. The server's stderr goes to the test's stderr.
    ///
    /// Blocks the calling thread; inside a tokio runtime that must keep serving something else
    /// meanwhile, use [`NodeServer::start_async`].
    ///
    /// # Panics
    ///
    /// If Node.js cannot be started or the server does not report its port in time.
    pub(crate) fn start(script: &str) -> NodeServer {
        NodeServer::start_with_env(script, &[])
    }

    /// [`NodeServer::start`] with extra environment variables (e.g. `TLS_CERT_FILE`).
    pub(crate) fn start_with_env(script: &str, env: &[(&str, &Path)]) -> NodeServer {
        ensure_node_modules();
        let mut command = node_command(script);
        for (name, value) in env {
            command.env(name, value);
        }
        let mut child = spawn_node(
            command
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit()),
            &format!("`node {script}`"),
        );
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().expect("stdout is piped");

        // A thread reads the first line and then keeps draining stdout, so a chatty server can
        // never block on a full pipe.
        let (first_line_tx, first_line_rx) = mpsc::channel();
        thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            let result = reader.read_line(&mut line).map(|_| line);
            let _ = first_line_tx.send(result);
            let _ = io::copy(&mut reader, &mut io::sink());
        });

        let failure = match first_line_rx.recv_timeout(SERVER_START_TIMEOUT) {
            Ok(Ok(line)) => match parse_listening_line(&line) {
                Some(port) => return NodeServer { port, child, stdin },
                None if line.is_empty() => {
                    let status = match wait_with_deadline(&mut child, Duration::from_secs(5)) {
                        Some(status) => status.to_string(),
                        None => "still running".to_owned(),
                    };
                    format!("its stdout ended before it reported a port ({status})")
                }
                None => format!("its first line was {line:?}, expected \"LISTENING <port>\""),
            },
            Ok(Err(err)) => format!("reading its stdout failed: {err}"),
            Err(_) => {
                format!("it did not print \"LISTENING <port>\" within {SERVER_START_TIMEOUT:?}")
            }
        };
        kill_and_reap(&mut child);
        panic!("Node server `node {script}` failed to start: {failure} (its stderr is above)");
    }

    /// [`NodeServer::start`] on tokio's blocking pool, for async tests.
    #[allow(dead_code)] // API for the interop tests
    pub(crate) async fn start_async(script: &str) -> NodeServer {
        let script = script.to_owned();
        tokio::task::spawn_blocking(move || NodeServer::start(&script))
            .await
            .unwrap_or_else(|err| std::panic::resume_unwind(err.into_panic()))
    }

    /// The WebSocket URL of the server: `ws://127.0.0.1:<port>/`.
    pub(crate) fn ws_url(&self) -> String {
        format!("ws://127.0.0.1:{}/", self.port)
    }

    /// The HTTP-batch URL of the server (any path accepts POST): `http://127.0.0.1:<port>/rpc`.
    #[allow(dead_code)] // API for the interop tests
    pub(crate) fn batch_url(&self) -> String {
        format!("http://127.0.0.1:{}/rpc", self.port)
    }
}

impl Drop for NodeServer {
    fn drop(&mut self) {
        // EOF on stdin makes the server exit by itself; kill it anyway in case it is stuck.
        drop(self.stdin.take());
        kill_and_reap(&mut self.child);
    }
}

/// Parses `LISTENING <port>` (with or without the trailing newline).
fn parse_listening_line(line: &str) -> Option<u16> {
    line.trim_end().strip_prefix("LISTENING ")?.parse().ok()
}

/// One JSON line printed by `client.mjs`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub(crate) struct ScenarioOutcome {
    /// The scenario name, e.g. `"pipeline.chain"`.
    pub scenario: String,
    /// Whether every check of the scenario (including its leak check) passed.
    pub ok: bool,
    /// On failure, what went wrong plus the tail of the wire transcript; on success, optional
    /// information.
    pub detail: String,
}

/// Runs `node client.mjs <url> <scenarios...>` (all scenarios when `scenarios` is empty) and
/// returns one outcome per reported scenario, in order. The client's stderr is printed with
/// `eprintln!` (shown by the test harness when the test fails).
///
/// Blocks the calling thread for as long as the client runs (at most 60 s). If the server under
/// test runs on a tokio runtime in this process, use [`run_client_async`] instead: blocking a
/// current-thread runtime here would starve that server.
///
/// # Panics
///
/// If the client cannot be started, times out, exits unsuccessfully or prints a line that is
/// not a scenario outcome.
pub(crate) fn run_client(url: &str, scenarios: &[&str]) -> Vec<ScenarioOutcome> {
    run_client_trusting(url, scenarios, None)
}

/// [`run_client`] with Node trusting the PEM certificates in `extra_ca` too (for `wss://`).
pub(crate) fn run_client_trusting(
    url: &str,
    scenarios: &[&str],
    extra_ca: Option<&Path>,
) -> Vec<ScenarioOutcome> {
    ensure_node_modules();
    let mut command = node_command("client.mjs");
    if let Some(ca) = extra_ca {
        command.env("NODE_EXTRA_CA_CERTS", ca);
    }
    let mut child = spawn_node(
        command
            .arg(url)
            .args(scenarios)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped()),
        "`node client.mjs`",
    );
    let stdout = read_all_in_background(child.stdout.take().expect("stdout is piped"));
    let stderr = read_all_in_background(child.stderr.take().expect("stderr is piped"));

    let status = wait_with_deadline(&mut child, CLIENT_TIMEOUT);
    let stdout = stdout.join().expect("stdout reader thread panicked");
    let stderr = stderr.join().expect("stderr reader thread panicked");
    if !stderr.trim().is_empty() {
        eprintln!("--- client.mjs stderr:\n{stderr}");
    }

    let context = || format!("--- stdout:\n{stdout}\n--- stderr:\n{stderr}");
    match status {
        None => panic!(
            "`node client.mjs {url} {}` did not finish within {CLIENT_TIMEOUT:?}\n{}",
            scenarios.join(" "),
            context()
        ),
        Some(status) if !status.success() => panic!(
            "`node client.mjs {url} {}` failed: {status}\n{}",
            scenarios.join(" "),
            context()
        ),
        Some(_) => {}
    }

    stdout
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            serde_json::from_str(line).unwrap_or_else(|err| {
                panic!(
                    "client.mjs printed a line that is not a scenario outcome ({err}): {line}\n{}",
                    context()
                )
            })
        })
        .collect()
}

/// Runs `node <script> <args...>` in `tests/node` to its end (bounded) and returns its
/// standard output; panics if it fails.
pub(crate) fn run_script(script: &str, args: &[&str]) -> String {
    ensure_node_modules();
    let mut child = spawn_node(
        node_command(script)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped()),
        script,
    );
    let stdout = read_all_in_background(child.stdout.take().expect("stdout is piped"));
    let stderr = read_all_in_background(child.stderr.take().expect("stderr is piped"));
    let status = wait_with_deadline(&mut child, CLIENT_TIMEOUT);
    let stdout = stdout.join().expect("stdout reader thread panicked");
    let stderr = stderr.join().expect("stderr reader thread panicked");
    match status {
        Some(status) if status.success() => stdout,
        other => panic!(
            "`node {script}` failed ({other:?})\n--- stdout:\n{stdout}\n--- stderr:\n{stderr}"
        ),
    }
}

/// [`run_client`] on tokio's blocking pool, so the current runtime (for example a Rust server
/// under test) keeps running while the Node client works.
#[allow(dead_code)] // API for the interop tests
pub(crate) async fn run_client_async(url: &str, scenarios: &[&str]) -> Vec<ScenarioOutcome> {
    let url = url.to_owned();
    let scenarios: Vec<String> = scenarios.iter().map(|s| (*s).to_owned()).collect();
    tokio::task::spawn_blocking(move || {
        let names: Vec<&str> = scenarios.iter().map(String::as_str).collect();
        run_client(&url, &names)
    })
    .await
    .unwrap_or_else(|err| std::panic::resume_unwind(err.into_panic()))
}

/// Reads `pipe` to the end on a new thread (lossy UTF-8).
fn read_all_in_background(mut pipe: impl Read + Send + 'static) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// Waits for `child` to exit; kills it and returns `None` once `timeout` has passed.
fn wait_with_deadline(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if Instant::now() >= deadline => {
                kill_and_reap(child);
                return None;
            }
            Ok(None) => thread::sleep(Duration::from_millis(20)),
            Err(err) => panic!("waiting for a Node process failed: {err}"),
        }
    }
}

/// Panics unless every scenario in `expected` was reported and every reported scenario passed.
/// The message lists each failed or missing scenario with its detail.
pub(crate) fn assert_all_ok(outcomes: &[ScenarioOutcome], expected: &[&str]) {
    let mut problems: Vec<String> = outcomes
        .iter()
        .filter(|outcome| !outcome.ok)
        .map(|outcome| format!("FAILED {}: {}", outcome.scenario, outcome.detail))
        .collect();
    problems.extend(
        expected
            .iter()
            .filter(|name| !outcomes.iter().any(|outcome| outcome.scenario == **name))
            .map(|name| format!("MISSING {name}: client.mjs did not report it")),
    );
    if !problems.is_empty() {
        panic!(
            "{} problem(s) in the client.mjs run ({} scenarios reported, {} expected):\n\n{}",
            problems.len(),
            outcomes.len(),
            expected.len(),
            problems.join("\n\n")
        );
    }
}

/// The harness itself: the Node client against the Node server (capnweb 0.12.0 on both ends).
/// Every scenario must pass here, which shows that the client's expectations match the
/// reference implementation.
#[test]
fn node_client_passes_against_node_server() {
    let server = NodeServer::start(SERVER_SCRIPT);
    let outcomes = run_client(&server.ws_url(), &[]);
    assert_all_ok(&outcomes, ALL_SCENARIOS);
    let reported: Vec<&str> = outcomes.iter().map(|o| o.scenario.as_str()).collect();
    assert_eq!(
        reported, ALL_SCENARIOS,
        "ALL_SCENARIOS must list client.mjs's scenarios in its order"
    );
}

/// Naming scenarios runs just those, and an unknown name is reported as a failure.
#[test]
fn node_client_runs_named_scenarios_only() {
    let server = NodeServer::start(SERVER_SCRIPT);
    let outcomes = run_client(&server.ws_url(), &["call.simple", "no.such-scenario"]);
    assert_eq!(outcomes.len(), 2, "{outcomes:?}");
    assert_eq!(outcomes[0].scenario, "call.simple");
    assert!(outcomes[0].ok, "{outcomes:?}");
    assert_eq!(outcomes[1].scenario, "no.such-scenario");
    assert!(!outcomes[1].ok, "{outcomes:?}");
}
