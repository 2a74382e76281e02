//! The fuzzing loop: pick or make an input, run it with every oracle watching, keep inputs that
//! show something new, shrink and record what fails.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use crate::findings::Finding;
use crate::oracles::{self, Census, Oracle, Violation};
use crate::rng::Rng;
use crate::targets::batch::BatchTarget;
use crate::targets::websocket::WebSocketTarget;
use crate::targets::{Outcome, memory};
use crate::{Config, Report, Transport, TransportReport, generate, mutate, seeds};

/// Largest corpus kept per transport.
const MAX_CORPUS: usize = 4096;
/// How often a progress line is printed.
const PROGRESS_EVERY: Duration = Duration::from_secs(30);
/// Most re-runs spent shrinking one finding.
const MAX_SHRINK_EXECS: usize = 40;

/// A transport with its server (if it has one) running.
pub enum Target {
    /// In memory: a fresh session per exec.
    Memory,
    /// A WebSocket server.
    WebSocket(WebSocketTarget),
    /// An HTTP server for batches.
    Batch(BatchTarget),
}

impl Target {
    /// Starts what `transport` needs.
    pub async fn start(transport: Transport) -> std::io::Result<Target> {
        Ok(match transport {
            Transport::Memory => Target::Memory,
            Transport::WebSocket => Target::WebSocket(WebSocketTarget::start().await?),
            Transport::Batch => Target::Batch(BatchTarget::start().await?),
        })
    }

    /// Runs `input` once with every oracle: the transport's own (hang, output), then the
    /// leak check against the census taken before, then the panics recorded meanwhile.
    pub async fn exec(&self, input: &[String], rng: &mut Rng) -> Outcome {
        let before = Census::now();
        let mut outcome = match self {
            Target::Memory => memory::exec(input, rng).await,
            Target::WebSocket(ws) => ws.exec(input, rng).await,
            Target::Batch(batch) => batch.exec(input).await,
        };
        // The session is over: let go of what the application held for it (see api.rs).
        crate::api::drop_kept();
        if let Err(v) = oracles::back_to(before).await {
            outcome.violations.push(v);
        }
        for panic in oracles::take_panics() {
            outcome
                .violations
                .push(Violation::new(Oracle::Panic, panic));
        }
        outcome
    }
}

/// Runs the fuzzer as `config` says, on a runtime of its own (two worker threads), and returns
/// the report. Findings are written to `config.findings_dir` as they are found.
pub fn run(config: &Config) -> Report {
    oracles::record_panics();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let mut report = Report {
        transports: Vec::new(),
        findings: Vec::new(),
    };
    let mut seen: HashSet<String> = HashSet::new();
    for (i, &(transport, time)) in config.time.iter().enumerate() {
        let rng = Rng::new(config.seed ^ (i as u64).wrapping_mul(0x9E37_79B9));
        let part = runtime.block_on(fuzz_one(config, transport, time, rng, &mut seen));
        match part {
            Ok((summary, findings)) => {
                report.transports.push(summary);
                report.findings.extend(findings);
            }
            Err(e) => panic!("could not start the {} target: {e}", transport.name()),
        }
    }
    // Let the servers' tasks finish before the runtime goes.
    runtime.shutdown_timeout(Duration::from_secs(2));
    report
}

async fn fuzz_one(
    config: &Config,
    transport: Transport,
    time: Duration,
    mut rng: Rng,
    seen: &mut HashSet<String>,
) -> std::io::Result<(TransportReport, Vec<Finding>)> {
    let target = Target::start(transport).await?;
    let seeds = seeds::inputs();
    let mut corpus = Corpus::new(seeds.clone());
    let mut findings = Vec::new();
    let mut summary = TransportReport {
        transport,
        execs: 0,
        elapsed: Duration::ZERO,
        shrinking: Duration::ZERO,
        failing_execs: 0,
        corpus: 0,
    };
    let start = Instant::now();
    let mut next_progress = PROGRESS_EVERY;
    while start.elapsed() < time {
        if start.elapsed() >= next_progress {
            // On stderr, so a run that dies (a stack overflow aborts the process) still shows
            // how far it got.
            eprintln!(
                "  {} {:>4.0} s: {} execs, {} failing, corpus {}",
                transport.name(),
                start.elapsed().as_secs_f64(),
                summary.execs,
                summary.failing_execs,
                corpus.inputs.len()
            );
            next_progress += PROGRESS_EVERY;
        }
        let input = next_input(&mut rng, &seeds, &corpus, config.max_frames);
        let mut exec_rng = rng.fork();
        if let Some(dir) = &config.findings_dir {
            // Saved first, so an input that kills the process (a stack overflow) is not lost.
            write_current(dir, transport, &input);
        }
        let outcome = target.exec(&input, &mut exec_rng).await;
        summary.execs += 1;
        if !outcome.violations.is_empty() {
            summary.failing_execs += 1;
        }
        corpus.offer(&mut rng, &input, &outcome.features);
        for violation in outcome.violations {
            let key = Finding::key(transport, &violation);
            if !seen.insert(key) {
                continue;
            }
            let shrink_start = Instant::now();
            let minimized = if config.minimize {
                shrink(&target, &input, violation.oracle, &mut rng).await
            } else {
                input.clone()
            };
            summary.shrinking += shrink_start.elapsed();
            let finding = Finding {
                transport,
                violation,
                input: input.clone(),
                minimized,
                seed: config.seed,
            };
            if let Some(dir) = &config.findings_dir {
                match finding.write(dir) {
                    Ok(path) => eprintln!("finding written to {}", path.display()),
                    Err(e) => eprintln!("could not write a finding: {e}"),
                }
            }
            findings.push(finding);
        }
    }
    summary.elapsed = start.elapsed();
    summary.corpus = corpus.inputs.len();
    Ok((summary, findings))
}

/// The file holding the input being run, in the findings format (`--replay` runs it).
pub fn current_input_path(dir: &std::path::Path) -> std::path::PathBuf {
    dir.join("current-input.json")
}

fn write_current(dir: &std::path::Path, transport: Transport, input: &[String]) {
    let json = serde_json::json!({"transport": transport.name(), "frames": input});
    let _ = std::fs::create_dir_all(dir);
    let _ = std::fs::write(current_input_path(dir), json.to_string());
}

/// Picks the next input: a seed from real traffic, a freshly generated one, or a corpus entry,
/// mostly mutated.
fn next_input(
    rng: &mut Rng,
    seeds: &[Vec<String>],
    corpus: &Corpus,
    max_frames: usize,
) -> Vec<String> {
    let donor = corpus.pick(rng).to_vec();
    match rng.below(10) {
        0..=2 => {
            let mut input = rng.pick(seeds).clone();
            if !rng.one_in(4) {
                mutate::mutate(rng, &mut input, &donor);
            }
            input
        }
        3..=5 => {
            let mut input = generate::input(rng, max_frames);
            if rng.one_in(4) {
                mutate::mutate(rng, &mut input, &donor);
            }
            input
        }
        _ => {
            let mut input = corpus.pick(rng).to_vec();
            mutate::mutate(rng, &mut input, &donor);
            input
        }
    }
}

/// Drops frames (last first) while `oracle` still fires, within [`MAX_SHRINK_EXECS`] re-runs.
async fn shrink(target: &Target, input: &[String], oracle: Oracle, rng: &mut Rng) -> Vec<String> {
    let mut current = input.to_vec();
    let mut execs = 0;
    let mut i = current.len();
    while i > 0 && execs < MAX_SHRINK_EXECS {
        i -= 1;
        let mut candidate = current.clone();
        candidate.remove(i);
        execs += 1;
        let outcome = target.exec(&candidate, &mut rng.fork()).await;
        if outcome.violations.iter().any(|v| v.oracle == oracle) {
            current = candidate;
        }
    }
    current
}

/// Inputs worth mutating: the seeds, and every input that showed a feature not seen before.
struct Corpus {
    inputs: Vec<Vec<String>>,
    features: HashMap<String, u32>,
}

impl Corpus {
    fn new(seeds: Vec<Vec<String>>) -> Corpus {
        Corpus {
            inputs: seeds,
            features: HashMap::new(),
        }
    }

    fn pick(&self, rng: &mut Rng) -> &[String] {
        &self.inputs[rng.below(self.inputs.len())]
    }

    fn offer(&mut self, rng: &mut Rng, input: &[String], features: &[String]) {
        let mut new = false;
        for f in features {
            let count = self.features.entry(f.clone()).or_insert(0);
            new |= *count == 0;
            *count += 1;
        }
        if new {
            if self.inputs.len() < MAX_CORPUS {
                self.inputs.push(input.to_vec());
            } else {
                let i = rng.below(self.inputs.len());
                self.inputs[i] = input.to_vec();
            }
        }
    }
}
