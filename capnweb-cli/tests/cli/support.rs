//! Running the built `capnweb` binary, the Node peers (npm capnweb 0.12.0 in `tests/node`),
//! and reading the proxy's log.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

/// Upper bound for one run of the binary or of a Node script.
const PROCESS_TIMEOUT: Duration = Duration::from_secs(60);

/// What a finished `capnweb` printed and how it exited.
#[derive(Debug)]
pub struct Run {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// The exit code (panics if a signal ended it).
    pub fn code(&self) -> i32 {
        self.status.code().expect("capnweb ended by a signal")
    }
}

fn capnweb() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_capnweb"));
    command.env("NO_COLOR", "1").kill_on_drop(true);
    command
}

/// Runs `capnweb args...` with `stdin` as its input, to its end (bounded).
pub async fn capnweb_with_input(args: &[&str], stdin: &str) -> Run {
    let mut child = capnweb()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start capnweb");
    let mut input = child.stdin.take().expect("piped");
    input
        .write_all(stdin.as_bytes())
        .await
        .expect("write stdin");
    drop(input);
    finish(child, args).await
}

/// Runs `capnweb args...` with no input, to its end (bounded).
pub async fn capnweb_run(args: &[&str]) -> Run {
    capnweb_with_input(args, "").await
}

async fn finish(mut child: Child, args: &[&str]) -> Run {
    let mut stdout = child.stdout.take().expect("piped");
    let mut stderr = child.stderr.take().expect("piped");
    let read = async {
        let (mut out, mut err) = (String::new(), String::new());
        let _ = tokio::join!(
            stdout.read_to_string(&mut out),
            stderr.read_to_string(&mut err)
        );
        let status = child.wait().await.expect("wait for capnweb");
        (status, out, err)
    };
    let (status, stdout, stderr) = tokio::time::timeout(PROCESS_TIMEOUT, read)
        .await
        .unwrap_or_else(|_| panic!("capnweb {args:?} did not finish within {PROCESS_TIMEOUT:?}"));
    Run {
        status,
        stdout,
        stderr,
    }
}

/// A `capnweb repl` driven line by line.
pub struct Repl {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
}

impl Repl {
    /// Starts `capnweb repl url`.
    pub fn start(url: &str) -> Repl {
        let mut child = capnweb()
            .args(["repl", url])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start capnweb repl");
        let stdin = child.stdin.take();
        let stdout = BufReader::new(child.stdout.take().expect("piped"));
        Repl {
            child,
            stdin,
            stdout,
        }
    }

    /// Sends one line.
    pub async fn send(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin still open");
        stdin
            .write_all(format!("{line}\n").as_bytes())
            .await
            .expect("write to the repl");
        stdin.flush().await.expect("flush");
    }

    /// The next line the REPL prints on stdout (bounded wait).
    pub async fn read_line(&mut self) -> String {
        let mut line = String::new();
        tokio::time::timeout(Duration::from_secs(10), self.stdout.read_line(&mut line))
            .await
            .expect("the repl printed nothing within 10 s")
            .expect("read the repl's stdout");
        line.trim_end_matches('\n').to_owned()
    }

    /// Sends `line` and returns the line printed for it.
    pub async fn eval(&mut self, line: &str) -> String {
        self.send(line).await;
        self.read_line().await
    }

    /// Closes its input and waits for it to exit; returns what it printed on stderr.
    pub async fn finish(mut self) -> Run {
        drop(self.stdin.take());
        let mut rest = String::new();
        let _ = self.stdout.read_to_string(&mut rest).await;
        let mut child = self.child;
        let mut stderr = child.stderr.take().expect("piped");
        let mut err = String::new();
        let status = tokio::time::timeout(PROCESS_TIMEOUT, async {
            let _ = stderr.read_to_string(&mut err).await;
            child.wait().await.expect("wait for the repl")
        })
        .await
        .expect("the repl did not exit after the end of its input");
        Run {
            status,
            stdout: rest,
            stderr: err,
        }
    }
}

/// A running `capnweb proxy`, killed when dropped.
pub struct Proxy {
    /// `127.0.0.1:<port>` it listens on.
    pub address: String,
    log: PathBuf,
    _child: Child,
}

impl Proxy {
    /// Starts `capnweb proxy --listen 127.0.0.1:0 --to <to> --log <temporary file>` and waits
    /// for the address it reports.
    pub async fn start(to: &str) -> Proxy {
        Proxy::start_with(to, &[]).await
    }

    /// [`Proxy::start`] with more arguments.
    pub async fn start_with(to: &str, more: &[&str]) -> Proxy {
        static COUNT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = COUNT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let log = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("proxy-{}-{n}.log", std::process::id()));
        let mut child = capnweb()
            .args(["proxy", "--listen", "127.0.0.1:0", "--to", to, "--log"])
            .arg(&log)
            .args(more)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start capnweb proxy");
        let mut stderr = BufReader::new(child.stderr.take().expect("piped"));
        let mut line = String::new();
        tokio::time::timeout(Duration::from_secs(10), stderr.read_line(&mut line))
            .await
            .expect("the proxy did not report its address within 10 s")
            .expect("read the proxy's stderr");
        let address = line
            .split("listening on ")
            .nth(1)
            .and_then(|rest| rest.split(',').next())
            .unwrap_or_else(|| panic!("unexpected first line from the proxy: {line:?}"))
            .to_owned();
        Proxy {
            address,
            log,
            _child: child,
        }
    }

    /// The proxy's URL with `scheme` and `path`.
    pub fn url(&self, scheme: &str, path: &str) -> String {
        format!("{scheme}://{}{path}", self.address)
    }

    /// The log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The log's entries so far.
    pub fn entries(&self) -> Vec<Entry> {
        parse_log(&self.log())
    }

    /// Waits (bounded) until `check` holds for the log's entries; returns them.
    pub async fn wait_for(&self, what: &str, check: impl Fn(&[Entry]) -> bool) -> Vec<Entry> {
        for _ in 0..300 {
            let entries = self.entries();
            if check(&entries) {
                return entries;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("the proxy log never showed {what}:\n{}", self.log());
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.log);
    }
}

/// One entry of the proxy's log.
#[derive(Clone, Debug)]
pub struct Entry {
    /// The session number.
    pub session: u64,
    /// `ws` or `batch`.
    pub kind: String,
    /// What follows the bracket: `client -> server`, `opened`, ...
    pub what: String,
    /// The message (de-indented), for messages.
    pub body: String,
}

impl Entry {
    /// For a message: the JSON it carried.
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_str(&self.body).ok()
    }

    /// Whether this is a message from the client.
    pub fn to_server(&self) -> bool {
        self.what == "client -> server"
    }

    /// Whether this is a message from the server.
    pub fn to_client(&self) -> bool {
        self.what == "server -> client"
    }

    /// A message's kind (`push`, `pull`, `resolve`, ...).
    pub fn message_kind(&self) -> Option<String> {
        self.json()?.get(0)?.as_str().map(str::to_owned)
    }
}

/// Splits the log into entries: a `[#N kind +T ms] what` line, then indented lines.
pub fn parse_log(text: &str) -> Vec<Entry> {
    let mut entries: Vec<Entry> = Vec::new();
    for line in text.lines() {
        if let Some(body) = line.strip_prefix("  ") {
            if let Some(last) = entries.last_mut() {
                if !last.body.is_empty() {
                    last.body.push('\n');
                }
                last.body.push_str(body);
            }
            continue;
        }
        let Some(rest) = line.strip_prefix("[#") else {
            continue;
        };
        let (tag, what) = rest.split_once("] ").unwrap_or((rest, ""));
        let mut parts = tag.split(' ');
        let session = parts.next().and_then(|n| n.parse().ok()).unwrap_or(0);
        let kind = parts.next().unwrap_or("").to_owned();
        entries.push(Entry {
            session,
            kind,
            what: what.to_owned(),
            body: String::new(),
        });
    }
    entries
}

// ---------------------------------------------------------------------------------------------
// Node (npm capnweb 0.12.0 in tests/node)
// ---------------------------------------------------------------------------------------------

/// `tests/node` of the workspace.
pub fn node_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("tests")
        .join("node")
}

fn node_modules_present(dir: &Path) -> bool {
    ["capnweb", "ws"].iter().all(|p| {
        dir.join("node_modules")
            .join(p)
            .join("package.json")
            .is_file()
    })
}

/// Runs `npm ci` in `tests/node` once if its packages are missing (a lock file serializes
/// test processes that race on a fresh checkout).
pub fn ensure_node_modules() {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        let dir = node_dir();
        if node_modules_present(&dir) {
            return;
        }
        let lock_path = Path::new(env!("CARGO_TARGET_TMPDIR")).join("capnweb-cli-npm-ci.lock");
        let lock = File::create(&lock_path).expect("create the npm lock file");
        lock.lock().expect("lock the npm lock file");
        if node_modules_present(&dir) {
            return;
        }
        let output = std::process::Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&dir)
            .stdin(Stdio::null())
            .output()
            .expect("run npm ci (the tests need Node.js 20+ and npm)");
        assert!(
            output.status.success() && node_modules_present(&dir),
            "npm ci failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    });
}

/// The npm capnweb reference server (`tests/node/server.mjs`), killed when dropped.
pub struct NodeServer {
    /// Its port on 127.0.0.1.
    pub port: u16,
    _child: Child,
}

impl NodeServer {
    /// Starts it and waits for its `LISTENING <port>` line.
    pub async fn start() -> NodeServer {
        tokio::task::spawn_blocking(ensure_node_modules)
            .await
            .expect("npm ci");
        let mut child = Command::new("node")
            .arg("server.mjs")
            .current_dir(node_dir())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("start node server.mjs (the tests need Node.js 20+)");
        let mut stdout = BufReader::new(child.stdout.take().expect("piped"));
        let mut line = String::new();
        tokio::time::timeout(Duration::from_secs(20), stdout.read_line(&mut line))
            .await
            .expect("node server.mjs did not report its port within 20 s")
            .expect("read its stdout");
        let port = line
            .trim()
            .strip_prefix("LISTENING ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("unexpected first line from server.mjs: {line:?}"));
        NodeServer {
            port,
            _child: child,
        }
    }
}

/// One line of `client.mjs` / `batch-client.mjs`.
#[derive(Debug, serde::Deserialize)]
pub struct Outcome {
    pub scenario: String,
    pub ok: bool,
    pub detail: String,
}

/// Runs `node <script> <url>` (every scenario) and returns its outcomes.
pub async fn run_node_client(script: &str, url: &str) -> Vec<Outcome> {
    tokio::task::spawn_blocking(ensure_node_modules)
        .await
        .expect("npm ci");
    let child = Command::new("node")
        .args([script, url])
        .current_dir(node_dir())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start node");
    let run = finish(child, &[script, url]).await;
    assert!(run.status.success(), "node {script} failed: {run:?}");
    run.stdout
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not an outcome ({e}): {l}")))
        .collect()
}

/// Panics unless every scenario in `expected` was reported and passed.
pub fn assert_all_ok(outcomes: &[Outcome], expected: &[&str]) {
    let problems: Vec<String> = expected
        .iter()
        .filter_map(|name| match outcomes.iter().find(|o| o.scenario == *name) {
            None => Some(format!("MISSING {name}")),
            Some(o) if !o.ok => Some(format!("FAILED {name}: {}", o.detail)),
            Some(_) => None,
        })
        .collect();
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

/// Polls `check` (at most 3 s) until it holds.
pub async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    for _ in 0..300 {
        if check() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("timed out waiting for: {what}");
}

/// Tasks alive on the current runtime.
pub fn alive_tasks() -> usize {
    tokio::runtime::Handle::current()
        .metrics()
        .num_alive_tasks()
}

/// Waits (at most 3 s) until the runtime runs no more than `expected` tasks.
pub async fn assert_tasks_at_most(expected: usize) {
    for _ in 0..300 {
        if alive_tasks() <= expected {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!(
        "{} tasks still running, expected at most {expected}",
        alive_tasks()
    );
}
