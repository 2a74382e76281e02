//! The engine end to end, Rust client against Rust server over the in-memory transport.

use std::sync::Arc;
use std::time::Duration;

use capnweb_runtime::transport::memory;
use capnweb_runtime::{Session, Stub, Value};

use crate::api::TestApi;
use crate::support::{Listener, assert_no_leaks, eventually, memory_pair};

#[tokio::test]
async fn disconnect_fails_pending_calls_and_drops_exports() {
    let (client, server) = memory_pair();
    let api = client.main();
    let pending = api.call("hang", ());
    let (held, _) = Listener::new();
    let ok = api.call(
        "holdCallback",
        vec![Value::Stub(Stub::from_arc(held.clone()))],
    );
    assert!(ok.typed::<bool>().await.unwrap());
    assert_eq!(
        Arc::strong_count(&held),
        2,
        "exported to the server, which holds it"
    );
    server.abort("server going away");
    let err = pending.await.unwrap_err();
    assert!(
        err.to_string().contains("server going away"),
        "unexpected error: {err}"
    );
    let later = api.call("ping", ()).await.unwrap_err();
    assert!(
        later.to_string().contains("server going away"),
        "unexpected error: {later}"
    );
    eventually("our export to be dropped after the disconnect", || {
        Arc::strong_count(&held) == 1
    })
    .await;
    assert!(client.broken_reason().is_some());
}

/// A server that hands its main object the session handle in `setup` must have it in place for
/// a call that was already waiting on the connection. The setup sleeps to widen the window in
/// which a session that started reading too early would answer `stats()` with "no session".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn setup_runs_before_the_first_message_is_read() {
    let (a, b) = memory::pair();
    let client = Session::new(a, None);
    let api = client.main();
    let stats = tokio::spawn(async move {
        api.call("stats", ())
            .typed::<std::collections::HashMap<String, f64>>()
            .await
    });
    tokio::time::sleep(Duration::from_millis(20)).await;

    let (main, slot) = TestApi::new();
    let server = Session::builder()
        .main(Stub::new(main))
        .on_start(move |session| {
            std::thread::sleep(Duration::from_millis(100));
            let _ = slot.set(session.clone());
        })
        .start(b);
    let answer = stats.await.expect("the stats task").expect("stats()");
    assert!(answer["exports"] >= 1.0, "stats() answered {answer:?}");
    assert_no_leaks(&[&client, &server]).await;
}
