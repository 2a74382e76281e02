//! Interop over WebSocket with the real npm `capnweb` 0.12.0, in both directions.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use capnweb_runtime::transport::websocket;
use capnweb_runtime::{RpcError, Session, Stub, Value};

use crate::node::{self, NodeServer};
use crate::server::RustServer;
use crate::support::{Listener, eventually};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typescript_client_against_rust_server() {
    let server = RustServer::start().await;
    let outcomes = node::run_client_async(&server.url(), node::ALL_SCENARIOS).await;
    node::assert_all_ok(&outcomes, node::ALL_SCENARIOS);
    // Each scenario checked both sides' tables; afterwards every session must have ended.
    assert!(server.wait_all_closed().await >= node::ALL_SCENARIOS.len());
}

/// The peer's own view of its tables, from the API's `stats()` (capnweb delivers a call before
/// it adds the call's export entry, so an idle session reports only the main objects).
pub async fn assert_peer_clean(api: &Stub) {
    let mut last = Value::Undefined;
    for _ in 0..300 {
        last = api.call("stats", ()).await.unwrap();
        let Value::Object(map) = &last else {
            panic!("stats() returned {last:?}")
        };
        if map.get("imports") == Some(&Value::Number(1.0))
            && map.get("exports") == Some(&Value::Number(1.0))
        {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("the TypeScript peer's tables are not clean: {last:?}");
}

async fn connect(server: &NodeServer) -> (Session, Stub) {
    let session = websocket::connect(&server.ws_url())
        .await
        .expect("connect to the Node server");
    let api = session.main();
    (session, api)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_client_pending_calls_fail_on_disconnect() {
    let server = NodeServer::start_async(node::SERVER_SCRIPT).await;
    let (session, api) = connect(&server).await;
    let dropped = Arc::new(AtomicU32::new(0));
    let listener = Stub::new(Listener {
        events: AtomicU32::new(0),
        dropped: dropped.clone(),
    });
    assert!(
        api.call("holdCallback", vec![Value::Stub(listener)])
            .typed::<bool>()
            .await
            .unwrap()
    );
    let pending = api.call("hang", ());
    drop(server); // kills the Node process
    let err = tokio::time::timeout(std::time::Duration::from_secs(5), pending)
        .await
        .expect("pending call must fail, not hang")
        .unwrap_err();
    assert!(matches!(err, RpcError::Disconnected { .. }), "{err:?}");
    assert!(api.call("ping", ()).await.is_err());
    eventually("exports dropped after the disconnect", || {
        dropped.load(Ordering::SeqCst) == 1
    })
    .await;
    let stats = session.stats();
    assert_eq!(
        (stats.imports, stats.exports),
        (0, 0),
        "tables are emptied when the session ends"
    );
}
