//! Each of `Limits`, set low, aborts the session that goes past it with a message naming the
//! limit, over every transport, and the session leaves nothing behind while others keep working
//! (`raw_peer::run`). With the defaults, a small message cannot make a huge amount of work.

use capnweb_runtime::{Limits, SessionOptions};

use crate::raw_peer::{ALL, run};

fn with(limits: Limits) -> SessionOptions {
    let mut options = SessionOptions::default();
    options.limits = limits;
    options
}

const ECHO_1: &str = r#"["push",["pipeline",0,["echo"],[1]]]"#;
const HANG: &str = r#"["push",["pipeline",0,["hang"],[]]]"#;

/// `n` copies of `message`.
fn times(message: &str, n: usize) -> Vec<&str> {
    vec![message; n]
}

async fn expect_limit(limits: Limits, messages: &[&str], reason: &str) {
    for &over in ALL {
        let outcome = run(over, with(limits), messages).await;
        outcome.assert_aborted_with(reason, &format!("{over:?}"));
    }
}

#[tokio::test]
async fn max_exports_bounds_the_calls_the_peer_keeps() {
    // The main object and four results fill it; the fifth push is refused.
    let limits = Limits::default().max_exports(5);
    expect_limit(
        limits,
        &times(ECHO_1, 10),
        "the peer exceeded max_exports (5)",
    )
    .await;
}

#[tokio::test]
async fn max_exports_bounds_what_we_export_for_the_peer() {
    // One result holding five objects: with the main object and the result, the third object
    // does not fit.
    let limits = Limits::default().max_exports(4);
    let messages = [
        r#"["push",["pipeline",0,["makeStubs"],[5]]]"#,
        r#"["pull",1]"#,
    ];
    for &over in ALL {
        let outcome = run(over, with(limits), &messages).await;
        outcome.assert_aborted_with("the peer exceeded max_exports (4)", &format!("{over:?}"));
        // Refused while the result was being sent, not at the next push.
        assert_eq!(outcome.replies, Vec::<String>::new(), "{over:?}");
    }
}

#[tokio::test]
async fn max_imports_bounds_the_stubs_and_promises_the_peer_sends() {
    let limits = Limits::default().max_imports(3);
    expect_limit(
        limits,
        &[r#"["push",["pipeline",0,["echo"],[[[["export",-1],["export",-2],["export",-3]]]]]]"#],
        "the peer exceeded max_imports (3)",
    )
    .await;
    expect_limit(
        limits,
        &[
            r#"["push",["pipeline",0,["echo"],[["promise",-1]]]]"#,
            r#"["push",["pipeline",0,["echo"],[["promise",-2]]]]"#,
            r#"["push",["pipeline",0,["echo"],[["promise",-3]]]]"#,
        ],
        "the peer exceeded max_imports (3)",
    )
    .await;
}

#[tokio::test]
async fn max_calls_in_flight_bounds_running_calls_even_once_released() {
    let limits = Limits::default().max_calls_in_flight(3);
    // Releasing a call does not stop it (as on capnweb), so the table alone bounds nothing.
    let released: Vec<String> = (1..=5)
        .flat_map(|id| [HANG.to_owned(), format!(r#"["release",{id},1]"#)])
        .collect();
    let released: Vec<&str> = released.iter().map(String::as_str).collect();
    expect_limit(
        limits,
        &released,
        "the peer exceeded max_calls_in_flight (3)",
    )
    .await;
    // Calls queued behind a promise that has not settled count too.
    let queued = [
        HANG,
        r#"["push",["pipeline",1,["a"],[]]]"#,
        r#"["push",["pipeline",1,["b"],[]]]"#,
        r#"["push",["pipeline",1,["c"],[]]]"#,
    ];
    expect_limit(limits, &queued, "the peer exceeded max_calls_in_flight (3)").await;
}

#[tokio::test]
async fn calls_that_finish_leave_the_count() {
    // Far more calls than the limit, each finishing before the next: never refused.
    let limits = Limits::default().max_calls_in_flight(2);
    let mut messages = Vec::new();
    for id in 1..=20 {
        messages.push(ECHO_1.to_owned());
        messages.push(format!(r#"["release",{id},1]"#));
    }
    let messages: Vec<&str> = messages.iter().map(String::as_str).collect();
    for &over in ALL {
        let outcome = run(over, with(limits), &messages).await;
        assert_eq!(outcome.abort, None, "{over:?}");
    }
}

#[tokio::test]
async fn max_remap_instructions_bounds_a_map_program_and_its_nested_ones() {
    let limits = Limits::default().max_remap_instructions(2);
    let reason = "the peer exceeded max_remap_instructions (2)";
    expect_limit(
        limits,
        &[r#"["push",["remap",0,[],[],[["pipeline",0],["pipeline",0],["pipeline",0]]]]"#],
        reason,
    )
    .await;
    // A nested program is checked when the outer one runs it.
    expect_limit(
        limits,
        &[
            r#"["push",["remap",0,[],[],[["remap",0,[],[],[["pipeline",0],["pipeline",0],["pipeline",0]]]]]]"#,
        ],
        reason,
    )
    .await;
}

#[tokio::test]
async fn max_remap_output_bounds_what_a_map_creates() {
    let limits = Limits::default().max_remap_output(10);
    expect_limit(
        limits,
        &[
            r#"["push",["pipeline",0,["echo"],[[[1,2,3,4,5,6,7,8,9,10,11,12]]]]]"#,
            r#"["push",["remap",1,[],[],[["pipeline",0]]]]"#,
        ],
        "the peer exceeded max_remap_output (10)",
    )
    .await;
}

#[tokio::test]
async fn max_message_size_and_max_depth_abort_as_before() {
    let big = format!(
        r#"["push",["pipeline",0,["echo"],["{}"]]]"#,
        "x".repeat(2000)
    );
    expect_limit(
        Limits::default().max_message_size(1000),
        &[&big],
        "Incoming message exceeds maximum size of 1000 UTF-16 code units.",
    )
    .await;
    expect_limit(
        Limits::default().max_depth(4),
        &[r#"["push",["pipeline",0,["echo"],[{"a":{"b":{"c":{"d":1}}}}]]]"#],
        "Deserialization exceeded maximum allowed message depth of 4.",
    )
    .await;
}

/// With the default limits, a message of a few hundred kilobytes cannot make hundreds of
/// thousands of values (issue 15: a 400 KB remap created 200,000 of them).
#[tokio::test]
async fn small_messages_cannot_make_huge_work_with_the_defaults() {
    let many = vec![r#"["pipeline",0]"#; 20_000].join(",");
    let long_program = format!(r#"["push",["remap",0,[],[],[{many}]]]"#);
    let array = (0..2_000)
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(",");
    let array_push = format!(r#"["push",["pipeline",0,["echo"],[[[{array}]]]]]"#);
    let program = vec![r#"["pipeline",0]"#; 1_000].join(",");
    let wide_map = format!(r#"["push",["remap",1,[],[],[{program}]]]"#);
    for &over in ALL {
        run(over, SessionOptions::default(), &[&long_program])
            .await
            .assert_aborted_with("the peer exceeded max_remap_instructions (10000)", "long");
        // 2,000 elements times 1,000 instructions: two million values.
        run(over, SessionOptions::default(), &[&array_push, &wide_map])
            .await
            .assert_aborted_with("the peer exceeded max_remap_output (1000000)", "wide");
    }
}
