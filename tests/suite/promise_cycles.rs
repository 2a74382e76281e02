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
