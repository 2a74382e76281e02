//! `capnweb proxy` between the npm capnweb client (`tests/node/client.mjs` and
//! `batch-client.mjs`, every scenario) and our server serving the shared test API: every
//! scenario still passes, and the log shows the traffic both ways, decoded.

use std::sync::{Arc, Mutex};

use capnweb_runtime::http::SessionKind;
use capnweb_runtime::{Server, Session, Stub};

use crate::scenarios::{ALL_SCENARIOS as WS_SCENARIOS, BATCH_SCENARIOS};
use crate::support::{Proxy, alive_tasks, assert_all_ok, assert_tasks_at_most, run_node_client};
use crate::test_api::TestApi;

/// Our server of the test API; keeps its WebSocket sessions.
async fn test_api_server() -> (Server, Arc<Mutex<Vec<Session>>>) {
    let sessions = Arc::new(Mutex::new(Vec::new()));
    let registry = sessions.clone();
    let server = Server::builder(move |context| {
        let (api, slot) = TestApi::new();
        if context.kind() == SessionKind::WebSocket {
            let registry = registry.clone();
            context.on_session(move |session| {
                let _ = slot.set(session.clone());
                registry.lock().unwrap().push(session.clone());
            });
        }
        Stub::new(api)
    })
    .bind("127.0.0.1:0")
    .await
    .expect("bind 127.0.0.1");
    (server, sessions)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn npm_client_scenarios_pass_through_the_proxy_over_websocket() {
    let before = alive_tasks();
    let (server, sessions) = test_api_server().await;
    let proxy = Proxy::start(&format!("ws://{}/", server.local_addr())).await;
    let outcomes = run_node_client("client.mjs", &proxy.url("ws", "/")).await;
    assert_all_ok(&outcomes, WS_SCENARIOS);

    let log = proxy.log();
    let entries = proxy.entries();
    // call.simple's `add(2, 3)`, decoded and indented, and its answer.
    assert!(
        log.contains("  [\n    \"push\",\n    [\n      \"pipeline\",\n      0,\n      [\n        \"add\"\n      ],\n      [\n        2,\n        3\n      ]\n    ]\n  ]\n"),
        "the log shows add(2, 3) decoded:\n{log}"
    );
    assert!(
        entries
            .iter()
            .any(|e| e.to_client() && e.json() == Some(serde_json::json!(["resolve", 1, 5]))),
        "the log shows the answer 5"
    );
    let sessions_logged = entries.iter().map(|e| e.session).max().unwrap_or(0);
    assert!(
        sessions_logged >= WS_SCENARIOS.len() as u64,
        "a session per scenario"
    );

    // Every scenario checked both sides' tables; afterwards every session must have ended.
    let served = sessions.lock().unwrap().clone();
    assert!(served.len() >= WS_SCENARIOS.len());
    for session in served {
        tokio::time::timeout(std::time::Duration::from_secs(5), session.closed())
            .await
            .expect("a server session outlived its client");
    }
    server.shutdown().await;
    assert_tasks_at_most(before).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn npm_client_scenarios_pass_through_the_proxy_over_http_batch() {
    let before = alive_tasks();
    let (server, _sessions) = test_api_server().await;
    let proxy = Proxy::start(&format!("http://{}/rpc", server.local_addr())).await;
    let outcomes = run_node_client("batch-client.mjs", &proxy.url("http", "/rpc")).await;
    assert_all_ok(&outcomes, BATCH_SCENARIOS);
    // The server's refusal of a malformed message came through with its status.
    let bad = outcomes
        .iter()
        .find(|o| o.scenario == "http.bad-message")
        .unwrap();
    assert!(bad.detail.contains("status=400"), "{bad:?}");

    let entries = proxy.entries();
    let log = proxy.log();
    assert!(
        entries
            .iter()
            .any(|e| e.to_server() && e.json() == Some(serde_json::json!(["pull", 1]))),
        "the log shows a pull:\n{log}"
    );
    assert!(
        entries
            .iter()
            .any(|e| e.to_client() && e.json() == Some(serde_json::json!(["resolve", 1, 5]))),
        "the log shows add(2, 3)'s answer:\n{log}"
    );
    assert!(log.contains("response 400 Bad Request"), "{log}");
    server.shutdown().await;
    assert_tasks_at_most(before).await;
}
