//! ID discipline: a peer may only introduce IDs from its own side of the ID space (protocol.md
//! section 3: what it exports and the promises it sends take negative IDs; positive IDs are the
//! results of its calls, which both sides count). Anything else aborts its session with a
//! message naming the bad ID, and the session leaves nothing behind, over every transport. A
//! settlement for an import we do not have is the one unknown ID that is ignored, as capnweb
//! ignores it.

use capnweb_runtime::SessionOptions;

use crate::raw_peer::{ALL, run};

/// The collision reported in issue 15: a promise the peer sent as ID 1 was overwritten by our
/// own first push (also ID 1), so it was never failed and the call waiting for it leaked.
const ISSUE_INPUT: [&str; 2] = [
    r#"["push",["pipeline",0,["callCb"],[["export",-2],["promise",1]]]]"#,
    r#"["push",["pipeline",0,["notify"],[["export",-1],3]]]"#,
];

#[tokio::test]
async fn the_issue_input_aborts_and_leaks_nothing() {
    for &over in ALL {
        let outcome = run(over, SessionOptions::default(), &ISSUE_INPUT).await;
        outcome.assert_aborted_with(r#"["promise",1]"#, &format!("{over:?}"));
    }
}

/// Every way a peer can introduce an ID that is not its to pick, and what the abort names.
const BAD_INTRODUCTIONS: &[(&[&str], &str)] = &[
    (
        &[r#"["push",["pipeline",0,["callCb"],[["export",1],5]]]"#],
        r#"the peer sent ["export",1], but the IDs a peer exports must be negative"#,
    ),
    (
        &[r#"["push",["pipeline",0,["echo"],[["promise",1]]]]"#],
        r#"the peer sent ["promise",1], but the IDs a peer exports must be negative"#,
    ),
    (
        &[r#"["push",["pipeline",0,["echo"],[["export",0]]]]"#],
        r#"["export",0]"#,
    ),
    (
        &[r#"["push",["pipeline",0,["echo"],[["promise",0]]]]"#],
        r#"["promise",0]"#,
    ),
    (
        &[r#"["push",["pipeline",0,["echo"],[["export",9007199254740991]]]]"#],
        r#"["export",9007199254740991]"#,
    ),
    // In a remap's captures, and in a settlement (even of an import we do not have).
    (
        &[r#"["push",["remap",0,[],[["export",1]],[["pipeline",0]]]]"#],
        r#"["export",1]"#,
    ),
    (&[r#"["resolve",1,["export",2]]"#], r#"["export",2]"#),
    (&[r#"["resolve",-1,["promise",3]]"#], r#"["promise",3]"#),
    // A promise must be new: never an ID the import table already holds.
    (
        &[
            r#"["push",["pipeline",0,["echo"],[["export",-1]]]]"#,
            r#"["push",["pipeline",0,["echo"],[["promise",-1]]]]"#,
        ],
        r#"the peer sent ["promise",-1], but import -1 already exists: a promise must have a new ID"#,
    ),
    (
        &[r#"["push",["pipeline",0,["echo"],[[[["promise",-1],["promise",-1]]]]]]"#],
        "import -1 already exists",
    ),
    (
        &[r#"["push",["pipeline",0,["echo"],[[[["promise",-1],["export",-1]]]]]]"#],
        r#"the peer sent ["export",-1], but import -1 is a promise it has not settled yet"#,
    ),
];

#[tokio::test]
async fn a_peer_introducing_an_id_that_is_not_its_own_is_aborted() {
    for &over in ALL {
        for (messages, needle) in BAD_INTRODUCTIONS {
            let outcome = run(over, SessionOptions::default(), messages).await;
            outcome.assert_aborted_with(needle, &format!("{over:?} {messages:?}"));
        }
    }
}

/// References to our exports name IDs the peer cannot invent: ones it has not pushed yet, or
/// negative ones we never exported.
#[tokio::test]
async fn a_peer_naming_an_export_we_do_not_have_is_aborted() {
    let cases: &[(&[&str], &str)] = &[
        (
            &[r#"["push",["pipeline",1,["echo"],[]]]"#],
            "no such entry on exports table: 1",
        ),
        (
            &[r#"["push",["import",-1]]"#],
            "no such entry on exports table: -1",
        ),
        (
            &[r#"["push",["remap",0,[],[["import",-2]],[["pipeline",0]]]]"#],
            "no such entry on exports table: -2",
        ),
        (&[r#"["pull",-1]"#], "no such export ID: -1"),
        (&[r#"["release",2,1]"#], "no such export ID: 2"),
    ];
    for &over in ALL {
        for (messages, needle) in cases {
            let outcome = run(over, SessionOptions::default(), messages).await;
            outcome.assert_aborted_with(needle, &format!("{over:?} {messages:?}"));
        }
    }
}

/// What the rules allow still works: a peer may introduce the same export again, and we count
/// it and release it with the full count.
#[tokio::test]
async fn reintroducing_a_peer_export_is_still_allowed() {
    let messages = [
        r#"["push",["pipeline",0,["echo"],[[[["export",-1],["export",-1]]]]]]"#,
        r#"["release",1,1]"#,
    ];
    for &over in ALL {
        let outcome = run(over, SessionOptions::default(), &messages).await;
        assert_eq!(outcome.abort, None, "{over:?}");
        // Over a connection our release of -1 returns both introductions.
        if over != crate::raw_peer::Raw::HttpBatch {
            assert!(
                outcome.replies.contains(&r#"["release",-1,2]"#.to_owned()),
                "{over:?}: {:?}",
                outcome.replies
            );
        }
    }
}

/// A `resolve` or `reject` for an import we do not have (never had, or already released) is
/// ignored, as capnweb 0.12.0 does (protocol.md section 4.3), not aborted: a peer whose `pull`
/// crossed our `release` sends one legitimately. The `resolve` is still evaluated, so a stub in
/// it is released at once rather than leaked on the peer's side; capnweb does the same.
const UNKNOWN_SETTLEMENTS: [&str; 3] = [
    r#"["resolve",5,["export",-1]]"#,
    r#"["reject",6,["error","Error","nobody asked"]]"#,
    r#"["resolve",-7,"nobody asked either"]"#,
];

#[tokio::test]
async fn a_settlement_for_an_unknown_import_is_ignored_like_capnweb() {
    let expected = vec![r#"["release",-1,1]"#.to_owned()];
    // The reference: npm capnweb's server, driven by hand the same way.
    let node = crate::node::NodeServer::start_async(crate::node::SERVER_SCRIPT).await;
    assert_eq!(
        crate::raw_peer::node_replies(&node.ws_url(), &UNKNOWN_SETTLEMENTS).await,
        expected,
        "npm capnweb"
    );
    for &over in ALL {
        let outcome = run(over, SessionOptions::default(), &UNKNOWN_SETTLEMENTS).await;
        assert_eq!(outcome.abort, None, "{over:?}");
        assert_eq!(outcome.replies, expected, "{over:?}");
    }
}
