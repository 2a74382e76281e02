//! Findings: what fired on which input, shrunk, and written to disk as JSON.

use std::path::{Path, PathBuf};

use serde_json::json;

use crate::Transport;
use crate::oracles::{Oracle, Violation};

/// One distinct problem the fuzzer found.
#[derive(Clone, Debug)]
pub struct Finding {
    /// Where it was found.
    pub transport: Transport,
    /// The oracle and what it saw.
    pub violation: Violation,
    /// The input as generated.
    pub input: Vec<String>,
    /// The input after dropping every frame not needed for the oracle to fire.
    pub minimized: Vec<String>,
    /// The seed of the run that found it.
    pub seed: u64,
}

impl Finding {
    /// The key findings are told apart by: transport, oracle and, for a panic, where it was.
    pub fn key(transport: Transport, violation: &Violation) -> String {
        let place = match violation.oracle {
            Oracle::Panic => violation
                .detail
                .rsplit_once(" at ")
                .map_or("", |(_, at)| at)
                .split(" (thread")
                .next()
                .unwrap_or(""),
            _ => "",
        };
        format!("{}-{}{place}", transport.name(), violation.oracle.name())
    }

    /// The finding as JSON (what [`write`](Self::write) saves and [`read_frames`] reads).
    pub fn to_json(&self) -> serde_json::Value {
        json!({
            "transport": self.transport.name(),
            "oracle": self.violation.oracle.name(),
            "detail": self.violation.detail,
            "seed": self.seed,
            "frames": self.minimized,
            "original_frames": self.input,
        })
    }

    /// Writes the finding to `dir/<transport>-<oracle>-<n>.json` (the first free `n`) and
    /// returns the path.
    pub fn write(&self, dir: &Path) -> std::io::Result<PathBuf> {
        std::fs::create_dir_all(dir)?;
        let stem = format!("{}-{}", self.transport.name(), self.violation.oracle.name());
        let path = (1..)
            .map(|n| dir.join(format!("{stem}-{n}.json")))
            .find(|p| !p.exists())
            .expect("some file name is free");
        let text = serde_json::to_string_pretty(&self.to_json()).map_err(std::io::Error::other)?;
        std::fs::write(&path, text + "\n")?;
        Ok(path)
    }
}

/// The transport and frames of a finding file written by [`Finding::write`].
pub fn read_frames(path: &Path) -> std::io::Result<(Transport, Vec<String>)> {
    let text = std::fs::read_to_string(path)?;
    let bad = |what: &str| std::io::Error::other(format!("{}: {what}", path.display()));
    let json: serde_json::Value = serde_json::from_str(&text).map_err(|e| bad(&e.to_string()))?;
    let transport = json["transport"]
        .as_str()
        .and_then(Transport::from_name)
        .ok_or_else(|| bad("no known \"transport\""))?;
    let frames = json["frames"]
        .as_array()
        .ok_or_else(|| bad("no \"frames\" array"))?
        .iter()
        .map(|f| {
            f.as_str()
                .map(str::to_owned)
                .ok_or_else(|| bad("a frame is not a string"))
        })
        .collect::<Result<_, _>>()?;
    Ok((transport, frames))
}
