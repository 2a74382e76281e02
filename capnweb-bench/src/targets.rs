//! The targets of performance.md, evaluated on a run's medians.

use crate::metrics::{self, format_number, median_of};
use crate::procs::Sched;
use crate::runner::{CaseResult, Sample, ScenarioResult};

/// One pass of the run: every scenario under one scheduling.
pub struct Pass {
    /// How the processes were scheduled.
    pub sched: Sched,
    /// The scenarios, in order.
    pub scenarios: Vec<ScenarioResult>,
}

/// A target, as performance.md states it.
pub struct Target {
    /// The scenario letter.
    pub scenario: char,
    /// The target's wording.
    pub text: &'static str,
    /// The pass the target is about (`None`: free scheduling when it ran, else one core).
    pub only: Option<Sched>,
    eval: fn(&ScenarioResult) -> Option<Eval>,
    /// The reference that bounds what any implementation could reach, measured in the same
    /// run, with where we stand against it.
    ceiling: Option<fn(&ScenarioResult) -> Option<String>>,
}

/// A target measured on one pass.
pub struct Eval {
    /// Whether it is met.
    pub met: bool,
    /// The measured figure, with what it was computed from.
    pub shown: String,
}

fn case<'a>(result: &'a ScenarioResult, key: &str) -> Option<&'a CaseResult> {
    result.cases.iter().find(|c| c.case.key == key)
}

fn med(result: &ScenarioResult, key: &str, value: fn(&Sample) -> Option<f64>) -> Option<f64> {
    median_of(case(result, key)?, value)
}

fn ratio(value: f64) -> String {
    format!("{}x", format_number(value, 2))
}

/// ours / reference of a higher-is-better figure, at least `min`.
fn faster(
    result: &ScenarioResult,
    reference: &str,
    value: fn(&Sample) -> Option<f64>,
    unit: &str,
    min: f64,
) -> Option<Eval> {
    let ours = med(result, "ours", value)?;
    let theirs = med(result, reference, value)?;
    let r = ours / theirs;
    Some(Eval {
        met: r >= min,
        shown: format!(
            "{} ({} vs {} {unit})",
            ratio(r),
            format_number(ours, 0),
            format_number(theirs, 0)
        ),
    })
}

/// Scenario a: our p50 over the raw echo's, at most `max`; the other references for context.
fn latency(result: &ScenarioResult, max: f64) -> Option<Eval> {
    let ours = med(result, "ours", metrics::p50)?;
    let raw = med(result, "raw", metrics::p50)?;
    let mut shown = format!(
        "{} ({} vs {} µs)",
        ratio(ours / raw),
        format_number(ours, 1),
        format_number(raw, 1)
    );
    for (key, name) in [("node", "Node"), ("jsonrpsee", "jsonrpsee")] {
        if let Some(p) = med(result, key, metrics::p50) {
            shown.push_str(&format!("; {name} {}", ratio(p / raw)));
        }
    }
    Some(Eval {
        met: ours / raw <= max,
        shown,
    })
}

/// Scenario a on one core: our p50 in each run over the raw echo's median, every run at most
/// `max`; shows the spread across runs.
fn latency_every_run(result: &ScenarioResult, max: f64) -> Option<Eval> {
    let raw = med(result, "raw", metrics::p50)?;
    let ratios: Vec<f64> = case(result, "ours")?
        .samples
        .iter()
        .filter_map(metrics::p50)
        .map(|p50| p50 / raw)
        .collect();
    if ratios.is_empty() {
        return None;
    }
    let worst = ratios.iter().copied().fold(f64::MIN, f64::max);
    let best = ratios.iter().copied().fold(f64::MAX, f64::min);
    let median = med(result, "ours", metrics::p50)? / raw;
    Some(Eval {
        met: worst <= max,
        shown: format!(
            "worst run {}, runs {}-{}, median {} ({} runs; raw echo {} µs)",
            ratio(worst),
            ratio(best),
            ratio(worst),
            ratio(median),
            ratios.len(),
            format_number(raw, 1)
        ),
    })
}

/// Where ours stands against the ceiling case `reference` (higher is better).
fn ceiling(
    result: &ScenarioResult,
    reference: &str,
    value: fn(&Sample) -> Option<f64>,
    unit: &str,
) -> Option<String> {
    let top = med(result, reference, value)?;
    let ours = med(result, "ours", value)?;
    Some(format!(
        "{} {unit}; ours {}",
        format_number(top, 0),
        ratio(ours / top)
    ))
}

/// Every target of performance.md.
pub fn targets() -> Vec<Target> {
    vec![
        Target {
            scenario: 'a',
            text: "p50 within 1.05x of the raw echo",
            only: Some(Sched::Free),
            eval: |r| latency(r, 1.05),
            ceiling: None,
        },
        Target {
            scenario: 'a',
            text: "on one core, p50 within 1.1x of the raw echo in every run (spread across runs shown)",
            only: Some(Sched::Pinned),
            eval: |r| latency_every_run(r, 1.1),
            ceiling: None,
        },
        Target {
            scenario: 'b',
            text: "at least 5x Node capnweb (calls/s)",
            only: None,
            eval: |r| faster(r, "node", metrics::per_second, "calls/s", 5.0),
            ceiling: None,
        },
        Target {
            scenario: 'b',
            text: "at least 2.5x jsonrpsee (calls/s)",
            only: None,
            eval: |r| faster(r, "jsonrpsee", metrics::per_second, "calls/s", 2.5),
            ceiling: None,
        },
        Target {
            scenario: 'b',
            text: "at least 0.3x the batched raw echo (calls/s)",
            only: None,
            eval: |r| faster(r, "raw-batched", metrics::per_second, "calls/s", 0.3),
            ceiling: Some(|r| ceiling(r, "raw-batched", metrics::per_second, "calls/s")),
        },
        Target {
            scenario: 'c',
            text: "a pipelined chain of 10 costs at most 1.5x one sequential call",
            only: None,
            // The two ways are timed in the same client process one after the other, so the
            // ratio is taken per run (paired), then the median.
            eval: |r| {
                let in_calls = med(r, "ours", metrics::chain_in_calls)?;
                let chain = med(r, "ours", metrics::pipelined)?;
                let one = med(r, "ours", metrics::awaited)? / 10.0;
                Some(Eval {
                    met: in_calls <= 1.5,
                    shown: format!(
                        "{} (median per run; medians: {} µs per chain, {} µs per awaited call)",
                        ratio(in_calls),
                        format_number(chain, 0),
                        format_number(one, 0)
                    ),
                })
            },
            ceiling: None,
        },
        Target {
            scenario: 'd',
            text: "at least 2x Node capnweb (MB/s)",
            only: None,
            eval: |r| faster(r, "node", metrics::megabytes_per_second, "MB/s", 2.0),
            ceiling: None,
        },
        Target {
            scenario: 'd',
            text: "at least 1.5x jsonrpsee (MB/s)",
            only: None,
            eval: |r| faster(r, "jsonrpsee", metrics::megabytes_per_second, "MB/s", 1.5),
            ceiling: Some(|r| ceiling(r, "raw", metrics::megabytes_per_second, "MB/s")),
        },
        Target {
            scenario: 'e',
            text: "at least 5x Node capnweb (batches/s)",
            only: None,
            eval: |r| faster(r, "node", metrics::per_second, "batches/s", 5.0),
            ceiling: None,
        },
        Target {
            scenario: 'f',
            text: "server CPU per call with the npm capnweb client: ours at most 0.5x the Node server's",
            only: None,
            eval: |r| {
                let ours = med(r, "node-ours", metrics::server_us_per_op)?;
                let node = med(r, "node", metrics::server_us_per_op)?;
                let mut shown = format!(
                    "{} ({} vs {} µs",
                    ratio(ours / node),
                    format_number(ours, 2),
                    format_number(node, 2)
                );
                if let Some(own) = med(r, "ours", metrics::server_us_per_op) {
                    shown.push_str(&format!("; from our client: {} µs", format_number(own, 2)));
                }
                shown.push(')');
                Some(Eval {
                    met: ours / node <= 0.5,
                    shown,
                })
            },
            ceiling: None,
        },
        Target {
            scenario: 'g',
            text: "at most 8 KiB of server memory per idle session, on every serve path (hyper included)",
            only: None,
            eval: |r| {
                let paths: Vec<(&str, f64)> = ["ours", "ours-ws"]
                    .into_iter()
                    .filter_map(|key| Some((key, med(r, key, metrics::kib_per_session)?)))
                    .collect();
                let worst = paths
                    .iter()
                    .map(|(_, kib)| *kib)
                    .fold(None, |max: Option<f64>, kib| {
                        Some(max.map_or(kib, |max| max.max(kib)))
                    })?;
                let mut shown = paths
                    .iter()
                    .map(|(key, kib)| format!("{key} {} KiB", format_number(*kib, 2)))
                    .collect::<Vec<_>>()
                    .join(", ");
                if let Some(node) = med(r, "node", metrics::kib_per_session) {
                    shown.push_str(&format!(" (Node server: {} KiB)", format_number(node, 2)));
                }
                Some(Eval {
                    met: worst <= 8.0,
                    shown,
                })
            },
            ceiling: Some(|r| {
                let raw = med(r, "raw-small-buffer", metrics::kib_per_session)?;
                Some(format!(
                    "raw tungstenite, 4 KiB buffer: {} KiB",
                    format_number(raw, 2)
                ))
            }),
        },
        Target {
            scenario: 'h',
            text: "at least 5x faster than the Node server (ms per map)",
            only: None,
            eval: |r| {
                let ours = med(r, "ours", metrics::ms_per_op)?;
                let node = med(r, "node", metrics::ms_per_op)?;
                Some(Eval {
                    met: node / ours >= 5.0,
                    shown: format!(
                        "{} ({} vs {} ms)",
                        ratio(node / ours),
                        format_number(ours, 2),
                        format_number(node, 2)
                    ),
                })
            },
            ceiling: None,
        },
        Target {
            scenario: 'i',
            text: "stream throughput at least 3x npm capnweb (MB/s)",
            only: None,
            eval: |r| faster(r, "node", metrics::megabytes_per_second, "MB/s", 3.0),
            ceiling: None,
        },
    ]
}

impl Target {
    /// The target measured on `pass`, if the pass ran its scenario (and the target applies).
    pub fn evaluate(&self, pass: &Pass) -> Option<Eval> {
        if self.only.is_some_and(|only| only != pass.sched) {
            return None;
        }
        let result = pass
            .scenarios
            .iter()
            .find(|s| s.scenario == self.scenario)?;
        (self.eval)(result)
    }

    /// The ceiling measured on `pass`, if this target has one and the pass ran it.
    pub fn ceiling_on(&self, pass: &Pass) -> Option<String> {
        let result = pass
            .scenarios
            .iter()
            .find(|s| s.scenario == self.scenario)?;
        (self.ceiling?)(result)
    }

    /// The pass whose figure decides the status: the target's own, else free scheduling if it
    /// ran, else the first pass.
    pub fn deciding<'a>(&self, passes: &'a [Pass]) -> Option<&'a Pass> {
        match self.only {
            Some(sched) => passes.iter().find(|p| p.sched == sched),
            None => passes
                .iter()
                .find(|p| p.sched == Sched::Free)
                .or(passes.first()),
        }
    }
}
