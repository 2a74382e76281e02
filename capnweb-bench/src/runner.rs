//! Runs the scenarios: starts the servers, runs every client process once per run (the
//! implementations interleaved, so slow drift of a shared machine hits them alike), and
//! collects the figures.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::cli::Options;
use crate::plan::{self, Case, Client, Server};
use crate::procs::{Child, Sched, rss_kib};

/// How long a server may take to print `LISTENING`.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// The figures of one client run (see `client::Report`; scenario g adds its own).
pub type Sample = HashMap<String, f64>;

/// Every run of one case.
pub struct CaseResult {
    /// What was measured.
    pub case: Case,
    /// One entry per successful run.
    pub samples: Vec<Sample>,
    /// What went wrong in the other runs.
    pub errors: Vec<String>,
}

/// One scenario of one pass.
pub struct ScenarioResult {
    /// The scenario letter.
    pub scenario: char,
    /// Timed repetitions per run.
    pub count: u64,
    /// The cases, in table order.
    pub cases: Vec<CaseResult>,
    /// Each long-lived server's resident memory (KiB) once every run was over: a leak shows as
    /// growth here.
    pub server_rss: Vec<(String, u64)>,
}

/// Where the programs are.
pub struct Programs {
    /// This binary (servers and Rust clients).
    pub exe: PathBuf,
    /// `tests/node/bench`.
    pub node_bench: PathBuf,
    /// The payload file of scenario d.
    pub payload: PathBuf,
}

/// A started server.
struct Running {
    child: Child,
    port: u16,
}

fn start_server(programs: &Programs, server: Server, sched: Sched) -> Result<Running, String> {
    let mut child = match server {
        Server::Rust(kind) => Child::spawn(
            &format!("server {}", kind.name()),
            &programs.exe,
            &["serve".to_owned(), kind.name().to_owned()],
            sched,
            None,
        )?,
        Server::Node => Child::spawn(
            "server node",
            Path::new("node"),
            &[path_arg(&programs.node_bench.join("server.mjs"))],
            sched,
            Some(&programs.node_bench),
        )?,
    };
    let port = child
        .expect_line("LISTENING ", START_TIMEOUT)?
        .parse()
        .map_err(|e| format!("bad LISTENING line: {e}"))?;
    Ok(Running { child, port })
}

fn path_arg(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// Runs one client process for `case` and returns its figures.
fn run_client(
    programs: &Programs,
    options: &Options,
    sched: Sched,
    scenario: char,
    case: &Case,
    server: &Running,
) -> Result<Sample, String> {
    let count = plan::count(scenario, &options.counts);
    let run_as = plan::client_scenario(scenario);
    let url = if run_as == 'e' {
        format!("http://127.0.0.1:{}/", server.port)
    } else {
        format!("ws://127.0.0.1:{}/", server.port)
    };
    let extra = match run_as {
        'd' => path_arg(&programs.payload),
        'h' => options.counts.h_ids.to_string(),
        'i' => plan::STREAM_CHUNKS.to_string(),
        _ => String::new(),
    };
    let common = vec![
        run_as.to_string(),
        url,
        count.to_string(),
        plan::warmup(count).to_string(),
        server.child.pid().to_string(),
        extra,
    ];
    let mut child = match case.client {
        Client::Rust(kind) => {
            let mut args = vec!["client".to_owned(), kind.to_owned()];
            args.extend(common);
            Child::spawn(&format!("client {kind}"), &programs.exe, &args, sched, None)?
        }
        Client::Node => {
            let mut args = vec![path_arg(&programs.node_bench.join("client.mjs"))];
            args.extend(common);
            Child::spawn(
                "client node",
                Path::new("node"),
                &args,
                sched,
                Some(&programs.node_bench),
            )?
        }
        Client::Hold => return Err("hold is not a timed client".into()),
    };
    let line = child.expect_line("RESULT ", Duration::from_secs(options.timeout_secs))?;
    child.finish(Duration::from_secs(5));
    serde_json::from_str(&line).map_err(|e| format!("bad RESULT line {line:?}: {e}"))
}

/// Runs one scenario in one pass.
pub fn run_scenario(
    programs: &Programs,
    options: &Options,
    sched: Sched,
    scenario: char,
) -> ScenarioResult {
    let count = plan::count(scenario, &options.counts);
    let cases = plan::cases(scenario, options.our_server);
    let mut results: Vec<CaseResult> = cases
        .iter()
        .map(|case| CaseResult {
            case: *case,
            samples: Vec::new(),
            errors: Vec::new(),
        })
        .collect();
    if scenario == 'g' {
        for run in 0..options.runs.min(3) {
            for result in &mut results {
                let outcome = idle_sessions(programs, sched, result.case.server, count);
                record(scenario, sched, run, options.runs.min(3), result, outcome);
            }
        }
        return ScenarioResult {
            scenario,
            count,
            cases: results,
            server_rss: Vec::new(),
        };
    }
    let mut servers: HashMap<Server, Result<Running, String>> = HashMap::new();
    for case in &cases {
        servers
            .entry(case.server)
            .or_insert_with(|| start_server(programs, case.server, sched));
    }
    for run in 0..options.runs {
        for result in &mut results {
            let outcome = match &servers[&result.case.server] {
                Ok(server) => run_client(programs, options, sched, scenario, &result.case, server),
                Err(e) => Err(format!("server did not start: {e}")),
            };
            record(scenario, sched, run, options.runs, result, outcome);
        }
    }
    let mut server_rss = Vec::new();
    for case in &cases {
        if let Some(Ok(server)) = servers.remove(&case.server) {
            let name = match case.server {
                Server::Rust(kind) => kind.name(),
                Server::Node => "node",
            };
            if let Some(kib) = rss_kib(server.child.pid()) {
                server_rss.push((name.to_owned(), kib));
            }
            server.child.finish(Duration::from_secs(5));
        }
    }
    ScenarioResult {
        scenario,
        count,
        cases: results,
        server_rss,
    }
}

fn record(
    scenario: char,
    sched: Sched,
    run: usize,
    runs: usize,
    result: &mut CaseResult,
    outcome: Result<Sample, String>,
) {
    let pass = match sched {
        Sched::Free => "free",
        Sched::Pinned => "pinned",
    };
    let label = result.case.label;
    match outcome {
        Ok(sample) => {
            let imports = sample.get("client_imports").copied().unwrap_or(1.0);
            let exports = sample.get("client_exports").copied().unwrap_or(1.0);
            if imports > 1.0 || exports > 1.0 {
                eprintln!(
                    "[{pass}] {scenario} {label}: LEAK? the client session still holds \
                     {imports} imports and {exports} exports after the run"
                );
            }
            eprintln!(
                "[{pass}] {scenario} {label}: run {}/{runs}: {}",
                run + 1,
                crate::metrics::headline(scenario, &sample)
            );
            result.samples.push(sample);
        }
        Err(e) => {
            eprintln!(
                "[{pass}] {scenario} {label}: run {}/{runs} FAILED: {e}",
                run + 1
            );
            result.errors.push(e);
        }
    }
}

/// Scenario g, one run: a fresh server, its RSS with no sessions (after 100 were opened and
/// closed) and with `count` idle sessions held open by the `hold` client.
fn idle_sessions(
    programs: &Programs,
    sched: Sched,
    server: Server,
    count: u64,
) -> Result<Sample, String> {
    let running = start_server(programs, server, sched)?;
    let pid = running.child.pid();
    let url = format!("ws://127.0.0.1:{}/", running.port);
    let mut hold = Child::spawn(
        "client hold",
        &programs.exe,
        &["hold".to_owned(), url],
        sched,
        None,
    )?;
    let timeout = Duration::from_secs(300);
    hold.send_line("open 100")?;
    hold.expect_line("OPEN ", timeout)?;
    hold.send_line("close")?;
    hold.expect_line("CLOSED", timeout)?;
    std::thread::sleep(Duration::from_secs(1));
    let before = rss_kib(pid).ok_or("cannot read the server's VmRSS")?;
    hold.send_line(&format!("open {count}"))?;
    let answer = hold.expect_line("OPEN ", timeout)?;
    let mut words = answer.splitn(3, ' ');
    let held: f64 = words.next().and_then(|w| w.parse().ok()).unwrap_or(0.0);
    let failed: f64 = words.next().and_then(|w| w.parse().ok()).unwrap_or(0.0);
    let first_error = words.next().unwrap_or("").to_owned();
    // Let the server finish setting up the last sessions.
    std::thread::sleep(Duration::from_secs(2));
    let after = rss_kib(pid).ok_or("cannot read the server's VmRSS")?;
    hold.send_line("close")?;
    let _ = hold.expect_line("CLOSED", timeout);
    hold.finish(Duration::from_secs(5));
    running.child.finish(Duration::from_secs(5));
    if held == 0.0 {
        return Err(format!("no session could be opened: {first_error}"));
    }
    if failed > 0.0 {
        eprintln!("[g] {failed} of {count} connections failed; first error: {first_error}");
    }
    let mut sample = Sample::new();
    sample.insert("held".into(), held);
    sample.insert("failed".into(), failed);
    sample.insert("rss_before_kib".into(), before as f64);
    sample.insert("rss_after_kib".into(), after as f64);
    sample.insert(
        "kib_per_session".into(),
        (after as f64 - before as f64) / held,
    );
    Ok(sample)
}
