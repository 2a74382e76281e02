//! The CI smoke run: about 24 s of fuzzing over the three transports, which must find nothing.
//! Set `CAPNWEB_FUZZ_SEED` to explore other inputs (the seed is printed either way).

use std::time::Duration;

use capnweb_fuzz::{Config, Transport, oracles};

#[test]
fn a_short_run_over_every_transport_finds_nothing() {
    let seed = std::env::var("CAPNWEB_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_251_207);
    let mut config = Config::new(&Transport::ALL, Duration::from_secs(24));
    // Memory is the fast path: most of the time goes there.
    config.time = vec![
        (Transport::Memory, Duration::from_secs(12)),
        (Transport::WebSocket, Duration::from_secs(6)),
        (Transport::Batch, Duration::from_secs(6)),
    ];
    config.seed = seed;
    // Shrinking re-runs failing inputs (seconds each for a hang or a leak): the test reports
    // the inputs as found and stays within its time.
    config.minimize = false;
    let report = capnweb_fuzz::run(&config);
    for t in &report.transports {
        println!(
            "{}: {} execs ({:.0}/s), corpus {}",
            t.transport.name(),
            t.execs,
            t.rate(),
            t.corpus
        );
        assert!(t.execs > 0, "{}: no input ran", t.transport.name());
    }
    let found: Vec<String> = report
        .findings
        .iter()
        .map(|f| {
            let frames: Vec<String> = f.input.iter().map(|s| oracles::shorten(s)).collect();
            format!(
                "[{}] {}: {}\n    {}",
                f.transport.name(),
                f.violation.oracle.name(),
                f.violation.detail,
                frames.join("\n    ")
            )
        })
        .collect();
    // The run recorded panics through its own hook, which would swallow this test's message:
    // put the default one back so a failure says what was found.
    drop(std::panic::take_hook());
    assert!(
        found.is_empty(),
        "seed {seed}: {} findings:\n{}",
        found.len(),
        found.join("\n")
    );
}
