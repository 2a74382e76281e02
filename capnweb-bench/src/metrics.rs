//! The figures each scenario reports, derived from a run's raw sample, and their medians.

use std::sync::OnceLock;

use crate::runner::{CaseResult, Sample};
use crate::stats::median;

/// Clock ticks per second, for the CPU columns (set once at start).
pub static CLOCK_TICKS: OnceLock<f64> = OnceLock::new();

fn ticks_to_ms(ticks: f64) -> f64 {
    ticks * 1000.0 / CLOCK_TICKS.get().copied().unwrap_or(100.0)
}

/// One column of a scenario table.
pub struct Metric {
    /// The column header.
    pub header: &'static str,
    /// The figure, from one sample.
    pub value: fn(&Sample) -> Option<f64>,
    /// Decimals to print.
    pub decimals: usize,
}

const fn metric(
    header: &'static str,
    value: fn(&Sample) -> Option<f64>,
    decimals: usize,
) -> Metric {
    Metric {
        header,
        value,
        decimals,
    }
}

fn get(sample: &Sample, key: &str) -> Option<f64> {
    sample.get(key).copied()
}

/// Operations per second of wall-clock time.
pub fn per_second(s: &Sample) -> Option<f64> {
    Some(get(s, "ops")? / get(s, "elapsed_s")?)
}

/// Median latency, µs.
pub fn p50(s: &Sample) -> Option<f64> {
    get(s, "p50_us")
}

/// 99th percentile latency, µs.
pub fn p99(s: &Sample) -> Option<f64> {
    get(s, "p99_us")
}

/// Scenario c: µs per pipelined chain.
pub fn pipelined(s: &Sample) -> Option<f64> {
    get(s, "pipelined_us")
}

/// Scenario c: µs per chain of awaited calls.
pub fn awaited(s: &Sample) -> Option<f64> {
    get(s, "awaited_us")
}

/// Scenario c: awaited / pipelined.
pub fn pipelining_gain(s: &Sample) -> Option<f64> {
    Some(awaited(s)? / pipelined(s)?)
}

/// Scenario c: a pipelined chain of 10 in units of one sequential call (awaited chain / 10).
pub fn chain_in_calls(s: &Sample) -> Option<f64> {
    Some(pipelined(s)? / (awaited(s)? / 10.0))
}

/// Scenario d: payload MB (10^6 bytes) echoed per second, counted one way; i: MB streamed per
/// second (`bytes` is then one chunk's size and `ops` the chunks).
pub fn megabytes_per_second(s: &Sample) -> Option<f64> {
    Some(get(s, "bytes")? * get(s, "ops")? / get(s, "elapsed_s")? / 1e6)
}

/// Scenario h: ms per map.
pub fn ms_per_op(s: &Sample) -> Option<f64> {
    Some(get(s, "elapsed_s")? * 1000.0 / get(s, "ops")?)
}

/// Scenario g: server KiB per idle session.
pub fn kib_per_session(s: &Sample) -> Option<f64> {
    get(s, "kib_per_session")
}

fn client_ms(s: &Sample) -> Option<f64> {
    Some(ticks_to_ms(get(s, "client_ticks")?))
}

fn server_ms(s: &Sample) -> Option<f64> {
    Some(ticks_to_ms(get(s, "server_ticks")?))
}

fn client_us_per_op(s: &Sample) -> Option<f64> {
    Some(client_ms(s)? * 1000.0 / get(s, "ops")?)
}

pub fn server_us_per_op(s: &Sample) -> Option<f64> {
    Some(server_ms(s)? * 1000.0 / get(s, "ops")?)
}

/// The columns of `scenario`'s table.
pub fn columns(scenario: char) -> Vec<Metric> {
    let mut list = match scenario {
        'a' => vec![
            metric("calls/s", per_second, 0),
            metric("p50 µs", p50, 1),
            metric("p99 µs", p99, 1),
        ],
        'b' | 'f' => vec![metric("calls/s", per_second, 0)],
        'c' => vec![
            metric("pipelined µs/chain", pipelined, 0),
            metric("awaited µs/chain", awaited, 0),
            metric("awaited/pipelined", pipelining_gain, 2),
            metric("pipelined chain in calls", chain_in_calls, 2),
        ],
        'd' | 'i' => vec![metric("MB/s", megabytes_per_second, 1)],
        'e' => vec![metric("batches/s", per_second, 0)],
        'g' => {
            return vec![
                metric("KiB/session", kib_per_session, 2),
                metric("sessions held", |s| get(s, "held"), 0),
                metric("RSS before KiB", |s| get(s, "rss_before_kib"), 0),
                metric("RSS after KiB", |s| get(s, "rss_after_kib"), 0),
            ];
        }
        'h' => vec![metric("ms/map", ms_per_op, 2)],
        _ => Vec::new(),
    };
    list.extend([
        metric("client CPU ms", client_ms, 0),
        metric("server CPU ms", server_ms, 0),
        metric("client CPU µs/op", client_us_per_op, 2),
        metric("server CPU µs/op", server_us_per_op, 2),
    ]);
    list
}

/// The median of `value` over a case's runs.
pub fn median_of(case: &CaseResult, value: fn(&Sample) -> Option<f64>) -> Option<f64> {
    let values: Vec<f64> = case.samples.iter().filter_map(value).collect();
    median(&values)
}

/// A number with thousands separators and `decimals` decimals.
pub fn format_number(value: f64, decimals: usize) -> String {
    if !value.is_finite() {
        return value.to_string();
    }
    let text = format!("{:.*}", decimals, value.abs());
    let (int, frac) = text.split_once('.').unwrap_or((&text, ""));
    let mut grouped = String::new();
    for (i, digit) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    let sign = if value < 0.0 && text.chars().any(|c| ('1'..='9').contains(&c)) {
        "-"
    } else {
        ""
    };
    if frac.is_empty() {
        format!("{sign}{grouped}")
    } else {
        format!("{sign}{grouped}.{frac}")
    }
}

/// One line summing up a sample, for progress output: the main figures and CPU per op.
pub fn headline(scenario: char, sample: &Sample) -> String {
    let columns = columns(scenario);
    let lead = if matches!(scenario, 'a' | 'c') { 2 } else { 1 };
    columns
        .iter()
        .take(lead)
        .chain(columns.iter().filter(|m| m.header.ends_with("µs/op")))
        .filter_map(|m| {
            (m.value)(sample).map(|v| format!("{} {}", format_number(v, m.decimals), m.header))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_numbers() {
        assert_eq!(format_number(1_234_567.891, 0), "1,234,568");
        assert_eq!(format_number(999.0, 1), "999.0");
        assert_eq!(format_number(-12_345.5, 1), "-12,345.5");
        assert_eq!(format_number(0.004, 2), "0.00");
    }
}
