//! A structure-aware fuzzer for the capnweb session engine, on stable Rust.
//!
//! Inputs are sequences of protocol messages, generated from the grammar of protocol.md
//! ([`generate`]), taken from real capnweb traffic ([`seeds`]) and mutated ([`mutate`]). Each
//! runs against a fresh server session over one of three transports ([`targets`]): in memory,
//! a WebSocket to our `Server`, an HTTP batch to it. The oracles ([`oracles`]) look for panics,
//! hangs, output that is not a protocol message, and objects or tasks that outlive the session.
//! Inputs that show new behaviour (new message kinds or error texts from the server) are kept
//! and mutated further. [`run`] is the whole loop; the `capnweb-fuzz` program is its command
//! line.

pub mod api;
pub mod findings;
pub mod fuzz;
pub mod generate;
pub mod mutate;
pub mod oracles;
pub mod rng;
pub mod seeds;
pub mod targets;

use std::path::PathBuf;
use std::time::Duration;

pub use findings::Finding;
pub use fuzz::run;

/// A transport the fuzzer drives the session engine over.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Transport {
    /// A server session over the in-memory transport (fast: most execs).
    Memory,
    /// A WebSocket connection to our `Server`.
    WebSocket,
    /// HTTP batch POSTs to our `Server`.
    Batch,
}

impl Transport {
    /// Every transport, in the order `all` runs them.
    pub const ALL: [Transport; 3] = [Transport::Memory, Transport::WebSocket, Transport::Batch];

    /// The name on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Transport::Memory => "memory",
            Transport::WebSocket => "websocket",
            Transport::Batch => "batch",
        }
    }

    /// The transport named `name` (as [`name`](Self::name) writes it).
    pub fn from_name(name: &str) -> Option<Transport> {
        Transport::ALL.into_iter().find(|t| t.name() == name)
    }
}

/// What to fuzz, for how long.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Config {
    /// Time per transport.
    pub time: Vec<(Transport, Duration)>,
    /// The PRNG seed: the same seed generates the same inputs (what the server answers, and
    /// so which inputs join the corpus, can still vary with timing).
    pub seed: u64,
    /// Where to write findings (`None`: do not write them).
    pub findings_dir: Option<PathBuf>,
    /// Shrink each finding by dropping frames while the same oracle still fires.
    pub minimize: bool,
    /// Most messages in a generated input.
    pub max_frames: usize,
}

impl Config {
    /// `total` split evenly over `transports`, seed 1, no findings directory, minimizing.
    pub fn new(transports: &[Transport], total: Duration) -> Config {
        let each = total / transports.len().max(1) as u32;
        Config {
            time: transports.iter().map(|&t| (t, each)).collect(),
            seed: 1,
            findings_dir: None,
            minimize: true,
            max_frames: 12,
        }
    }
}

/// What one transport's share of the run did.
#[derive(Clone, Debug)]
pub struct TransportReport {
    /// The transport.
    pub transport: Transport,
    /// Inputs executed (minimization re-runs not included).
    pub execs: u64,
    /// Time spent, shrinking findings included.
    pub elapsed: Duration,
    /// Time spent shrinking findings (re-running their inputs).
    pub shrinking: Duration,
    /// Execs in which any oracle fired.
    pub failing_execs: u64,
    /// Size of the corpus at the end (seeds plus inputs that showed something new).
    pub corpus: usize,
}

impl TransportReport {
    /// Execs per second of fuzzing (time spent shrinking left out).
    pub fn rate(&self) -> f64 {
        let fuzzing = self.elapsed.saturating_sub(self.shrinking);
        self.execs as f64 / fuzzing.as_secs_f64().max(1e-9)
    }
}

/// The result of a run.
#[derive(Clone, Debug)]
pub struct Report {
    /// Per transport, in the order run.
    pub transports: Vec<TransportReport>,
    /// Distinct findings (one per transport, oracle and panic location).
    pub findings: Vec<Finding>,
}
