//! `capnweb-bench client ...` and `capnweb-bench hold <url>`: the Rust clients, each a process
//! of its own.
//!
//! A client warms up, then times one run, reading its own CPU time and the server's from
//! `/proc/<pid>/stat` around the timed part, and prints one line `RESULT {json}` with at least
//! `ops`, `elapsed_s`, `client_ticks` and `server_ticks` (the Node client prints the same).

mod hold;
mod jsonrpsee;
mod ours;
mod raw;

use std::io::Write;
use std::time::Instant;

use serde_json::{Map, Value};

use crate::procs::cpu_ticks;

/// What one client run is asked to do.
#[derive(Clone, Debug)]
pub struct Job {
    /// Scenario letter.
    pub scenario: char,
    /// `ws://127.0.0.1:<port>/` (or `http://...` for scenario e).
    pub url: String,
    /// Timed repetitions.
    pub count: u64,
    /// Untimed repetitions first.
    pub warmup: u64,
    /// The server's pid, for its CPU time.
    pub server_pid: u32,
    /// Scenario-specific: the payload file (d) or the elements per map (h).
    pub extra: String,
}

/// The Rust clients.
pub const KINDS: [&str; 4] = ["ours", "jsonrpsee", "raw", "raw-batched"];

/// Runs `client <kind> <scenario> <url> <count> <warmup> <server-pid> [extra]` and prints its
/// `RESULT` line.
pub fn main(args: &[String]) -> Result<(), String> {
    let [kind, scenario, url, count, warmup, pid, rest @ ..] = args else {
        return Err(
            "client: expected <kind> <scenario> <url> <count> <warmup> <server-pid>".into(),
        );
    };
    let number = |s: &str| s.parse::<u64>().map_err(|e| format!("client: {s:?}: {e}"));
    let job = Job {
        scenario: scenario.chars().next().unwrap_or('?'),
        url: url.clone(),
        count: number(count)?,
        warmup: number(warmup)?,
        server_pid: u32::try_from(number(pid)?).map_err(|e| e.to_string())?,
        extra: rest.first().cloned().unwrap_or_default(),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    // The client runs as a task on a worker thread, not on the `block_on` thread: there every
    // wake-up from the I/O driver (on a worker) would cost a cross-thread futex wake, for every
    // implementation alike.
    let kind = kind.clone();
    let report = runtime.block_on(async move {
        let task = tokio::spawn(async move {
            match kind.as_str() {
                "ours" => ours::run(&job).await,
                "jsonrpsee" => jsonrpsee::run(&job).await,
                "raw" => raw::run(&job, false).await,
                "raw-batched" => raw::run(&job, true).await,
                other => Err(format!("client: unknown kind {other:?} (one of {KINDS:?})")),
            }
        });
        task.await.map_err(|e| format!("client task: {e}"))?
    })?;
    let mut out = std::io::stdout();
    writeln!(out, "RESULT {}", Value::Object(report.0)).map_err(|e| e.to_string())?;
    out.flush().map_err(|e| e.to_string())?;
    // Do not wait for connections to close gracefully.
    std::process::exit(0)
}

/// Runs `hold <url>`: see [`hold`].
pub fn hold_main(args: &[String]) -> Result<(), String> {
    let url = args.first().ok_or("hold: expected <url>")?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(hold::run(url))
}

/// The figures of one timed run.
pub struct Report(pub Map<String, Value>);

impl Report {
    /// Adds a figure.
    pub fn set(&mut self, key: &str, value: f64) {
        self.0.insert(key.to_owned(), Value::from(value));
    }
}

/// Wall clock and CPU time (both processes) since [`Meter::start`].
pub struct Meter {
    server_pid: u32,
    started: Instant,
    client_ticks: u64,
    server_ticks: u64,
}

impl Meter {
    /// Starts measuring.
    pub fn start(server_pid: u32) -> Meter {
        Meter {
            server_pid,
            client_ticks: cpu_ticks(std::process::id()).unwrap_or(0),
            server_ticks: cpu_ticks(server_pid).unwrap_or(0),
            started: Instant::now(),
        }
    }

    /// Stops measuring: `ops` repetitions were timed.
    pub fn stop(self, ops: u64) -> Report {
        let elapsed = self.started.elapsed().as_secs_f64();
        let client = cpu_ticks(std::process::id()).unwrap_or(0);
        let server = cpu_ticks(self.server_pid).unwrap_or(0);
        let mut report = Report(Map::new());
        report.set("ops", ops as f64);
        report.set("elapsed_s", elapsed);
        report.set(
            "client_ticks",
            client.saturating_sub(self.client_ticks) as f64,
        );
        report.set(
            "server_ticks",
            server.saturating_sub(self.server_ticks) as f64,
        );
        report
    }
}

/// Adds context to an error and turns it into the client's error string.
pub trait Context<T> {
    /// `Err(e)` becomes `Err("<what>: <e>")`.
    fn ctx(self, what: &str) -> Result<T, String>;
}

impl<T, E: std::fmt::Display> Context<T> for Result<T, E> {
    fn ctx(self, what: &str) -> Result<T, String> {
        self.map_err(|e| format!("{what}: {e}"))
    }
}

/// Fails with a message when `got != want`.
pub fn check<T: PartialEq + std::fmt::Debug>(what: &str, got: T, want: T) -> Result<(), String> {
    if got == want {
        Ok(())
    } else {
        Err(format!("{what}: got {got:?}, expected {want:?}"))
    }
}

/// A frame the size of a capnweb `push` of `add(i, 1)`.
pub fn push_frame(i: u64) -> String {
    format!(r#"["push",["pipeline",0,["add"],[{i},1]]]"#)
}
