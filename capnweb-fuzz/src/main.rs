//! `capnweb-fuzz`: fuzzes the capnweb session engine for a while and reports what it found.
//!
//! ```text
//! cargo run --release -p capnweb-fuzz -- --seconds 60 [--seed S] [--transport memory|websocket|batch|all]
//!                                        [--findings DIR] [--no-minimize] [--max-frames N]
//! cargo run --release -p capnweb-fuzz -- --replay capnweb-fuzz/findings/memory-leak-1.json
//! ```
//!
//! Exits with 1 when there are findings (written to `capnweb-fuzz/findings/` by default), 2 on
//! a usage error.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use capnweb_fuzz::fuzz::Target;
use capnweb_fuzz::rng::Rng;
use capnweb_fuzz::{Config, Transport, findings, oracles};

const USAGE: &str = "usage: capnweb-fuzz --seconds N [--seed S] [--transport memory|websocket|batch|all] \
[--findings DIR] [--no-minimize] [--max-frames N]\n       capnweb-fuzz --replay FINDING.json";

fn main() -> ExitCode {
    match parse(std::env::args().skip(1).collect()) {
        Ok(Command::Fuzz(config)) => fuzz(&config),
        Ok(Command::Replay(path)) => replay(&path),
        Err(e) => {
            eprintln!("{e}\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

enum Command {
    Fuzz(Config),
    Replay(PathBuf),
}

fn parse(args: Vec<String>) -> Result<Command, String> {
    let mut seconds: Option<f64> = None;
    let mut seed = None;
    let mut transports = Transport::ALL.to_vec();
    let mut dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/findings"));
    let mut minimize = true;
    let mut max_frames = None;
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--seconds" => seconds = Some(value()?.parse().map_err(|e| format!("--seconds: {e}"))?),
            "--seed" => seed = Some(value()?.parse().map_err(|e| format!("--seed: {e}"))?),
            "--transport" => {
                let name = value()?;
                transports = match name.as_str() {
                    "all" => Transport::ALL.to_vec(),
                    other => vec![
                        Transport::from_name(other)
                            .ok_or(format!("unknown transport {other:?}"))?,
                    ],
                };
            }
            "--findings" => dir = PathBuf::from(value()?),
            "--no-minimize" => minimize = false,
            "--max-frames" => {
                max_frames = Some(value()?.parse().map_err(|e| format!("--max-frames: {e}"))?)
            }
            "--replay" => return Ok(Command::Replay(PathBuf::from(value()?))),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    let seconds = seconds.ok_or("--seconds is required")?;
    if !seconds.is_finite() || seconds <= 0.0 {
        return Err("--seconds must be a positive number".into());
    }
    let mut config = Config::new(&transports, Duration::from_secs_f64(seconds));
    config.seed = seed.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64)
    });
    config.findings_dir = Some(dir);
    config.minimize = minimize;
    if let Some(n) = max_frames {
        config.max_frames = n;
    }
    Ok(Command::Fuzz(config))
}

fn fuzz(config: &Config) -> ExitCode {
    let transports: Vec<&str> = config.time.iter().map(|(t, _)| t.name()).collect();
    println!(
        "capnweb-fuzz: seed {}, {} ({:?} each)",
        config.seed,
        transports.join(", "),
        config.time.first().map(|(_, d)| *d).unwrap_or_default()
    );
    if let Some(dir) = &config.findings_dir {
        println!(
            "(should this process die, the input it was running is in {})",
            capnweb_fuzz::fuzz::current_input_path(dir).display()
        );
    }
    let report = capnweb_fuzz::run(config);
    let mut total = 0;
    for t in &report.transports {
        total += t.execs;
        println!(
            "{:<10} {:>9} execs in {:>6.1} s = {:>8.0} execs/s; {} failing execs; corpus {}",
            t.transport.name(),
            t.execs,
            t.elapsed.as_secs_f64(),
            t.rate(),
            t.failing_execs,
            t.corpus
        );
    }
    println!(
        "total      {total:>9} execs; {} findings",
        report.findings.len()
    );
    for f in &report.findings {
        println!(
            "\n[{}] {}: {}\n  minimized input ({} of {} frames):",
            f.transport.name(),
            f.violation.oracle.name(),
            f.violation.detail,
            f.minimized.len(),
            f.input.len()
        );
        for frame in &f.minimized {
            println!("    {}", oracles::shorten(frame));
        }
    }
    if report.findings.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn replay(path: &std::path::Path) -> ExitCode {
    let (transport, frames) = match findings::read_frames(path) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    oracles::record_panics();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let outcome = runtime.block_on(async {
        let target = Target::start(transport).await.expect("start the target");
        target.exec(&frames, &mut Rng::new(1)).await
    });
    println!("replayed {} frames over {}", frames.len(), transport.name());
    for v in &outcome.violations {
        println!("  {}: {}", v.oracle.name(), v.detail);
    }
    if outcome.violations.is_empty() {
        println!("  no oracle fired");
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
