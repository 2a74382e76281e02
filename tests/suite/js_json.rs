//! JSON as JavaScript reads it, where serde_json refuses: a number too large for a double is
//! `Infinity` (and `["date", 1e400]` an invalid date), answered exactly as the npm capnweb
//! server answers; a lone UTF-16 surrogate (a truncated emoji) is accepted, and becomes U+FFFD.

use capnweb_runtime::SessionOptions;

use crate::node::{NodeServer, SERVER_SCRIPT};
use crate::raw_peer::{ALL, node_replies, run};

const HUGE: [&str; 4] = [
    r#"["push",["pipeline",0,["echo"],[[[1e400,-1E+400,1e-400,"1e400"]]]]]"#,
    r#"["pull",1]"#,
    r#"["push",["pipeline",0,["echo"],[["date",1e400]]]]"#,
    r#"["pull",2]"#,
];

#[tokio::test]
async fn numbers_beyond_a_double_read_as_infinity_as_in_javascript() {
    let expected = [
        r#"["resolve",1,[[["inf"],["-inf"],0,"1e400"]]]"#,
        r#"["resolve",2,["date",null]]"#,
    ];
    let node = NodeServer::start_async(SERVER_SCRIPT).await;
    assert_eq!(
        node_replies(&node.ws_url(), &HUGE).await,
        expected,
        "npm capnweb"
    );
    for &over in ALL {
        let outcome = run(over, SessionOptions::default(), &HUGE).await;
        assert_eq!(outcome.abort, None, "{over:?}");
        assert_eq!(outcome.replies, expected, "{over:?}");
    }
}

#[tokio::test]
async fn a_lone_surrogate_is_accepted_and_becomes_the_replacement_character() {
    let truncated = [
        r#"["push",["pipeline",0,["echo"],["cut \ud83d", "\ud83d\ude00 whole"]]]"#,
        r#"["pull",1]"#,
    ];
    // JavaScript keeps the lone half (JSON.stringify escapes it again); a Rust string cannot.
    let node = NodeServer::start_async(SERVER_SCRIPT).await;
    assert_eq!(
        node_replies(&node.ws_url(), &truncated).await,
        [r#"["resolve",1,"cut \ud83d"]"#]
    );
    for &over in ALL {
        let outcome = run(over, SessionOptions::default(), &truncated).await;
        assert_eq!(outcome.abort, None, "{over:?}");
        assert_eq!(
            outcome.replies,
            ["[\"resolve\",1,\"cut \u{fffd}\"]"],
            "{over:?}"
        );
    }
}
