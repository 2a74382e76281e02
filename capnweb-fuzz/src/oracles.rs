//! What counts as a finding: a panic anywhere, a hang (the sentinel call neither answered nor
//! the session ended within [`HANG_LIMIT`]), output that is not a protocol message, and leaks
//! (served objects or tasks still alive once the session is over).

use std::sync::{Mutex, Once};
use std::time::Duration;

use capnweb_runtime::Limits;
use capnweb_runtime::wire::Message;

use crate::api;

/// How long the sentinel (or the end of the session) may take.
pub const HANG_LIMIT: Duration = Duration::from_secs(2);
/// How long objects and tasks may take to go away once the session is over.
pub const LEAK_LIMIT: Duration = Duration::from_secs(2);

/// Which oracle fired.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Oracle {
    /// A panic, wherever it was caught.
    Panic,
    /// The sentinel call was not answered and the session did not end.
    Hang,
    /// A frame we wrote is not JSON, or not a protocol message.
    BadOutput,
    /// Served objects or tasks outlived the session.
    Leak,
}

impl Oracle {
    /// The name used in reports and file names.
    pub fn name(self) -> &'static str {
        match self {
            Oracle::Panic => "panic",
            Oracle::Hang => "hang",
            Oracle::BadOutput => "bad-output",
            Oracle::Leak => "leak",
        }
    }
}

/// One oracle firing on one exec: which, and what it saw.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// The oracle.
    pub oracle: Oracle,
    /// What it saw, for the report.
    pub detail: String,
}

impl Violation {
    /// A violation of `oracle`.
    pub fn new(oracle: Oracle, detail: impl Into<String>) -> Violation {
        Violation {
            oracle,
            detail: detail.into(),
        }
    }
}

static PANICS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Replaces the panic hook with one that records every panic (message and location) instead
/// of printing it: panics the runtime contains are still findings.
pub fn record_panics() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            let message = info
                .payload()
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| info.payload().downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "(non-string payload)".to_owned());
            let at = info
                .location()
                .map(|l| format!("{}:{}", l.file(), l.line()))
                .unwrap_or_default();
            let thread = std::thread::current().name().unwrap_or("?").to_owned();
            if let Ok(mut panics) = PANICS.lock() {
                panics.push(format!("{message} at {at} (thread {thread})"));
            }
        }));
    });
}

/// The panics recorded since the last call.
pub fn take_panics() -> Vec<String> {
    PANICS
        .lock()
        .map(|mut p| std::mem::take(&mut *p))
        .unwrap_or_default()
}

/// Checks one frame our side wrote: JSON, and one of the eight messages.
pub fn check_frame(text: &str) -> Result<(), Violation> {
    if let Err(e) = serde_json::from_str::<serde_json::Value>(text) {
        return Err(Violation::new(
            Oracle::BadOutput,
            format!("not JSON ({e}): {}", shorten(text)),
        ));
    }
    if let Err(e) = Message::parse(text, &Limits::default()) {
        return Err(Violation::new(
            Oracle::BadOutput,
            format!("not a protocol message ({e}): {}", shorten(text)),
        ));
    }
    Ok(())
}

/// Live served objects and runtime tasks, to compare before and after an exec.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Census {
    /// [`api::live_objects`].
    pub objects: i64,
    /// Tokio's `num_alive_tasks` on the fuzzer's runtime.
    pub tasks: usize,
}

impl Census {
    /// The counts now (on the current tokio runtime).
    pub fn now() -> Census {
        Census {
            objects: api::live_objects(),
            tasks: tokio::runtime::Handle::current()
                .metrics()
                .num_alive_tasks(),
        }
    }
}

/// Waits (at most [`LEAK_LIMIT`]) until objects and tasks are back to `baseline`.
pub async fn back_to(baseline: Census) -> Result<(), Violation> {
    let deadline = tokio::time::Instant::now() + LEAK_LIMIT;
    // Most execs clean up within a few scheduler turns: spin briefly before sleeping.
    for turn in 0u32.. {
        let now = Census::now();
        if now.objects <= baseline.objects && now.tasks <= baseline.tasks {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(Violation::new(
                Oracle::Leak,
                format!(
                    "{} served objects and {} tasks still alive {LEAK_LIMIT:?} after the session \
                     ended (before it: {} and {})",
                    now.objects, now.tasks, baseline.objects, baseline.tasks
                ),
            ));
        }
        if turn < 50 {
            tokio::task::yield_now().await;
        } else {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
    unreachable!("the loop returns")
}

/// The first 300 characters of `text`, for reports.
pub fn shorten(text: &str) -> String {
    let mut out: String = text.chars().take(300).collect();
    if out.len() < text.len() {
        out.push('…');
    }
    out
}
