//! The results as Markdown: one table per scenario and pass, the targets with their status, and
//! the block of `docs/performance.md` that the bench owns.

use std::path::Path;

use crate::cli::Options;
use crate::machine::MachineNotes;
use crate::metrics::{columns, format_number, median_of};
use crate::plan;
use crate::runner::ScenarioResult;
use crate::targets::{Pass, targets};

/// Marks the start of the generated block in the Markdown file.
pub const BEGIN: &str =
    "<!-- capnweb-bench: begin generated results (rewritten by every run with --write) -->";
/// Marks its end.
pub const END: &str = "<!-- capnweb-bench: end generated results -->";

/// One scenario's table.
pub fn scenario_table(result: &ScenarioResult, runs: usize) -> String {
    let columns = columns(result.scenario);
    let mut out = format!("#### {}\n\n", plan::title(result.scenario));
    if plan::count(result.scenario, &crate::cli::Counts::FULL) != result.count {
        out.push_str(&format!(
            "(reduced count: {} per run)\n\n",
            format_number(result.count as f64, 0)
        ));
    }
    out.push_str("| implementation |");
    for c in &columns {
        out.push_str(&format!(" {} |", c.header));
    }
    out.push_str(" runs |\n|---|");
    for _ in &columns {
        out.push_str("---:|");
    }
    out.push_str("---:|\n");
    for case in &result.cases {
        let label = if case.case.diagnostic {
            format!("{} *(diagnostic)*", case.case.label)
        } else {
            case.case.label.to_owned()
        };
        out.push_str(&format!("| {label} |"));
        for c in &columns {
            let cell =
                median_of(case, c.value).map_or("–".into(), |v| format_number(v, c.decimals));
            out.push_str(&format!(" {cell} |"));
        }
        let planned = if result.scenario == 'g' {
            runs.min(3)
        } else {
            runs
        };
        out.push_str(&format!(" {}/{planned} |\n", case.samples.len()));
    }
    for case in &result.cases {
        for e in dedup(&case.errors) {
            out.push_str(&format!("\n- {} failed: {e}", case.case.label));
        }
    }
    if result.cases.iter().any(|c| !c.errors.is_empty()) {
        out.push('\n');
    }
    if !result.server_rss.is_empty() {
        let list: Vec<String> = result
            .server_rss
            .iter()
            .map(|(name, kib)| format!("{name} {} MiB", format_number(*kib as f64 / 1024.0, 1)))
            .collect();
        out.push_str(&format!(
            "\nServer RSS after all runs: {}.\n",
            list.join(", ")
        ));
    }
    out.push('\n');
    out
}

fn dedup(errors: &[String]) -> Vec<String> {
    let mut seen: Vec<String> = Vec::new();
    for e in errors {
        if !seen.contains(e) {
            seen.push(e.clone());
        }
    }
    seen
}

/// The targets table.
pub fn targets_table(passes: &[Pass]) -> String {
    let mut out = String::from(
        "| scenario | target | free scheduling | one core (`taskset -c 0`) | ceiling (deciding pass) | status |\n|---|---|---|---|---|---|\n",
    );
    for target in targets() {
        let cell = |sched| {
            passes
                .iter()
                .find(|p| p.sched == sched)
                .and_then(|p| target.evaluate(p))
                .map_or("–".into(), |e| e.shown)
        };
        let deciding = target.deciding(passes);
        let ceiling = deciding
            .and_then(|p| target.ceiling_on(p))
            .unwrap_or_else(|| "–".into());
        let status = match deciding.and_then(|p| target.evaluate(p)) {
            Some(e) if e.met => "**MET**",
            Some(_) => "**NOT MET**",
            None => "not measured",
        };
        out.push_str(&format!(
            "| {} | {} | {} | {} | {ceiling} | {status} |\n",
            target.scenario,
            target.text,
            cell(crate::procs::Sched::Free),
            cell(crate::procs::Sched::Pinned),
        ));
    }
    out
}

/// The generated block: command, machine, targets and every table.
pub fn block(passes: &[Pass], options: &Options, notes: &MachineNotes) -> String {
    let mut out = format!("{BEGIN}\n\n## Latest results\n\n");
    let mut command = String::from("cargo run --release -p capnweb-bench --");
    for arg in &options.argv {
        command.push(' ');
        command.push_str(arg);
    }
    out.push_str(&format!("Command: `{command}`\n\n"));
    out.push_str(&format!(
        "Medians of {} runs per implementation (scenario g: {}), each run a fresh client process \
         that warms up (a tenth of the count) before its timed part; the implementations take \
         turns run by run. CPU time is utime + stime from `/proc/<pid>/stat` (10 ms ticks) over \
         the timed part, for the client and the server process.\n\n",
        options.runs,
        options.runs.min(3)
    ));
    if options.quick {
        out.push_str(
            "**A `--quick` smoke run: counts are a tenth of performance.md's; do not quote.**\n\n",
        );
    }
    out.push_str(&notes.markdown());
    out.push_str("\n### Targets\n\n");
    out.push_str(
        "Status is decided on free scheduling, except the one-core target of scenario a.\n\n",
    );
    out.push_str(&targets_table(passes));
    for pass in passes {
        out.push_str(&format!("\n### {}\n\n", capitalize(pass.sched.label())));
        for result in &pass.scenarios {
            out.push_str(&scenario_table(result, options.runs));
        }
    }
    out.push_str(&format!("{END}\n"));
    out
}

fn capitalize(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map_or(String::new(), |first| {
        first.to_uppercase().collect::<String>() + chars.as_str()
    })
}

/// Writes `block` into the Markdown file at `path`: replaces the generated block of an existing
/// file (keeping everything around it), or creates the file with a short frame around it.
pub fn write(path: &Path, block: &str) -> std::io::Result<()> {
    let existing = std::fs::read_to_string(path).unwrap_or_default();
    let text = match (existing.find(BEGIN), existing.find(END)) {
        (Some(start), Some(end)) if start < end => format!(
            "{}{}{}",
            &existing[..start],
            block.trim_end_matches('\n'),
            &existing[end + END.len()..]
        ),
        _ if existing.trim().is_empty() => format!(
            "# Performance\n\nScenarios, references and targets: `shared/performance.md`. \
             The benchmark program is `capnweb-bench/`; the block below is rewritten by every \
             run with `--write docs/performance.md`.\n\n{block}\n## Analysis\n\n(not written yet)\n"
        ),
        _ => format!("{}\n\n{block}", existing.trim_end()),
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_only_the_generated_block() {
        let dir = std::env::temp_dir().join(format!("capnweb-bench-test-{}", std::process::id()));
        let path = dir.join("perf.md");
        write(&path, &format!("{BEGIN}\none\n{END}\n")).unwrap();
        let first = std::fs::read_to_string(&path).unwrap();
        assert!(first.contains("one") && first.contains("## Analysis"));
        let edited = first.replace("(not written yet)", "hand-written");
        std::fs::write(&path, edited).unwrap();
        write(&path, &format!("{BEGIN}\ntwo\n{END}\n")).unwrap();
        let second = std::fs::read_to_string(&path).unwrap();
        assert!(second.contains("two") && !second.contains("one\n"));
        assert!(second.contains("hand-written"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
