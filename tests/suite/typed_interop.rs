//! The typed layer end to end, in both directions:
//!
//! - the TypeScript client (every scenario of client.mjs) against a typed Rust server;
//! - a typed Rust client against the TypeScript server, and against the typed Rust server in
//!   memory: the same scenarios, so both peers are held to the same spec (tests/node/api.mjs).
//!
//! Every scenario ends with a leak check on both sides.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use capnweb_runtime::transport::{memory, websocket};
use capnweb_runtime::value::Date;
use capnweb_runtime::{RpcError, RpcPromise, Session, Value, rpc_interface, rpc_target};

use crate::large_values::large_records;
use crate::node::{self, NodeServer};
use crate::support::{assert_no_leaks, eventually};
use crate::tap::{Log, Tap};
use crate::typed_api::{
    Event, IDLE, Listener, ListenerClient, NumberFn, NumberFnClient, Profile, Seq, TestApiClient,
    TypedServer, typed_main, typed_memory_pair,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typed_rust_server_serves_every_typescript_scenario() {
    let server = TypedServer::start().await;
    let outcomes = node::run_client_async(&server.url(), node::ALL_SCENARIOS).await;
    node::assert_all_ok(&outcomes, node::ALL_SCENARIOS);
    // Each scenario checked both sides' tables; afterwards every session must have ended.
    assert!(server.wait_all_closed().await >= node::ALL_SCENARIOS.len());
}

/// Where a scenario's typed client is connected.
enum Peer {
    /// The real capnweb 0.12.0 over WebSocket (the process lives as long as this).
    TypeScript(NodeServer),
    /// The typed Rust server over the in-memory transport (its session, for the leak check).
    Rust(Session),
}

/// A typed client session, the server's main object, and what it talks to.
async fn connect(to_typescript: bool) -> (Session, TestApiClient, Peer) {
    if to_typescript {
        let server = NodeServer::start_async(node::SERVER_SCRIPT).await;
        let session = websocket::connect(&server.ws_url())
            .await
            .expect("connect to the Node server");
        let api = TestApiClient::from(session.main());
        (session, api, Peer::TypeScript(server))
    } else {
        let (client, server) = typed_memory_pair();
        let api = TestApiClient::from(client.main());
        (client, api, Peer::Rust(server))
    }
}

/// The leak check: the peer's own `stats()` (polled: releases may still be in flight), then
/// both sessions' tables.
async fn finish(session: Session, api: TestApiClient, peer: Peer) {
    let mut last = None;
    for _ in 0..300 {
        let stats = api.stats().await.expect("stats()");
        if stats == IDLE {
            break;
        }
        last = Some(stats);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        api.stats().await.unwrap(),
        IDLE,
        "the peer's tables (last seen {last:?})"
    );
    drop(api);
    match peer {
        Peer::TypeScript(node) => {
            assert_no_leaks(&[&session]).await;
            // Only now may the Node process go.
            drop(node);
        }
        Peer::Rust(server) => assert_no_leaks(&[&session, &server]).await,
    }
}

/// Runs `scenario` against the TypeScript server and against the typed Rust server.
macro_rules! both_peers {
    ($scenario:ident: $typescript:ident, $rust:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $typescript() {
            let (session, api, peer) = connect(true).await;
            $scenario(&api).await.unwrap();
            finish(session, api, peer).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $rust() {
            let (session, api, peer) = connect(false).await;
            $scenario(&api).await.unwrap();
            finish(session, api, peer).await;
        }
    };
}

both_peers!(calls_and_pipelines: typed_client_pipelines_against_typescript, typed_client_pipelines_against_typed_rust);
both_peers!(callbacks: typed_client_callbacks_against_typescript, typed_client_callbacks_against_typed_rust);
both_peers!(errors: typed_client_errors_against_typescript, typed_client_errors_against_typed_rust);
both_peers!(lifetimes: typed_client_lifetimes_against_typescript, typed_client_lifetimes_against_typed_rust);
both_peers!(streams: typed_client_streams_against_typescript, typed_client_streams_against_typed_rust);
both_peers!(large_records: typed_client_large_records_against_typescript, typed_client_large_records_against_typed_rust);

async fn calls_and_pipelines(api: &TestApiClient) -> Result<(), RpcError> {
    assert_eq!(api.add(2, 3).await?, 5.0);
    assert_eq!(api.ping().await?, "pong");

    // A promise where an `f64` is expected: both calls go out before any answer comes back.
    assert_eq!(api.add(api.add(1, 2), 3).await?, 6.0);
    let (left, right) = (api.add(1, 2), api.add(3, 4));
    assert_eq!(api.add(&left, &right).await?, 10.0);
    assert_eq!(
        left.await?,
        3.0,
        "a promise passed by reference is still ours"
    );

    // A chain through two interfaces (TestApi -> Users -> User), one round trip.
    let profile = api.users().get(1).profile().await?;
    assert_eq!(
        profile,
        Profile {
            id: 1,
            bio: "First programmer".into(),
            joined: Date(Some(1579089600000.0)),
            tags: vec!["math".into(), "engines".into()],
        }
    );
    // Pipelining into the data of a result.
    let bio: String = api.users().get(3).profile().get("bio").await?;
    assert_eq!(bio, "Compiler pioneer");

    // A property read (a getter on the TypeScript side), pipelined.
    assert_eq!(api.users().get(2).name().await?, "Alan Turing");

    // A capability resolved explicitly, then used and passed back to its owner.
    let grace = api.users().get(3).resolve().await?;
    assert_eq!(grace.email().await?, "grace@example.com");
    assert_eq!(grace.friend_ids().await?, [1, 2]);
    assert_eq!(
        api.describe_user(&grace).await?,
        "Grace Hopper <grace@example.com>"
    );
    // A still-pipelined capability as an argument.
    assert_eq!(
        api.describe_user(api.users().get(1)).await?,
        "Ada Lovelace <ada@example.com>"
    );

    // A capability inside data: `Option<UserClient>`.
    let alan = api
        .users()
        .find("Alan Turing")
        .await?
        .expect("Alan is found");
    assert_eq!(alan.name().await?, "Alan Turing");
    assert!(api.users().find("Nobody").await?.is_none());

    assert_eq!(api.list_user_ids().await?, [1, 2, 3]);
    let sent = Value::Array(vec![1.into(), "two".into(), Value::Null, Value::Undefined]);
    assert_eq!(api.echo(&sent).await?, sent);
    // Pipelining into a plain data result: a structured value travels in wire form
    // (text, not a tree) both ways, and the server walks into it for the property read.
    let record: Value = serde_json::from_str::<serde_json::Value>(
        r#"{"name": "Ada", "langs": ["en", "fr"], "address": {"city": "London"}}"#,
    )
    .map(|json| capnweb_runtime::to_value(&json))
    .expect("valid JSON")?;
    let echoed = api.echo(&record);
    let address: Value = echoed.get("address").await?;
    assert_eq!(address, record_field(&record, "address"));
    assert_eq!(echoed.await?, record);
    // Promises dropped without being awaited are released (the leak check sees it).
    drop(api.users().get(1).profile());
    Ok(())
}

/// A function the server calls back: `x => x * factor`, recording its arguments.
struct Scale {
    factor: f64,
    seen: Arc<Mutex<Vec<f64>>>,
    dropped: Arc<AtomicU32>,
}

#[rpc_target]
impl NumberFn for Scale {
    async fn call(&self, x: f64) -> f64 {
        self.seen.lock().unwrap().push(x);
        x * self.factor
    }
}

impl Drop for Scale {
    fn drop(&mut self) {
        self.dropped.fetch_add(1, Ordering::SeqCst);
    }
}

/// A listener object the server calls back.
#[derive(Default)]
struct EventLog {
    events: Arc<Mutex<Vec<Event>>>,
}

#[rpc_target]
impl Listener for EventLog {
    async fn on_event(&self, event: Event) -> String {
        let seq = event.seq;
        self.events.lock().unwrap().push(event);
        format!("ack {seq}")
    }

    async fn done(&self, count: u32) -> String {
        format!("done after {count}")
    }
}

fn scale(factor: f64) -> (NumberFnClient, Arc<Mutex<Vec<f64>>>, Arc<AtomicU32>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let dropped = Arc::new(AtomicU32::new(0));
    let f = NumberFnClient::new(Scale {
        factor,
        seen: seen.clone(),
        dropped: dropped.clone(),
    });
    (f, seen, dropped)
}

async fn callbacks(api: &TestApiClient) -> Result<(), RpcError> {
    // A function-typed capability implemented in Rust, called as a function by the peer.
    let (times10, seen, dropped) = scale(10.0);
    assert_eq!(api.callback_sum(times10, 3).await?, 60.0);
    assert_eq!(*seen.lock().unwrap(), [1.0, 2.0, 3.0]);
    eventually("the peer released the callback", || {
        dropped.load(Ordering::SeqCst) == 1
    })
    .await;

    // A callback object (interface `Listener`) implemented in Rust.
    let log = EventLog::default();
    let events = log.events.clone();
    let listener = ListenerClient::new(log);
    assert_eq!(
        api.use_listener(&listener, 2).await?,
        ["ack 1", "ack 2", "done after 2"]
    );
    assert_eq!(
        *events.lock().unwrap(),
        [
            Event {
                seq: 1,
                text: "event 1".into()
            },
            Event {
                seq: 2,
                text: "event 2".into()
            }
        ]
    );
    drop(listener);

    // A function the peer made, called through its typed client.
    let times7 = api.make_multiplier(7);
    assert_eq!(times7.call(6).await?, 42.0);
    assert_eq!(times7.resolve().await?.call(5).await?, 35.0);
    drop(times7);

    // The peer holds our callback until told to drop it; our `Drop` runs then.
    let (double, seen, dropped) = scale(2.0);
    assert!(api.hold_callback(double).await?);
    assert_eq!(api.call_held(4).await?, 8.0);
    assert_eq!(api.call_held(5).await?, 10.0);
    assert_eq!(*seen.lock().unwrap(), [4.0, 5.0]);
    assert_eq!(dropped.load(Ordering::SeqCst), 0, "the peer still holds it");
    assert!(api.drop_held().await?);
    eventually("our callback's Drop after the peer dropped it", || {
        dropped.load(Ordering::SeqCst) == 1
    })
    .await;

    // Our own capability handed back, called through the pipelined result.
    let (plus, seen, _) = scale(1.0);
    let returned = api.callback_and_return(plus);
    assert_eq!(returned.call(41).await?, 41.0);
    assert_eq!(*seen.lock().unwrap(), [41.0]);
    drop(returned);

    // Fire and forget: the peer calls us without awaiting.
    let (note, seen, _) = scale(0.0);
    assert_eq!(api.notify(note, 3).await?, 3);
    eventually("three notifications", || seen.lock().unwrap().len() == 3).await;
    Ok(())
}

/// A method the servers do not have, to see the peer's answer through the typed layer.
#[rpc_interface]
trait Unknown {
    async fn no_such_method(&self, x: u32) -> u32;
}

async fn errors(api: &TestApiClient) -> Result<(), RpcError> {
    let err = api.fail("not-found").await.unwrap_err();
    let js = err.as_js_error().expect("an application error");
    assert_eq!(
        (js.name.as_str(), js.message.as_str()),
        ("NotFoundError", "the thing was not found")
    );
    assert_eq!(
        js.props.get("code"),
        Some(&Value::String("E_NOT_FOUND".into()))
    );
    let range = api.fail("range").await.unwrap_err();
    assert_eq!(
        (range.name(), range.message()),
        ("RangeError", "out of range, as requested".to_owned())
    );
    let type_error = api.fail("type").await.unwrap_err();
    assert_eq!(type_error.name(), "TypeError");
    let thrown = api.fail("string").await.unwrap_err();
    assert!(
        matches!(&thrown, RpcError::Thrown(v) if **v == Value::String("a thrown string".into())),
        "{thrown:?}"
    );
    let later = api.fail_later(20).await.unwrap_err();
    assert_eq!(later.message(), "failed after 20 ms");

    // A rejection travels down a pipelined chain, and `.resolve()` reports it.
    let chained = api.users().get(999).profile().await.unwrap_err();
    assert_eq!(chained.message(), "no user with id 999");
    assert_eq!(
        chained.as_js_error().and_then(|e| e.props.get("code")),
        Some(&Value::String("E_NOT_FOUND".into()))
    );
    let missing = api.users().get(999).resolve().await.unwrap_err();
    assert_eq!(missing.name(), "NotFoundError");
    assert!(api.users().get(2).resolve().await.is_ok());

    // An instance field of the TypeScript `User` is not readable; the Rust one refuses alike.
    let secret = api.users().get(1).secret().await.unwrap_err();
    assert_eq!(secret.name(), "TypeError");

    // Any capability can be viewed through another interface; the peer refuses what it lacks.
    let unknown = UnknownClient::from(api.stub().clone());
    let err = unknown.no_such_method(1).await.unwrap_err();
    assert_eq!(
        (err.name(), err.message()),
        ("TypeError", "'noSuchMethod' is not a function.".to_owned())
    );
    Ok(())
}

async fn lifetimes(api: &TestApiClient) -> Result<(), RpcError> {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let key = format!(
        "typed-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst)
    );
    let counter = api.make_counter(key.as_str(), Some(10.0));
    assert_eq!(counter.increment(Some(5.0)).await?, 15.0);
    assert_eq!(counter.value().await?, 15.0);
    assert_eq!(api.dispose_count(key.as_str()).await?, 0);
    // Dropping our last reference releases it: the peer's object is disposed exactly once.
    drop(counter);
    let mut disposed = 0;
    for _ in 0..300 {
        disposed = api.dispose_count(key.as_str()).await?;
        if disposed > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(disposed, 1);

    // E-order: pipelined calls on one capability run in the order they were made.
    let counter = api.make_counter(format!("{key}-eorder"), Some(0.0));
    let steps: Vec<RpcPromise<f64>> = (1..=3)
        .map(|n| counter.increment(Some(f64::from(n))))
        .collect();
    let mut results = Vec::new();
    for step in steps {
        results.push(step.await?);
    }
    assert_eq!(results, [1.0, 3.0, 6.0]);
    // `None` travels as an omitted argument, so TypeScript's `increment(n = 1)` default applies
    // (sent as `null`, JavaScript would add 0).
    assert_eq!(counter.increment(None).await?, 7.0);

    // A call that waits for a promise argument does not hold back later calls.
    let first = api.record(api.delay(30, Value::from("first")));
    let second = api.record(Value::from("second"));
    assert_eq!((first.await?, second.await?), (2, 1));
    assert_eq!(
        api.recorded().await?,
        [Value::from("second"), Value::from("first")]
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Round trips, seen on the wire

/// Asserts that the messages from `from` on were one round trip: `pushes` pushes and one pull
/// sent before anything came back, and the first answer resolves the pulled import.
fn assert_one_round_trip(log: &Log, from: usize, pushes: usize, what: &str) {
    let log = log.lock().unwrap()[from..].to_vec();
    let first_answer = log
        .iter()
        .position(|(dir, _)| *dir == "<<")
        .unwrap_or_else(|| panic!("{what}: no answer was recorded: {log:?}"));
    let sent: Vec<&str> = log[..first_answer]
        .iter()
        .map(|(_, m)| m.as_str())
        .collect();
    let pushed = sent.iter().filter(|m| m.starts_with("[\"push\"")).count();
    let pulls: Vec<&&str> = sent.iter().filter(|m| m.starts_with("[\"pull\"")).collect();
    assert!(
        pushed == pushes && pulls.len() == 1,
        "{what}: expected {pushes} pushes and 1 pull before the first answer, sent {sent:?}"
    );
    let pulled_id = pulls[0]
        .trim_start_matches("[\"pull\",")
        .trim_end_matches(']');
    let answer = &log[first_answer].1;
    assert!(
        answer.starts_with(&format!("[\"resolve\",{pulled_id},")),
        "{what}: the first answer should resolve import {pulled_id}, got {answer}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typed_pipelines_cost_one_round_trip() {
    let log = Log::default();
    let (a, b) = memory::pair();
    let (main, slot) = typed_main();
    let server = Session::new(b, Some(main));
    let _ = slot.set(server.clone());
    let client = Session::new(
        Tap {
            inner: a,
            log: log.clone(),
        },
        None,
    );
    let api = TestApiClient::from(client.main());

    let from = log.lock().unwrap().len();
    assert_eq!(api.add(api.add(1, 2), 3).await.unwrap(), 6.0);
    assert_one_round_trip(&log, from, 2, "add(add(1, 2), 3)");

    let from = log.lock().unwrap().len();
    let profile = api.users().get(1).profile().await.unwrap();
    assert_eq!(profile.id, 1);
    assert_one_round_trip(&log, from, 3, "users().get(1).profile()");

    let from = log.lock().unwrap().len();
    assert_eq!(api.users().get(2).name().await.unwrap(), "Alan Turing");
    assert_one_round_trip(&log, from, 3, "users().get(2).name()");

    let from = log.lock().unwrap().len();
    let grace = api.users().get(3);
    assert_eq!(
        api.describe_user(&grace).await.unwrap(),
        "Grace Hopper <grace@example.com>"
    );
    assert_one_round_trip(&log, from, 3, "describeUser(users().get(3))");
    drop(grace);

    finish(client, api, Peer::Rust(server)).await;
}

/// One member of an object value.
fn record_field(record: &Value, name: &str) -> Value {
    match record {
        Value::Object(map) => map.get(name).cloned().unwrap_or_default(),
        other => panic!("not an object: {other:?}"),
    }
}

async fn streams(api: &TestApiClient) -> Result<(), RpcError> {
    use capnweb_runtime::stream::{RpcSink, RpcStream};
    use futures_util::StreamExt;

    let chunks: Vec<Seq> = api
        .read_chunks(3)
        .await?
        .map(|chunk| chunk.expect("a chunk"))
        .collect()
        .await;
    assert_eq!(chunks, [1, 2, 3].map(|seq| Seq { seq }));

    let numbers = RpcStream::new(futures_util::stream::iter([1.5, 2.5, 3.0]));
    assert_eq!(api.sum_stream(numbers).await?, 7.0);

    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    let sink = RpcSink::new(futures_util::sink::unfold(
        tx,
        |tx, chunk: String| async move {
            tx.send(chunk)
                .map_err(|_| RpcError::new("Error", "the test stopped reading"))?;
            Ok::<_, RpcError>(tx)
        },
    ));
    assert_eq!(api.write_chunks(sink, 2).await?, 2);
    let mut written = Vec::new();
    while let Some(chunk) = rx.recv().await {
        written.push(chunk);
    }
    assert_eq!(written, ["chunk 1", "chunk 2"]);
    Ok(())
}
