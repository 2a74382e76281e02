//! E-order and embargo: calls on one capability arrive in the order the application made them,
//! even when a promise we pipelined through the peer resolves to an object on our own side.

use std::sync::{Arc, Mutex};

use capnweb_runtime::transport::memory;
use capnweb_runtime::transport::websocket::WebSocketTransport;
use capnweb_runtime::{Args, CallFuture, RpcError, RpcTarget, Session, Stub, Value};
use std::future::IntoFuture;

use futures_util::FutureExt;

use crate::api::TestApi;
use crate::gate::{Gate, Gated};
use crate::node::{self, NodeServer};
use crate::support::assert_no_leaks;

/// Records the argument of every `record` call, in delivery order.
#[derive(Default)]
pub struct Recorder {
    pub seen: Mutex<Vec<String>>,
}

impl RpcTarget for Recorder {
    fn call(self: Arc<Self>, method: &str, args: Args) -> CallFuture {
        let result = match method {
            "record" => args.get::<String>(0).map(|s| {
                let mut seen = self.seen.lock().unwrap();
                seen.push(s);
                Value::Number(seen.len() as f64)
            }),
            other => Err(RpcError::no_such_method(other)),
        };
        Box::pin(std::future::ready(result))
    }
}

/// The embargo case: `p = api.callbackAndReturn(ours)` resolves to our own object. A call
/// pipelined on `p` before the resolution travels to the peer and back; a call made after the
/// resolution must not overtake it, even though the return path is slow.
async fn embargo_keeps_order(client: &Session, gate: &Gate) -> Vec<String> {
    let api = client.main();
    let recorder = Arc::new(Recorder::default());
    let p = api
        .call(
            "callbackAndReturn",
            vec![Value::Stub(Stub::from_arc(recorder.clone()))],
        )
        .as_stub();
    // Ask for the resolution first (the pull goes out now), then pipeline a call behind it.
    let mut resolving = Box::pin(p.resolve());
    assert!(
        resolving.as_mut().now_or_never().is_none(),
        "cannot be resolved before a round trip"
    );
    let first = p.call("record", ("first",));
    // The resolution has arrived; the forwarded "first" is still on its way back.
    gate.triggered().await;
    let second = p.call("record", ("second",));
    gate.release();
    second.await.unwrap();
    first.await.unwrap();
    resolving.await.unwrap();
    drop((api, p));
    recorder.seen.lock().unwrap().clone()
}

#[tokio::test]
async fn embargo_holds_calls_behind_the_pipelined_ones_in_memory() {
    let (a, b) = memory::pair();
    let (api, slot) = TestApi::new();
    let server = Session::new(b, Some(Stub::new(api)));
    let _ = slot.set(server.clone());
    let gate = Gate::new(r#"["resolve",1,"#);
    let client = Session::new(
        Gated {
            inner: a,
            gate: gate.clone(),
        },
        None,
    );
    assert_eq!(
        embargo_keeps_order(&client, &gate).await,
        ["first", "second"]
    );
    assert_no_leaks(&[&client, &server]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embargo_holds_calls_against_the_typescript_server() {
    let server = NodeServer::start_async(node::SERVER_SCRIPT).await;
    let (ws, _) = tokio_tungstenite::connect_async(server.ws_url())
        .await
        .unwrap();
    let gate = Gate::new(r#"["resolve",1,"#);
    let client = Session::new(
        Gated {
            inner: WebSocketTransport::new(ws),
            gate: gate.clone(),
        },
        None,
    );
    assert_eq!(
        embargo_keeps_order(&client, &gate).await,
        ["first", "second"]
    );
    let api = client.main();
    crate::interop_ws::assert_peer_clean(&api).await;
    drop(api);
    assert_no_leaks(&[&client]).await;
}

/// The same race with the capability nested in the result (`{cb}`), the shape a JS client can
/// await: our client keeps E-order.
async fn nested_embargo_keeps_order(client: &Session, gate: &Gate) -> Vec<String> {
    let api = client.main();
    let recorder = Arc::new(Recorder::default());
    let p = api.call(
        "wrapCallback",
        vec![Value::Stub(Stub::from_arc(recorder.clone()))],
    );
    let mut resolving = Box::pin(p.clone().into_future());
    assert!(resolving.as_mut().now_or_never().is_none());
    let first = p.get("cb").call("record", ("first",));
    gate.triggered().await;
    let second = p.get("cb").call("record", ("second",));
    gate.release();
    second.await.unwrap();
    first.await.unwrap();
    drop(resolving.await.unwrap());
    drop((api, p));
    recorder.seen.lock().unwrap().clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typescript_reorders_where_we_keep_order() {
    let server = NodeServer::start_async(node::SERVER_SCRIPT).await;

    // capnweb 0.12.0 as the client: the later call overtakes the pipelined one.
    let output = tokio::time::timeout(
        std::time::Duration::from_secs(20),
        tokio::process::Command::new("node")
            .arg("eorder.mjs")
            .arg(server.ws_url())
            .current_dir(node::node_dir())
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("eorder.mjs did not finish in 20 s")
    .expect("run node");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap_or_else(|_| {
        panic!(
            "eorder.mjs printed {stdout:?}, stderr {:?}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    assert_eq!(
        line["order"],
        serde_json::json!(["second", "first"]),
        "capnweb is expected to reorder here (its embargo TODO)"
    );

    // Our client, same server, same situation: E-order holds.
    let (ws, _) = tokio_tungstenite::connect_async(server.ws_url())
        .await
        .unwrap();
    let gate = Gate::new(r#"["resolve",1,"#);
    let client = Session::new(
        Gated {
            inner: WebSocketTransport::new(ws),
            gate: gate.clone(),
        },
        None,
    );
    assert_eq!(
        nested_embargo_keeps_order(&client, &gate).await,
        ["first", "second"]
    );
    let api = client.main();
    crate::interop_ws::assert_peer_clean(&api).await;
    drop(api);
    assert_no_leaks(&[&client]).await;
}

/// `record(delay(30, "first"))` then `record("second")`: the call with a promise argument waits
/// for it; the later plain call is not held back (capnweb's rule, protocol.md section 11.4).
async fn promise_argument_waits_alone(api: &Stub) {
    let delayed = api.call("delay", (30, "first (argument was a promise)"));
    let a = api.call("record", vec![Value::Promise(delayed)]);
    let b = api.call("record", ("second (plain argument)",));
    let (a, b): (f64, f64) = (a.typed().await.unwrap(), b.typed().await.unwrap());
    assert_eq!((a, b), (2.0, 1.0), "the plain call ran first");
    let recorded: Vec<String> = api.call("recorded", ()).typed().await.unwrap();
    assert_eq!(
        recorded,
        ["second (plain argument)", "first (argument was a promise)"]
    );
}

#[tokio::test]
async fn promise_arguments_delay_only_their_call() {
    let (client, server) = crate::support::memory_pair();
    let api = client.main();
    promise_argument_waits_alone(&api).await;
    drop(api);
    assert_no_leaks(&[&client, &server]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn promise_arguments_delay_only_their_call_against_typescript() {
    let server = NodeServer::start_async(node::SERVER_SCRIPT).await;
    let client = capnweb_runtime::transport::websocket::connect(&server.ws_url())
        .await
        .unwrap();
    let api = client.main();
    promise_argument_waits_alone(&api).await;
    crate::interop_ws::assert_peer_clean(&api).await;
    drop(api);
    assert_no_leaks(&[&client]).await;
}

#[tokio::test]
async fn embargo_covers_a_capability_on_a_third_connection() {
    // Client C talks to S1 (gated return path) and S2 (which hosts the counter).
    let (a1, b1) = memory::pair();
    let (api1, slot1) = TestApi::new();
    let s1 = Session::new(b1, Some(Stub::new(api1)));
    let _ = slot1.set(s1.clone());
    let gate = Gate::new(r#"["resolve",1,"#);
    let c1 = Session::new(
        Gated {
            inner: a1,
            gate: gate.clone(),
        },
        None,
    );
    let (c2, s2) = crate::support::memory_pair();
    let (one, two) = (c1.main(), c2.main());

    let counter = two
        .call("makeCounter", ("eorder-third-party", 0))
        .as_stub()
        .resolve()
        .await
        .unwrap();
    // S1 hands our proxy of S2's counter back: the promise resolves to a capability on C2.
    let p = one
        .call("callbackAndReturn", vec![Value::Stub(counter.clone())])
        .as_stub();
    let mut resolving = Box::pin(p.resolve());
    assert!(resolving.as_mut().now_or_never().is_none());
    let first = p.call("increment", (1,)); // travels C -> S1 -> C -> S2
    gate.triggered().await;
    let second = p.call("increment", (10,)); // would go C -> S2 directly
    gate.release();
    let (first, second): (f64, f64) = (first.typed().await.unwrap(), second.typed().await.unwrap());
    assert_eq!(
        (first, second),
        (1.0, 11.0),
        "the pipelined increment reached the counter first"
    );
    drop(resolving.await.unwrap());
    drop((one, two, p, counter));
    assert_no_leaks(&[&c1, &s1, &c2, &s2]).await;
}
