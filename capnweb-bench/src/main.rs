//! `capnweb-bench`: runs scenarios a-h of `shared/performance.md` and i (stream throughput) for
//! capnweb-rs and, in the same run, for the references (npm capnweb 0.12.0 on Node as server
//! and client, jsonrpsee 0.26 over WebSocket, a raw tokio-tungstenite echo), and prints the
//! tables with the ratios the targets are stated in.
//!
//! ```text
//! cargo run --release -p capnweb-bench -- --write docs/performance.md
//! ```
//!
//! Every server and client is a process of its own on 127.0.0.1: this binary re-executes itself
//! (`serve <kind>`, `client <kind> ...`, `hold <url>`) for the Rust sides and runs the scripts
//! of `tests/node/bench/` with `node` for the Node sides. See `--help` for the options.
//!
//! `capnweb-bench soak [--quick]` runs the soak and scale items of issue 15 instead (see
//! `soak --help`).
//!
//! By hand, for profiling one side: `capnweb-bench serve ours-http` prints `LISTENING <port>`;
//! `capnweb-bench client ours b ws://127.0.0.1:<port>/ 200000 0 <server-pid>` runs one timed
//! run (`payload <path>` writes scenario d's payload for `client <kind> d ... <path>`).

mod api;
mod cli;
mod client;
mod machine;
mod metrics;
mod payload;
mod plan;
mod procs;
mod report;
mod runner;
mod serve;
mod soak;
mod stats;
mod targets;

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::procs::Sched;
use crate::runner::Programs;
use crate::targets::Pass;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("serve") => serve::main(&args[1..]),
        Some("client") => client::main(&args[1..]),
        Some("hold") => client::hold_main(&args[1..]),
        Some("soak") => soak::main(&args[1..]),
        Some("soak-storm") => soak::storm_main(&args[1..]),
        // Writes scenario d's payload, to run a client by hand (profiling).
        Some("payload") => match args.get(1) {
            Some(path) => std::fs::write(path, payload::payload().to_string())
                .map_err(|e| format!("{path}: {e}")),
            None => Err("payload: expected <path>".into()),
        },
        _ => orchestrate(&args),
    };
    if let Err(e) = result {
        eprintln!("capnweb-bench: {e}");
        std::process::exit(1);
    }
}

/// A scratch directory removed on drop (also when a panic unwinds).
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn orchestrate(args: &[String]) -> Result<(), String> {
    let Some(options) = cli::parse(args)? else {
        return Ok(());
    };
    if cfg!(debug_assertions) {
        eprintln!("capnweb-bench: WARNING: a debug build; run with --release for real numbers");
    }
    let fd_limit = procs::raise_fd_limit();
    if options.only.contains(&'g') && fd_limit < options.counts.g + 200 {
        eprintln!(
            "capnweb-bench: the open-file limit is {fd_limit}: scenario g holds as many of its {} \
             sessions as it can and reports how many",
            options.counts.g
        );
    }
    let _ = metrics::CLOCK_TICKS.set(procs::clock_ticks_per_second());
    if options.passes.contains(&Sched::Pinned)
        && !Command::new("taskset")
            .arg("-V")
            .output()
            .is_ok_and(|o| o.status.success())
    {
        return Err("--pin needs `taskset` (util-linux)".into());
    }
    let node_bench = prepare_node(&options.node_dir)?;

    let scratch =
        TempDir(std::env::temp_dir().join(format!("capnweb-bench-{}", std::process::id())));
    std::fs::create_dir_all(&scratch.0).map_err(|e| e.to_string())?;
    let payload_path = scratch.0.join("payload.json");
    std::fs::write(&payload_path, payload::payload().to_string()).map_err(|e| e.to_string())?;
    // Servers and clients re-execute a private copy of this binary: a `cargo build` during the
    // run (the workspace is shared) must not swap the program between passes.
    let exe = scratch.0.join("capnweb-bench");
    std::fs::copy(std::env::current_exe().map_err(|e| e.to_string())?, &exe)
        .map_err(|e| format!("cannot copy the bench binary: {e}"))?;
    let programs = Programs {
        exe,
        node_bench,
        payload: payload_path,
    };
    let notes = machine::MachineNotes::collect(&options.node_dir, fd_limit);

    let mut passes = Vec::new();
    for &sched in &options.passes {
        eprintln!("capnweb-bench: pass: {}", sched.label());
        let mut scenarios = Vec::new();
        for &scenario in &options.only {
            let result = runner::run_scenario(&programs, &options, sched, scenario);
            println!("{}", report::scenario_table(&result, options.runs));
            scenarios.push(result);
        }
        passes.push(Pass { sched, scenarios });
    }
    println!("### Targets\n\n{}", report::targets_table(&passes));
    if let Some(path) = &options.write {
        let block = report::block(&passes, &options, &notes);
        report::write(path, &block).map_err(|e| format!("{}: {e}", path.display()))?;
        eprintln!("capnweb-bench: wrote {}", path.display());
    }
    Ok(())
}

/// Checks that `node` runs and that `tests/node` has its dependencies (`npm ci` otherwise);
/// returns `tests/node/bench`.
fn prepare_node(node_dir: &Path) -> Result<PathBuf, String> {
    let bench = node_dir.join("bench");
    if !bench.join("client.mjs").is_file() {
        return Err(format!(
            "{} has no client.mjs (see --node-dir)",
            bench.display()
        ));
    }
    if procs::command_output("node", &["--version"]).is_none() {
        return Err("`node` is not on PATH (Node 20 is needed for the references)".into());
    }
    if !node_dir.join("node_modules/capnweb").is_dir() || !node_dir.join("node_modules/ws").is_dir()
    {
        eprintln!(
            "capnweb-bench: installing the Node dependencies (npm ci in {})",
            node_dir.display()
        );
        let status = Command::new("npm")
            .arg("ci")
            .current_dir(node_dir)
            .status()
            .map_err(|e| format!("npm ci: {e}"))?;
        if !status.success() {
            return Err(format!("npm ci failed in {}", node_dir.display()));
        }
    }
    Ok(bench)
}
