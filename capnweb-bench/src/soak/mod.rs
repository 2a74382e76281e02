//! `capnweb-bench soak`: soak and scale items (issue 15) against our own server process
//! (`serve ours-soak`), reading the server's memory from `/proc/<pid>/status` (VmRSS, VmHWM)
//! and its live sessions, objects and tasks from its `stats` answers. Prints a Markdown report.
//!
//! - `calls`: N calls on one connection (256 in flight), VmRSS sampled every 10%.
//! - `idle`: N idle WebSocket sessions held by the `hold` client: KiB per session, and VmRSS
//!   once they are closed.
//! - `storm`: N clients (one process) each holding a capability, a pending call and a callback
//!   the server keeps, killed at once: the time until the server's sessions, objects and tasks
//!   are back to what they were before.
//! - `flood`: a raw WebSocket client sending 1 KiB `echo` calls and never reading, for N
//!   seconds: the server's peak RSS (VmHWM) and its RSS at the end.

pub mod api;
mod flood;
mod storm;

use std::time::{Duration, Instant};

use futures_util::{StreamExt, TryStreamExt, stream};

use crate::client::{Context, check};
use crate::procs::{Child, Sched};
use api::SoakApiClient;

pub use storm::main as storm_main;

/// The help text of `soak --help`.
const USAGE: &str = "\
capnweb-bench soak: soak and scale items against our server (serve ours-soak)

USAGE:
    cargo run --release -p capnweb-bench -- soak [OPTIONS]

OPTIONS:
    --quick             calls 1,000,000, idle 1,000, storm 1,000, flood 10 s
    --calls N           calls on one connection (default 10,000,000)
    --idle N            idle sessions (default 10,000)
    --storm N           clients in the disconnect storm (default 1,000)
    --flood-secs N      seconds of the never-reading client (default 30)
    --only LIST         some of calls,idle,storm,flood (default all)
    -h, --help          this text
";

struct Options {
    calls: u64,
    idle: u64,
    storm: u64,
    flood_secs: u64,
    only: Vec<String>,
}

const ITEMS: [&str; 4] = ["calls", "idle", "storm", "flood"];

fn parse(args: &[String]) -> Result<Option<Options>, String> {
    let mut o = Options {
        calls: 10_000_000,
        idle: 10_000,
        storm: 1_000,
        flood_secs: 30,
        only: ITEMS.iter().map(|s| (*s).to_owned()).collect(),
    };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut number = |name: &str| -> Result<u64, String> {
            it.next()
                .ok_or_else(|| format!("{name} needs a value"))?
                .replace([',', '_'], "")
                .parse()
                .map_err(|e| format!("{name}: {e}"))
        };
        match arg.as_str() {
            "-h" | "--help" => {
                print!("{USAGE}");
                return Ok(None);
            }
            "--quick" => {
                o.calls = 1_000_000;
                o.idle = 1_000;
                o.flood_secs = 10;
            }
            "--calls" => o.calls = number("--calls")?.max(10),
            "--idle" => o.idle = number("--idle")?,
            "--storm" => o.storm = number("--storm")?,
            "--flood-secs" => o.flood_secs = number("--flood-secs")?,
            "--only" => {
                let list = it.next().ok_or("--only needs a value")?;
                o.only = list.split(',').map(|s| s.trim().to_owned()).collect();
                if let Some(bad) = o.only.iter().find(|s| !ITEMS.contains(&s.as_str())) {
                    return Err(format!("--only: unknown item {bad:?} (one of {ITEMS:?})"));
                }
            }
            other => return Err(format!("soak: unknown option {other:?} (see --help)")),
        }
    }
    Ok(Some(o))
}

/// `VmRSS` and `VmHWM` of `pid`, in KiB.
pub fn memory_kib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// The soak server and what it says about itself.
struct SoakServer {
    child: Child,
    url: String,
}

/// `[sessions, capabilities, callbacks, pending hangs, tasks]` of the server.
type Stats = [u64; 5];

impl SoakServer {
    fn start(exe: &std::path::Path) -> Result<SoakServer, String> {
        let args = ["serve".to_owned(), "ours-soak".to_owned()];
        let mut child = Child::spawn("server ours-soak", exe, &args, Sched::Free, None)?;
        let port = child.expect_line("LISTENING ", Duration::from_secs(30))?;
        Ok(SoakServer {
            child,
            url: format!("ws://127.0.0.1:{port}/"),
        })
    }

    fn pid(&self) -> u32 {
        self.child.pid()
    }

    fn stats(&mut self) -> Result<Stats, String> {
        self.child.send_line("stats")?;
        let line = self.child.expect_line("STATS ", Duration::from_secs(10))?;
        let numbers: Vec<u64> = line
            .split_whitespace()
            .map(|w| w.parse().map_err(|e| format!("STATS {line:?}: {e}")))
            .collect::<Result<_, _>>()?;
        numbers
            .try_into()
            .map_err(|_| format!("STATS: expected 5 numbers, got {line:?}"))
    }

    /// Polls the stats until `done` holds or `limit` passes; the time it took, if it did.
    fn wait_for(
        &mut self,
        limit: Duration,
        done: impl Fn(&Stats) -> bool,
    ) -> Result<(Option<Duration>, Stats), String> {
        let started = Instant::now();
        loop {
            let stats = self.stats()?;
            if done(&stats) {
                return Ok((Some(started.elapsed()), stats));
            }
            if started.elapsed() > limit {
                return Ok((None, stats));
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }
}

fn mib(kib: u64) -> String {
    format!("{:.1}", kib as f64 / 1024.0)
}

/// Runs `soak [OPTIONS]`.
pub fn main(args: &[String]) -> Result<(), String> {
    let Some(options) = parse(args)? else {
        return Ok(());
    };
    if cfg!(debug_assertions) {
        eprintln!("capnweb-bench soak: WARNING: a debug build; run with --release");
    }
    let fd_limit = crate::procs::raise_fd_limit();
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    println!(
        "## Soak and scale: `capnweb-bench soak {}`\n",
        args.join(" ")
    );
    println!("Server: `serve ours-soak` (capnweb_runtime::Server); open-file limit {fd_limit}.\n");
    for item in ITEMS {
        if !options.only.iter().any(|s| s == item) {
            continue;
        }
        // A fresh server per item: each starts from the same baseline.
        let mut server = SoakServer::start(&exe)?;
        let result = match item {
            "calls" => calls(&runtime, &mut server, options.calls),
            "idle" => idle(&exe, &mut server, options.idle),
            "storm" => storm_item(&exe, &mut server, options.storm),
            _ => flood::run(&runtime, &mut server, options.flood_secs),
        };
        if let Err(e) = result {
            println!("**{item}: failed: {e}**\n");
        }
        server.child.finish(Duration::from_secs(5));
    }
    Ok(())
}

/// Calls in flight in the `calls` item.
const IN_FLIGHT: usize = 256;

fn calls(
    runtime: &tokio::runtime::Runtime,
    server: &mut SoakServer,
    count: u64,
) -> Result<(), String> {
    let pid = server.pid();
    let url = server.url.clone();
    println!("### {count} calls on one connection ({IN_FLIGHT} in flight)\n");
    println!("| calls done | server VmRSS MiB | server VmHWM MiB | calls/s in this tenth |");
    println!("|---:|---:|---:|---:|");
    let (rss, hwm) = memory_kib(pid);
    println!("| 0 | {} | {} | |", mib(rss), mib(hwm));
    runtime.block_on(async move {
        let session = capnweb_runtime::transport::websocket::connect(&url)
            .await
            .ctx("connect")?;
        let api = SoakApiClient::from(session.main());
        let tenth = count / 10;
        for step in 0..10u64 {
            let first = (step * tenth) as i64;
            let started = Instant::now();
            stream::iter(first..first + tenth as i64)
                .map(|i| {
                    let sum = api.add(i, 1);
                    async move { Ok::<_, String>((i, sum.await.ctx("add")?)) }
                })
                .buffer_unordered(IN_FLIGHT)
                .try_for_each(|(i, sum)| std::future::ready(check("add", sum, i + 1)))
                .await?;
            let rate = tenth as f64 / started.elapsed().as_secs_f64();
            let (rss, hwm) = memory_kib(pid);
            println!(
                "| {} | {} | {} | {rate:.0} |",
                (step + 1) * tenth,
                mib(rss),
                mib(hwm)
            );
        }
        session.close();
        Ok::<_, String>(())
    })?;
    println!();
    Ok(())
}

fn idle(exe: &std::path::Path, server: &mut SoakServer, count: u64) -> Result<(), String> {
    let pid = server.pid();
    let timeout = Duration::from_secs(300);
    let mut hold = Child::spawn(
        "client hold",
        exe,
        &["hold".to_owned(), server.url.clone()],
        Sched::Free,
        None,
    )?;
    // Warm up: the first sessions' allocations are not per session.
    hold.send_line("open 100")?;
    hold.expect_line("OPEN ", timeout)?;
    hold.send_line("close")?;
    hold.expect_line("CLOSED", timeout)?;
    server.wait_for(Duration::from_secs(10), |s| s[0] == 0)?;
    let (before, _) = memory_kib(pid);
    hold.send_line(&format!("open {count}"))?;
    let answer = hold.expect_line("OPEN ", timeout)?;
    let held: u64 = answer
        .split_whitespace()
        .next()
        .and_then(|w| w.parse().ok())
        .unwrap_or(0);
    let (sessions, _) = server.wait_for(Duration::from_secs(30), |s| s[0] >= held)?;
    let (open, _) = memory_kib(pid);
    let stats_open = server.stats()?;
    hold.send_line("close")?;
    hold.expect_line("CLOSED", timeout)?;
    let (closed_in, stats) = server.wait_for(Duration::from_secs(60), |s| s[0] == 0)?;
    std::thread::sleep(Duration::from_millis(500));
    let (after, _) = memory_kib(pid);
    // A second round: memory the allocator kept from the first is reused, not added to.
    hold.send_line(&format!("open {count}"))?;
    let again_answer = hold.expect_line("OPEN ", timeout)?;
    server.wait_for(Duration::from_secs(30), |s| s[0] >= held)?;
    let (again, _) = memory_kib(pid);
    hold.send_line("close")?;
    hold.expect_line("CLOSED", timeout)?;
    server.wait_for(Duration::from_secs(60), |s| s[0] == 0)?;
    let (again_after, hwm) = memory_kib(pid);
    hold.finish(Duration::from_secs(5));
    let per = (open.saturating_sub(before)) as f64 / held.max(1) as f64;
    println!("### {count} idle WebSocket sessions\n");
    println!("| | value |\n|---|---:|");
    println!("| sessions held (OPEN answer: {answer}) | {held} |");
    println!("| server sessions seen | {} |", stats_open[0]);
    println!(
        "| server VmRSS before (after a 100-session warm-up) | {} MiB |",
        mib(before)
    );
    println!("| server VmRSS with them open | {} MiB |", mib(open));
    println!("| KiB per session | {per:.1} |");
    println!(
        "| all sessions gone on the server after close | {} |",
        closed_in.map_or(format!("NOT within 60 s (stats {stats:?})"), |d| format!(
            "{} ms",
            d.as_millis()
        ))
    );
    println!(
        "| server VmRSS 0.5 s after they all closed | {} MiB |",
        mib(after)
    );
    println!(
        "| second round: server VmRSS with {count} open again (OPEN answer: {again_answer}) | {} MiB |",
        mib(again)
    );
    println!(
        "| second round: server VmRSS after they closed | {} MiB |",
        mib(again_after)
    );
    println!("| server VmHWM | {} MiB |", mib(hwm));
    if sessions.is_none() {
        println!("| (the server never saw all {held} sessions at once) | |");
    }
    println!();
    Ok(())
}

/// Runs the storm client with `count` sessions against `server`, kills it once every session
/// is set up, and waits for the server's sessions, objects and tasks to be back at `baseline`.
/// Returns the stats once set up, when back, and how long objects and tasks took.
fn storm_once(
    exe: &std::path::Path,
    server: &mut SoakServer,
    count: u64,
    baseline: Stats,
) -> Result<StormRun, String> {
    let mut storm = Child::spawn(
        "client soak-storm",
        exe,
        &[
            "soak-storm".to_owned(),
            server.url.clone(),
            count.to_string(),
        ],
        Sched::Free,
        None,
    )?;
    storm.expect_line("READY ", Duration::from_secs(300))?;
    // Every hang call has reached the server.
    let (all_in, loaded) = server.wait_for(Duration::from_secs(30), |s| s[3] >= count)?;
    let (rss_loaded, _) = memory_kib(server.pid());
    // Killing the process drops every connection at once.
    drop(storm);
    let killed = Instant::now();
    let (objects, _) = server.wait_for(Duration::from_secs(60), |s| s[..4] == baseline[..4])?;
    let objects = objects.map(|_| killed.elapsed());
    let (tasks, after) = server.wait_for(Duration::from_secs(10), |s| s[4] <= baseline[4])?;
    let tasks = tasks.map(|_| killed.elapsed());
    Ok(StormRun {
        all_in: all_in.is_some(),
        loaded,
        rss_loaded,
        after,
        objects,
        tasks,
    })
}

struct StormRun {
    all_in: bool,
    loaded: Stats,
    rss_loaded: u64,
    after: Stats,
    objects: Option<Duration>,
    tasks: Option<Duration>,
}

fn storm_item(exe: &std::path::Path, server: &mut SoakServer, count: u64) -> Result<(), String> {
    let pid = server.pid();
    let fresh = server.stats()?;
    // A small storm first: what the server allocates once (worker threads, timers) is not
    // counted against the storm.
    let warm = storm_once(exe, server, 10, fresh)?;
    let baseline = server.stats()?;
    let (rss_before, _) = memory_kib(pid);
    let run = storm_once(exe, server, count, baseline)?;
    std::thread::sleep(Duration::from_millis(500));
    let (rss_after, _) = memory_kib(pid);
    let (all_in, loaded, rss_loaded, after) = (run.all_in, run.loaded, run.rss_loaded, run.after);
    let ready = count;
    println!("### Disconnect storm of {count} clients\n");
    println!(
        "Each client holds a capability (`cap()`), a pending `hang()` call and a callback the"
    );
    println!(
        "server keeps (`keep(cb)`); the client process (all {ready} sessions) is killed at once.\n"
    );
    println!(
        "| | sessions | capabilities | callbacks | pending calls | server tasks | VmRSS MiB |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    let row = |label: &str, s: &Stats, rss: u64| {
        println!(
            "| {label} | {} | {} | {} | {} | {} | {} |",
            s[0],
            s[1],
            s[2],
            s[3],
            s[4],
            if rss == 0 { String::new() } else { mib(rss) }
        );
    };
    row("fresh server", &fresh, 0);
    row("after a warm-up storm of 10", &baseline, rss_before);
    row("all clients set up", &loaded, rss_loaded);
    row("after the storm", &after, rss_after);
    println!();
    if !all_in {
        println!("(not every hang call reached the server within 30 s)\n");
    }
    let ms = |d: Option<Duration>, limit: &str| {
        d.map_or(format!("**NOT within {limit}**"), |d| {
            format!("{} ms", d.as_millis())
        })
    };
    println!(
        "After the kill: every session, capability, callback and pending call dropped in {}; \
         the server's tasks back to the baseline in {} (warm-up storm: {} and {}).\n",
        ms(run.objects, "60 s"),
        ms(run.tasks, "a further 10 s"),
        ms(warm.objects, "60 s"),
        ms(warm.tasks, "a further 10 s"),
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn options() {
        let o = parse(&[]).unwrap().unwrap();
        assert_eq!(
            (o.calls, o.idle, o.storm, o.flood_secs),
            (10_000_000, 10_000, 1_000, 30)
        );
        assert_eq!(o.only.len(), ITEMS.len());
        let o = parse(&args(&[
            "--quick",
            "--calls",
            "2_000",
            "--only",
            "calls, flood",
        ]))
        .unwrap()
        .unwrap();
        assert_eq!((o.calls, o.idle, o.flood_secs), (2_000, 1_000, 10));
        assert_eq!(o.only, vec!["calls".to_owned(), "flood".to_owned()]);
        assert!(parse(&args(&["--only", "nap"])).is_err());
        assert!(parse(&args(&["--calls"])).is_err());
    }

    #[test]
    fn reads_own_memory() {
        let (rss, hwm) = memory_kib(std::process::id());
        assert!(rss > 0 && hwm >= rss);
    }
}
