//! Runs `tests/node/batch-client.mjs`: the real capnweb 0.12.0 HTTP batch client
//! (`newHttpBatchRpcSession`) running scenarios against any server of the test API.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::node::{ScenarioOutcome, ensure_node_modules, node_dir};
pub(crate) use crate::scenarios::BATCH_SCENARIOS;

/// Upper bound for one `batch-client.mjs` run (each scenario is bounded at 5 s by the script).
const CLIENT_TIMEOUT: Duration = Duration::from_secs(90);

/// Runs `node batch-client.mjs <url> <scenarios...>` (all when `scenarios` is empty) on the
/// blocking pool, so a server under test on the current runtime keeps running, and returns one
/// outcome per reported scenario.
///
/// # Panics
///
/// If Node cannot be started, times out, fails, or prints a line that is not an outcome.
pub(crate) async fn run_batch_client(url: &str, scenarios: &[&str]) -> Vec<ScenarioOutcome> {
    run_batch_client_trusting(url, scenarios, None).await
}

/// [`run_batch_client`] with Node trusting the PEM certificates in `extra_ca` too (for
/// `https://`).
pub(crate) async fn run_batch_client_trusting(
    url: &str,
    scenarios: &[&str],
    extra_ca: Option<std::path::PathBuf>,
) -> Vec<ScenarioOutcome> {
    let url = url.to_owned();
    let scenarios: Vec<String> = scenarios.iter().map(|s| (*s).to_owned()).collect();
    tokio::task::spawn_blocking(move || run_blocking(&url, &scenarios, extra_ca))
        .await
        .unwrap_or_else(|err| std::panic::resume_unwind(err.into_panic()))
}

fn run_blocking(
    url: &str,
    scenarios: &[String],
    extra_ca: Option<std::path::PathBuf>,
) -> Vec<ScenarioOutcome> {
    ensure_node_modules();
    let mut command = Command::new("node");
    if let Some(ca) = extra_ca {
        command.env("NODE_EXTRA_CA_CERTS", ca);
    }
    let mut child = command
        .arg("batch-client.mjs")
        .arg(url)
        .args(scenarios)
        .current_dir(node_dir())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|err| {
            panic!("cannot start `node batch-client.mjs`: {err} (needs Node.js 20+ on PATH)")
        });
    let stdout = read_in_background(child.stdout.take().expect("piped"));
    let stderr = read_in_background(child.stderr.take().expect("piped"));
    let deadline = Instant::now() + CLIENT_TIMEOUT;
    let status = loop {
        match child.try_wait().expect("waiting for node") {
            Some(status) => break Some(status),
            None if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            None => std::thread::sleep(Duration::from_millis(20)),
        }
    };
    let stdout = stdout.join().expect("stdout reader");
    let stderr = stderr.join().expect("stderr reader");
    if !stderr.trim().is_empty() {
        eprintln!("--- batch-client.mjs stderr:\n{stderr}");
    }
    match status {
        Some(status) if status.success() => {}
        other => panic!(
            "`node batch-client.mjs {url}` did not finish cleanly ({other:?})\n\
             --- stdout:\n{stdout}"
        ),
    }
    stdout
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            serde_json::from_str(line)
                .unwrap_or_else(|err| panic!("not a scenario outcome ({err}): {line}"))
        })
        .collect()
}

fn read_in_background(mut pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// The detail a scenario reported (it must have been reported).
pub(crate) fn detail<'a>(outcomes: &'a [ScenarioOutcome], scenario: &str) -> &'a str {
    outcomes
        .iter()
        .find(|o| o.scenario == scenario)
        .map(|o| o.detail.as_str())
        .unwrap_or_else(|| panic!("{scenario} was not reported: {outcomes:?}"))
}
