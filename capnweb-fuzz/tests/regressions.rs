//! Inputs the fuzzer found, replayed over every transport with every oracle. In a test binary
//! of their own: one of them overflowed the stack, which aborts the whole process.

use capnweb_fuzz::fuzz::Target;
use capnweb_fuzz::rng::Rng;
use capnweb_fuzz::{Transport, oracles};

fn replay(frames: &[&str]) {
    oracles::record_panics();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let frames: Vec<String> = frames.iter().map(|f| (*f).to_owned()).collect();
    for transport in Transport::ALL {
        let outcome = runtime.block_on(async {
            let target = Target::start(transport).await.expect("start the target");
            target.exec(&frames, &mut Rng::new(1)).await
        });
        assert!(
            outcome.violations.is_empty(),
            "{}: {:?}",
            transport.name(),
            outcome.violations
        );
    }
}

/// The peer's promise `-1` is our push result 1; the peer resolves it to a property of that
/// same result. Resolving the local promise to a promise queued on itself recursed without end
/// (`LocalPromise::resolve` -> `Hook::get` -> a new queued promise -> `resolve` ...) and the
/// stack overflow aborted the whole server process; such a resolution is now refused as a
/// chaining cycle.
#[test]
fn a_promise_resolved_to_a_property_of_itself_does_not_overflow_the_stack() {
    replay(&[
        r#"["push",["promise",-1]]"#,
        r#"["resolve",-1,["pipeline",1,["x"]]]"#,
    ]);
}

/// The first resolve/reject cycle found: a settlement introducing its own ID (fixed in
/// `session/receive.rs`; tests/suite/promise_cycles.rs pins it with the suite's own peer).
#[test]
fn a_settlement_that_introduces_its_own_id_leaks_nothing() {
    replay(&[r#"["resolve",-1,[[["import",0],["promise",-1]]]]"#]);
}
