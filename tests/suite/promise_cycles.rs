//! Promises a peer ties to themselves (found by capnweb-fuzz). Nothing can ever settle such a
//! promise, and JavaScript would wait on it forever too; what matters is that it does not keep
//! anything alive once its session is over, on any transport.

use capnweb_runtime::SessionOptions;

use crate::raw_peer::{ALL, run};

/// A settlement for an import we do not have, whose value introduces that very ID as a new
/// promise (next to our main object). capnweb looks the ID up before it reads the value, so the
/// value is read and thrown away; reading first made the new promise its own resolution, a
/// cycle that kept it and our main object alive after the session ended.
#[tokio::test]
async fn a_settlement_that_introduces_its_own_id_is_thrown_away() {
    for settle in ["resolve", "reject"] {
        let message = format!(r#"["{settle}",-1,[[["import",0],["promise",-1]]]]"#);
        for &over in ALL {
            // `run` checks that the main object is dropped and every task ended.
            let outcome = run(over, SessionOptions::default(), &[&message]).await;
            assert_eq!(outcome.abort, None, "{over:?} {settle}");
        }
    }
}

/// A call waits for the peer's promise `-1`, which the peer resolves to the call's own result.
/// The call can never start. When a WebSocket or in-memory session ends its calls are
/// cancelled, so the cycle goes with it. The normal end of an HTTP batch does not cancel calls
/// that run (one the client did not wait for still runs, as on capnweb), but it drops the ones
/// still waiting for arguments, which nothing from the batch can settle any more; before,
/// this one waited forever, holding the batch's main object and a task per request.
#[tokio::test]
async fn a_call_waiting_on_its_own_result_is_dropped_with_its_session() {
    let cycle = [
        r#"["push",["pipeline",0,["echo"],[["promise",-1]]]]"#,
        r#"["resolve",-1,["pipeline",1]]"#,
    ];
    for &over in ALL {
        let outcome = run(over, SessionOptions::default(), &cycle).await;
        assert_eq!(outcome.abort, None, "{over:?}");
    }
}

/// A promise resolved to our export of that same promise (found by capnweb-fuzz): every use of
/// it followed the resolution back to itself, recursively, until the stack overflowed and the
/// whole process died. As in JavaScript, such a resolution is a "chaining cycle" and rejects;
/// the session goes on.
#[tokio::test]
async fn a_promise_resolved_to_our_export_of_itself_rejects() {
    let cycle = [
        // Our export 1 is the peer's promise -1; the peer resolves -1 to export 1.
        r#"["push",["promise",-1]]"#,
        r#"["resolve",-1,["pipeline",1]]"#,
        r#"["push",["pipeline",1,["valueOf"]]]"#,
        r#"["pull",2]"#,
        r#"["push",["pipeline",0,["ping"]]]"#,
        r#"["pull",3]"#,
    ];
    for &over in ALL {
        let outcome = run(over, SessionOptions::default(), &cycle).await;
        assert_eq!(outcome.abort, None, "{over:?}");
        assert!(
            outcome
                .replies
                .iter()
                .any(|reply| reply.starts_with(r#"["reject",2,"#)
                    && reply.contains("Chaining cycle")),
            "{over:?}: the use of the cycle rejects: {:?}",
            outcome.replies
        );
        assert!(
            outcome
                .replies
                .iter()
                .any(|reply| reply.starts_with(r#"["resolve",3,"#)),
            "{over:?}: the session goes on: {:?}",
            outcome.replies
        );
    }
}

/// A chain of promises, each resolved to the next one (a new promise of the peer's): using the
/// first one follows the whole chain, recursively, so 20,000 links overflowed the stack and
/// killed the process. A chain is refused past 256 links (the settlement that would make it
/// longer rejects instead); shorter ones work.
#[tokio::test]
async fn a_chain_of_promises_longer_than_256_is_refused() {
    for (links, outcome_starts) in [(200, r#"["resolve",1,"end"]"#), (20_000, r#"["reject",1,"#)] {
        let outcome = chain(links).await;
        assert_eq!(outcome.abort, None);
        assert!(
            outcome
                .replies
                .iter()
                .any(|reply| reply.starts_with(outcome_starts)),
            "{links} links: {:?}",
            outcome.replies.last()
        );
        if links > 256 {
            assert!(
                outcome
                    .replies
                    .iter()
                    .any(|reply| reply.contains("more than 256 promises")),
                "{links} links: the rejection says why"
            );
        }
    }
}

/// A chain of `LINKS` promises of the peer's, each resolved to the next, the last to "end";
/// then a pull of our export of the first.
async fn chain(links: i64) -> crate::raw_peer::Outcome {
    let mut frames = vec![r#"["push",["promise",-1]]"#.to_owned()];
    for link in 1..links {
        frames.push(format!(r#"["resolve",-{link},["promise",-{}]]"#, link + 1));
    }
    frames.push(format!(r#"["resolve",-{links},"end"]"#));
    frames.push(r#"["pull",1]"#.to_owned());
    let frames: Vec<&str> = frames.iter().map(String::as_str).collect();
    run(
        crate::raw_peer::Raw::Memory,
        SessionOptions::default(),
        &frames,
    )
    .await
}
