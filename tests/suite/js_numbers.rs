//! Numbers as JavaScript reads them: `JSON.parse` turns a literal too large for a double into
//! `Infinity` (and `["date", 1e400]` into an invalid date), where serde_json refuses it. Our
//! server answers such input exactly as the npm capnweb server does.

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
