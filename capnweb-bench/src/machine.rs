//! Notes about the machine and the toolchains, for the report.

use std::path::Path;

use crate::procs::command_output;

/// What the report says about where it ran.
pub struct MachineNotes {
    /// `date -u`.
    pub date: String,
    /// `nproc`.
    pub nproc: String,
    /// The CPU model from /proc/cpuinfo.
    pub cpu: String,
    /// Total memory.
    pub memory: String,
    /// `uname -sr`.
    pub kernel: String,
    /// The workspace's git commit, and whether the tree had uncommitted changes.
    pub commit: String,
    /// `rustc --version` (in the workspace, so with its pinned toolchain).
    pub rustc: String,
    /// `node --version`.
    pub node: String,
    /// The capnweb version installed in tests/node.
    pub capnweb: String,
    /// /proc/loadavg when the run started.
    pub load: String,
    /// The open-file limit the run had.
    pub fd_limit: u64,
    /// Whether this binary was built with optimizations.
    pub release: bool,
}

impl MachineNotes {
    /// Collects the notes; `node_dir` is tests/node.
    pub fn collect(node_dir: &Path, fd_limit: u64) -> MachineNotes {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let field = |text: &str, name: &str| {
            text.lines()
                .find(|l| l.starts_with(name))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_owned())
                .unwrap_or_else(|| "?".into())
        };
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let capnweb = std::fs::read_to_string(node_dir.join("node_modules/capnweb/package.json"))
            .ok()
            .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
            .and_then(|v| v["version"].as_str().map(str::to_owned))
            .unwrap_or_else(|| "?".into());
        let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let rustc = std::process::Command::new("rustc")
            .arg("--version")
            .current_dir(&workspace)
            .output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            .unwrap_or_else(|| "?".into());
        let or_unknown = |s: Option<String>| s.unwrap_or_else(|| "?".into());
        let git = |args: &[&str]| {
            std::process::Command::new("git")
                .args(args)
                .current_dir(&workspace)
                .output()
                .ok()
                .filter(|o| o.status.success())
                .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        };
        let commit = match git(&["rev-parse", "--short", "HEAD"]) {
            Some(hash) => match git(&["status", "--porcelain", "--untracked-files=no"]) {
                Some(changes) if !changes.is_empty() => {
                    // `XY path` per line (the first line's leading blank was trimmed).
                    let paths: Vec<&str> = changes
                        .lines()
                        .filter_map(|l| l.trim_start().split_once(' ').map(|(_, p)| p.trim()))
                        .collect();
                    let shown = paths.iter().take(8).copied().collect::<Vec<_>>().join(", ");
                    let more = paths.len().saturating_sub(8);
                    let more = if more > 0 {
                        format!(" and {more} more")
                    } else {
                        String::new()
                    };
                    format!("{hash} + uncommitted changes to tracked files: {shown}{more}")
                }
                _ => hash,
            },
            None => "? (not a git checkout)".into(),
        };
        MachineNotes {
            date: or_unknown(command_output("date", &["-u", "+%Y-%m-%d %H:%M UTC"])),
            nproc: or_unknown(command_output("nproc", &[])),
            cpu: format!(
                "{} ({} MHz as reported)",
                field(&cpuinfo, "model name"),
                field(&cpuinfo, "cpu MHz")
            ),
            memory: field(&meminfo, "MemTotal")
                .strip_suffix(" kB")
                .and_then(|kib| kib.trim().parse::<f64>().ok())
                .map_or_else(|| "?".into(), |kib| format!("{:.1} GiB", kib / 1048576.0)),
            kernel: or_unknown(command_output("uname", &["-sr"])),
            commit,
            rustc,
            node: or_unknown(command_output("node", &["--version"])),
            capnweb,
            load: std::fs::read_to_string("/proc/loadavg")
                .map(|s| s.trim().to_owned())
                .unwrap_or_default(),
            fd_limit,
            release: !cfg!(debug_assertions),
        }
    }

    /// The notes as a Markdown list.
    pub fn markdown(&self) -> String {
        let mut out = String::new();
        let mut line = |k: &str, v: &str| out.push_str(&format!("- {k}: {v}\n"));
        line("date", &self.date);
        line("CPUs (`nproc`)", &self.nproc);
        line("CPU", &self.cpu);
        line("memory", &self.memory);
        line("kernel", &self.kernel);
        line("workspace commit", &self.commit);
        line("rustc", &self.rustc);
        line(
            "node",
            &format!("{} with capnweb {}", self.node, self.capnweb),
        );
        line("load average at start (/proc/loadavg)", &self.load);
        line("open-file limit", &self.fd_limit.to_string());
        line(
            "build",
            if self.release {
                "release"
            } else {
                "DEBUG (numbers are not meaningful; use --release)"
            },
        );
        out
    }
}
