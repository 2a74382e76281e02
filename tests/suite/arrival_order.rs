//! Calls on one target are delivered in the order their promise arguments settle, also on the
//! multi-thread runtime: the npm capnweb server replays a `.map()` whose mapper calls an
//! object we host, each call's argument a promise the server resolves; the test compares the
//! delivery order with the order the resolutions arrived in.

use std::sync::Arc;

use capnweb_runtime::{Stub, Value};

use crate::eorder::Recorder;
use crate::node::{self, NodeServer};
use crate::support::{alive_tasks, assert_no_leaks, assert_tasks_at_most};

const RUNS: usize = 100;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_whose_promise_arguments_settle_in_order_run_in_that_order() {
    let before = alive_tasks();
    let server = NodeServer::start_async(node::SERVER_SCRIPT).await;
    let (client, log) = crate::tap::tapped_websocket(&server.ws_url()).await;
    let api = client.main();
    let users = api.call("users", ());
    let ids = api.call("listUserIds", ());
    let recorder = Arc::new(Recorder::default());
    let hosted = Stub::from_arc(recorder.clone());
    let expected = ["Ada Lovelace", "Alan Turing", "Grace Hopper"];
    let mut wrong = Vec::new();
    for run in 0..RUNS {
        // Cleared before the map goes out: the server may settle the names before we await.
        log.lock().unwrap().clear();
        // Per element the server calls `record(<promise of the user's name>)` on our object.
        let recorded = ids.map(|id| {
            let name = users.call("get", vec![Value::Promise(id)]).get("name");
            Value::Promise(hosted.call("record", vec![Value::Promise(name)]))
        });
        recorded.await.unwrap();
        let seen = std::mem::take(&mut *recorder.seen.lock().unwrap());
        // The order the server settled the names in (it resolves them as its own promises
        // settle, which is nearly always, but not always, element order).
        let settled: Vec<String> = log
            .lock()
            .unwrap()
            .iter()
            .filter(|(dir, text)| *dir == "<<" && text.starts_with(r#"["resolve",-"#))
            .filter_map(|(_, text)| expected.iter().find(|name| text.contains(*name)))
            .map(|name| name.to_string())
            .collect();
        assert_eq!(
            settled.len(),
            3,
            "run {run}: the server settled each name once"
        );
        if seen != settled {
            wrong.push((run, seen, settled));
        }
    }
    assert!(
        wrong.is_empty(),
        "runs delivered out of settlement order (delivered, settled): {wrong:?}"
    );
    drop((users, ids, hosted));
    crate::interop_ws::assert_peer_clean(&api).await;
    drop(api);
    assert_no_leaks(&[&client]).await;
    drop(client);
    assert_tasks_at_most(before).await;
}
