//! Command-line options of the benchmark run.

use std::path::PathBuf;

use crate::procs::Sched;

/// The help text (`--help`).
pub const USAGE: &str = "\
capnweb-bench: scenarios a-h of shared/performance.md and i (stream throughput), for
capnweb-rs and its references (npm capnweb 0.12.0 on Node, jsonrpsee 0.26 over WebSocket, a
raw tokio-tungstenite echo).
Every client and server is a separate process on 127.0.0.1.

USAGE:
    cargo run --release -p capnweb-bench -- [OPTIONS]
    cargo run --release -p capnweb-bench -- soak [--help]   (soak and scale, issue 15)

OPTIONS:
    --free              free scheduling only
    --pin               both processes pinned to one core (taskset -c 0) only
                        (default: both passes, free first)
    --runs N            timed runs per implementation; the median is reported (default 5)
    --quick             counts / 10 and 3 runs: a smoke run
    --only a,b,...      only these scenarios (a b c d e f g h i)
    --write PATH        also write the results as Markdown (e.g. docs/performance.md); an
                        existing file keeps everything outside its generated block
    --our-server KIND   http (capnweb_runtime::Server: WebSocket + HTTP batch on hyper, the
                        default) or ws (sessions on WebSockets tungstenite accepts, no hyper)
    --node-dir PATH     where tests/node is (default: found from the crate's location)
    --timeout SECS      upper bound for one client process (default 600)
    -h, --help          this text
";

/// Scenario repetition counts.
#[derive(Clone, Copy, Debug)]
pub struct Counts {
    /// a: sequential calls.
    pub a: u64,
    /// b and f: calls with 256 in flight.
    pub b: u64,
    /// c: chains of 10, each way.
    pub c: u64,
    /// d: echoes of the 64 KiB payload.
    pub d: u64,
    /// e: HTTP batches of 10 calls.
    pub e: u64,
    /// g: idle sessions.
    pub g: u64,
    /// h: maps over `h_ids` ids.
    pub h: u64,
    /// h: elements per map.
    pub h_ids: u64,
    /// i: 64 KiB chunks streamed, in streams of `plan::STREAM_CHUNKS`.
    pub i: u64,
}

impl Counts {
    /// The counts of performance.md.
    pub const FULL: Counts = Counts {
        a: 20_000,
        b: 200_000,
        c: 1_000,
        d: 2_000,
        e: 1_000,
        g: 10_000,
        h: 20,
        h_ids: 10_000,
        i: 4 * crate::plan::STREAM_CHUNKS,
    };

    /// About a tenth of [`Counts::FULL`] (the map size stays 10,000; i: one stream of 32 MiB).
    pub const QUICK: Counts = Counts {
        a: 2_000,
        b: 20_000,
        c: 100,
        d: 200,
        e: 100,
        g: 1_000,
        h: 4,
        h_ids: 10_000,
        i: crate::plan::STREAM_CHUNKS / 2,
    };
}

/// Which server serves our side.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OurServer {
    /// `capnweb_runtime::Server`: WebSocket and HTTP batch on one path, on hyper.
    Http,
    /// Sessions on WebSockets tokio-tungstenite accepts itself (HTTP batch still uses `Http`).
    Ws,
}

/// Everything the orchestrating run needs.
#[derive(Debug)]
pub struct Options {
    /// The scheduling passes, in order.
    pub passes: Vec<Sched>,
    /// Timed runs per implementation.
    pub runs: usize,
    /// Whether `--quick` was given.
    pub quick: bool,
    /// Repetition counts.
    pub counts: Counts,
    /// Selected scenario letters, in order.
    pub only: Vec<char>,
    /// Where to write the Markdown report.
    pub write: Option<PathBuf>,
    /// Our server kind.
    pub our_server: OurServer,
    /// `tests/node`.
    pub node_dir: PathBuf,
    /// Upper bound for one client process, in seconds.
    pub timeout_secs: u64,
    /// The arguments as given, for the report.
    pub argv: Vec<String>,
}

/// Every scenario letter.
pub const ALL_SCENARIOS: [char; 9] = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i'];

/// Parses the orchestrator's options (`args` without the program name). `Ok(None)` means help
/// was printed.
pub fn parse(args: &[String]) -> Result<Option<Options>, String> {
    let mut passes = vec![Sched::Free, Sched::Pinned];
    let mut runs = None;
    let mut quick = false;
    let mut only = ALL_SCENARIOS.to_vec();
    let mut write = None;
    let mut our_server = OurServer::Http;
    let mut node_dir = default_node_dir();
    let mut timeout_secs = 600;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match arg.as_str() {
            "-h" | "--help" => {
                print!("{USAGE}");
                return Ok(None);
            }
            "--free" => passes = vec![Sched::Free],
            "--pin" => passes = vec![Sched::Pinned],
            "--quick" => quick = true,
            "--runs" => {
                let n: usize = value("--runs")?
                    .parse()
                    .map_err(|e| format!("--runs: {e}"))?;
                runs = Some(n.max(1));
            }
            "--only" => {
                let list = value("--only")?;
                only = parse_only(&list)?;
            }
            "--write" => write = Some(PathBuf::from(value("--write")?)),
            "--our-server" => {
                our_server = match value("--our-server")?.as_str() {
                    "http" => OurServer::Http,
                    "ws" => OurServer::Ws,
                    other => return Err(format!("--our-server: http or ws, not {other:?}")),
                }
            }
            "--node-dir" => node_dir = PathBuf::from(value("--node-dir")?),
            "--timeout" => {
                timeout_secs = value("--timeout")?
                    .parse()
                    .map_err(|e| format!("--timeout: {e}"))?;
            }
            other => return Err(format!("unknown option {other:?} (see --help)")),
        }
    }
    Ok(Some(Options {
        passes,
        runs: runs.unwrap_or(if quick { 3 } else { 5 }),
        quick,
        counts: if quick { Counts::QUICK } else { Counts::FULL },
        only,
        write,
        our_server,
        node_dir,
        timeout_secs,
        argv: args.to_vec(),
    }))
}

fn parse_only(list: &str) -> Result<Vec<char>, String> {
    let mut picked = Vec::new();
    for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let mut chars = item.chars();
        match (chars.next(), chars.next()) {
            (Some(c), None) if ALL_SCENARIOS.contains(&c.to_ascii_lowercase()) => {
                picked.push(c.to_ascii_lowercase());
            }
            _ => return Err(format!("--only: unknown scenario {item:?} (a to i)")),
        }
    }
    if picked.is_empty() {
        return Err("--only: no scenario given".into());
    }
    // Keep performance.md's order whatever the order given.
    Ok(ALL_SCENARIOS
        .iter()
        .copied()
        .filter(|c| picked.contains(c))
        .collect())
}

/// `tests/node` of the workspace this binary was built from.
fn default_node_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("tests")
        .join("node")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn defaults_and_filters() {
        let o = parse(&[]).unwrap().unwrap();
        assert_eq!(o.passes, vec![Sched::Free, Sched::Pinned]);
        assert_eq!(o.runs, 5);
        assert_eq!(o.only, ALL_SCENARIOS.to_vec());
        let o = parse(&args(&["--pin", "--quick", "--only", "i,h,A, b"]))
            .unwrap()
            .unwrap();
        assert_eq!(o.passes, vec![Sched::Pinned]);
        assert_eq!((o.runs, o.counts.b), (3, 20_000));
        assert_eq!(o.only, vec!['a', 'b', 'h', 'i']);
        assert!(parse(&args(&["--only", "z"])).is_err());
        assert!(parse(&args(&["--bogus"])).is_err());
    }
}
