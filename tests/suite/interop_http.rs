//! Interop over HTTP batch with the real npm `capnweb` 0.12.0, both directions, and one server
//! serving WebSocket and HTTP batch on the same path (our own and axum's stack).
//!
//! Pending: `.map()` in a batch (`map_in_one_batch`, both directions) is not written yet; the
//! runtime refuses `remap` ("not supported yet").

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use capnweb_runtime::batch::BatchSession;
use capnweb_runtime::http::BatchClient;
use capnweb_runtime::transport::websocket;
use capnweb_runtime::value::BigInt;
use capnweb_runtime::{RpcError, Session, SessionOptions, Stub, Value};

use crate::http_server::{HttpServer, raw_request, test_api_builder};
use crate::node::{self, NodeServer};
use crate::node_batch::{self, BATCH_SCENARIOS};
use crate::support::assert_no_leaks;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typescript_batch_client_against_rust_server() {
    let server = HttpServer::start().await;
    let outcomes = node_batch::run_batch_client(&server.batch_url(), BATCH_SCENARIOS).await;
    node::assert_all_ok(&outcomes, BATCH_SCENARIOS);
    // We drop a batch's exports with its session (capnweb keeps them: 0 there).
    assert_eq!(
        node_batch::detail(&outcomes, "release.batch-end"),
        "disposeCount=1"
    );
    assert_eq!(
        node_batch::detail(&outcomes, "http.bad-message"),
        "status=400 body=bad RPC message: [\"bogus\"]"
    );
    // One session per batch request.
    assert!(server.served.batches() >= BATCH_SCENARIOS.len());
}

/// The harness itself: capnweb's batch client against capnweb's batch server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typescript_batch_client_against_node_server() {
    let server = NodeServer::start_async(node::SERVER_SCRIPT).await;
    let outcomes = node_batch::run_batch_client(&server.batch_url(), &[]).await;
    node::assert_all_ok(&outcomes, BATCH_SCENARIOS);
    let reported: Vec<&str> = outcomes.iter().map(|o| o.scenario.as_str()).collect();
    assert_eq!(
        reported, BATCH_SCENARIOS,
        "BATCH_SCENARIOS lists the script's scenarios in order"
    );
    assert_eq!(
        node_batch::detail(&outcomes, "release.batch-end"),
        "disposeCount=0"
    );
    assert!(node_batch::detail(&outcomes, "http.bad-message").starts_with("status=500 "));
}

/// One server, one path: capnweb's WebSocket client (every scenario of client.mjs, with its
/// leak checks) and its batch client, at the same time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_path_serves_typescript_websocket_and_batch_clients() {
    let server = HttpServer::start().await;
    let (ws_url, batch_url) = (server.ws_url(), server.batch_url());
    let (ws, batch) = tokio::join!(
        node::run_client_async(&ws_url, node::ALL_SCENARIOS),
        node_batch::run_batch_client(&batch_url, BATCH_SCENARIOS),
    );
    node::assert_all_ok(&ws, node::ALL_SCENARIOS);
    node::assert_all_ok(&batch, BATCH_SCENARIOS);
    let sessions = server.served.sessions();
    assert!(sessions.len() >= node::ALL_SCENARIOS.len());
    for session in &sessions {
        tokio::time::timeout(std::time::Duration::from_secs(5), session.closed())
            .await
            .expect("every WebSocket session ends when its client leaves");
    }
}

type Traffic = Arc<Mutex<Vec<(String, Result<String, RpcError>)>>>;

/// A batch to `url` that records its request and response.
fn recorded_batch(url: &str) -> (BatchSession, Traffic) {
    let client = BatchClient::new(url).unwrap();
    let traffic: Traffic = Arc::default();
    let log = traffic.clone();
    let batch = BatchSession::new(
        move |body: String| async move {
            let response = client.post(body.clone()).await;
            log.lock().unwrap().push((body, response.clone()));
            response
        },
        SessionOptions::default(),
    );
    (batch, traffic)
}

fn count(body: &str, tag: &str) -> usize {
    let prefix = format!("[\"{tag}\",");
    body.lines().filter(|l| l.starts_with(&prefix)).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_batch_client_against_node_server() {
    let server = NodeServer::start_async(node::SERVER_SCRIPT).await;
    let (batch, traffic) = recorded_batch(&server.batch_url());
    batch.set_auto_send(false);
    let api = batch.main();
    let users = api.call("users", ());
    let mut echoed = capnweb_runtime::value::Object::new();
    echoed.insert(
        "big".into(),
        Value::BigInt(BigInt::from(-9007199254740993i64)),
    );
    echoed.insert("s".into(), "héllo ✓ \"q\"\nx".into());
    echoed.insert("u".into(), Value::Undefined);
    echoed.insert("nan".into(), Value::Number(f64::NAN));
    echoed.insert(
        "nested".into(),
        Value::Array(vec![1.into(), Value::Array(vec![])]),
    );
    let echoed = Value::Object(echoed);
    // Polled in order: every await queues its pull, then send() takes the whole batch.
    let (values, failures, sent) = tokio::join!(
        async {
            tokio::join!(
                api.call("add", (2, 3)).typed::<f64>(),
                users.call("get", (1,)).call("profile", ()),
                users.call("get", (2,)).get("name").typed::<String>(),
                api.call(
                    "add",
                    vec![
                        Value::Promise(api.call("add", (1, 2))),
                        Value::Promise(api.call("add", (3, 4))),
                    ]
                )
                .typed::<f64>(),
                api.call("makeMultiplier", (7,)).invoke((6,)).typed::<f64>(),
                api.call("echo", vec![echoed.clone()]),
            )
        },
        async {
            tokio::join!(
                api.call("fail", ("not-found",)),
                api.call("fail", ("range",)),
                api.call("fail", ("string",)),
                users.call("get", (999,)).call("profile", ()),
            )
        },
        batch.send(),
    );
    let (sum, profile, name, total, product, echo) = values;
    let (not_found, range, thrown, chained) = failures;
    sent.unwrap();
    assert_eq!(sum.unwrap(), 5.0);
    let Value::Object(profile) = profile.unwrap() else {
        panic!("profile is an object")
    };
    assert_eq!(
        profile.get("bio"),
        Some(&Value::String("First programmer".into()))
    );
    assert_eq!(name.unwrap(), "Alan Turing");
    assert_eq!(total.unwrap(), 10.0, "add(add(1, 2), add(3, 4))");
    assert_eq!(product.unwrap(), 42.0);
    assert_eq!(echo.unwrap(), echoed);
    let not_found = not_found.unwrap_err();
    let js = not_found.as_js_error().unwrap();
    assert_eq!(
        (js.name.as_str(), js.message.as_str()),
        ("NotFoundError", "the thing was not found")
    );
    assert_eq!(
        js.props.get("code"),
        Some(&Value::String("E_NOT_FOUND".into()))
    );
    assert_eq!(range.unwrap_err().name(), "RangeError");
    let thrown = thrown.unwrap_err();
    assert!(
        matches!(&thrown, RpcError::Thrown(v) if **v == Value::from("a thrown string")),
        "{thrown:?}"
    );
    assert_eq!(chained.unwrap_err().message(), "no user with id 999");

    let traffic = traffic.lock().unwrap();
    assert_eq!(traffic.len(), 1, "one request for the whole batch");
    let (request, response) = &traffic[0];
    assert_eq!(
        (count(request, "push"), count(request, "pull")),
        (17, 10),
        "{request}"
    );
    assert!(!request.ends_with('\n'));
    assert_eq!(
        count(response.as_ref().unwrap(), "resolve") + count(response.as_ref().unwrap(), "reject"),
        10
    );
    let stats = batch.stats();
    assert_eq!(
        (stats.imports, stats.exports),
        (0, 0),
        "client tables after the batch"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_batch_client_callbacks_and_batch_end_against_node_server() {
    let server = NodeServer::start_async(node::SERVER_SCRIPT).await;
    let (batch, traffic) = recorded_batch(&server.batch_url());
    let api = batch.main();
    let calls = Arc::new(AtomicU32::new(0));
    let seen = calls.clone();
    let callback = Stub::from_fn(move |_| {
        seen.fetch_add(1, Ordering::SeqCst);
        async { Ok(Value::Undefined) }
    });
    let never_pulled = api.call("add", (1, 2));
    let notified = api
        .call("notify", vec![Value::Stub(callback), 3.into()])
        .typed::<u32>()
        .await
        .unwrap();
    assert_eq!(notified, 3);
    assert_eq!(
        calls.load(Ordering::SeqCst),
        3,
        "capnweb's calls to our function arrived in the response and ran"
    );
    for late in [never_pulled.await, api.call("ping", ()).await] {
        assert!(
            matches!(&late, Err(RpcError::BatchEnded(m)) if m == "Batch RPC request ended."),
            "{late:?}"
        );
    }
    batch.send().await.unwrap();
    assert_eq!(traffic.lock().unwrap().len(), 1);
    let stats = batch.stats();
    assert_eq!((stats.imports, stats.exports), (0, 0));
}

/// capnweb's server aborts on a bigint longer than 16384 digits; its application (server.mjs)
/// answers 500, and every call of our batch fails with capnweb's message for that.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_batch_client_request_failure_against_node_server() {
    let server = NodeServer::start_async(node::SERVER_SCRIPT).await;
    let batch = capnweb_runtime::http::batch_session(&server.batch_url()).unwrap();
    batch.set_auto_send(false);
    let api = batch.main();
    let huge: BigInt = "9".repeat(20000).parse().unwrap();
    let (echo, ping, _) = tokio::join!(
        api.call("echo", vec![Value::BigInt(huge)]),
        api.call("ping", ()),
        batch.send()
    );
    for result in [echo, ping, api.call("ping", ()).await] {
        assert_eq!(
            result.unwrap_err().to_string(),
            RpcError::BatchEnded("RPC request failed: 500 Internal Server Error".into())
                .to_string()
        );
    }
}

/// A WebSocket session and a batch on the same path; returns the WebSocket session (the server's
/// session ends when it is dropped).
async fn exercise_both_transports(ws_url: &str, batch_url: &str) -> Session {
    let session = websocket::connect(ws_url).await.unwrap();
    let api = session.main();
    assert_eq!(api.call("add", (2, 3)).typed::<f64>().await.unwrap(), 5.0);
    let stats = api.call("stats", ()).await.unwrap();
    let Value::Object(stats) = stats else {
        panic!("{stats:?}")
    };
    assert_eq!(stats.get("exports"), Some(&Value::Number(1.0)));
    drop(api);
    assert_no_leaks(&[&session]).await;

    let batch = capnweb_runtime::http::batch_session(batch_url).unwrap();
    let name = batch
        .main()
        .call("users", ())
        .call("get", (2,))
        .get("name")
        .typed::<String>()
        .await;
    assert_eq!(name.unwrap(), "Alan Turing");
    session
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_clients_use_websocket_and_batch_on_one_path() {
    let server = HttpServer::start().await;
    let client = exercise_both_transports(&server.ws_url(), &server.batch_url()).await;
    assert_eq!(server.served.batches(), 1);
    let sessions = server.served.sessions();
    assert_eq!(sessions.len(), 1);
    assert_no_leaks(&[&sessions[0]]).await;
    drop(client);
    tokio::time::timeout(std::time::Duration::from_secs(5), sessions[0].closed())
        .await
        .expect("the server session ends with its client");
}

/// The same service mounted in an axum application next to its own routes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axum_router_serves_both_transports() {
    let (builder, served) = test_api_builder();
    let service = builder.into_service();
    let app = service
        .clone()
        .router("/rpc")
        .route("/health", axum::routing::get(|| async { "ok" }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let task = tokio::spawn(async move { axum::serve(listener, app).await });

    let client = exercise_both_transports(
        &format!("ws://127.0.0.1:{port}/rpc"),
        &format!("http://127.0.0.1:{port}/rpc"),
    )
    .await;
    let health = raw_request_path(port, "/health").await;
    assert_eq!(health, "ok");
    assert_eq!(served.batches(), 1);
    let get = raw_request(port, "GET", &[], b"").await;
    assert_eq!(get.status, 405, "a plain GET on the RPC path");
    let sessions = served.sessions();
    assert_eq!(sessions.len(), 1);
    assert_no_leaks(&[&sessions[0]]).await;
    drop(client);
    service.shutdown().await;
    task.abort();
}

/// The body of `GET <path>` (the raw helper always asks for /rpc).
async fn raw_request_path(port: u16, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let head = format!("GET {path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n");
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).await.unwrap();
    raw.split_once("\r\n\r\n").unwrap().1.to_owned()
}

/// The slice of the test API the typed batch test uses (typed clients wrap the batch's `Stub`).
#[capnweb_runtime::rpc_interface]
pub trait BatchApi {
    /// `a + b`.
    async fn add(&self, a: f64, b: f64) -> f64;
    /// The user directory.
    async fn users(&self) -> BatchUsersClient;
}

/// The user directory.
#[capnweb_runtime::rpc_interface]
pub trait BatchUsers {
    /// User 1, 2 or 3.
    async fn get(&self, id: u32) -> Result<BatchUserClient, RpcError>;
}

/// One user.
#[capnweb_runtime::rpc_interface]
pub trait BatchUser {
    /// The full name (a getter).
    #[rpc(property)]
    async fn name(&self) -> String;
}

/// A typed client over an HTTP batch, against capnweb's batch server: one request.
#[tokio::test]
async fn typed_client_over_http_batch() {
    let server = NodeServer::start_async(node::SERVER_SCRIPT).await;
    let (batch, traffic) = recorded_batch(&server.batch_url());
    let api = BatchApiClient::from(batch.main());
    let (sum, name) = tokio::join!(api.add(2.0, 3.0), api.users().get(2).name());
    assert_eq!((sum.unwrap(), name.unwrap().as_str()), (5.0, "Alan Turing"));
    batch.send().await.unwrap();
    assert_eq!(traffic.lock().unwrap().len(), 1);
}

/// `.map()` in one batch: the recorded programs travel in the same POST as the calls they map
/// over, and the answers come back in the same response.
async fn maps_in_one_batch(url: &str) {
    let (batch, traffic) = recorded_batch(url);
    batch.set_auto_send(false);
    let api = batch.main();
    let users = api.call("users", ());
    let ids = api.call("listUserIds", ());
    let names =
        ids.map(|id| Value::Promise(users.call("get", vec![Value::Promise(id)]).get("name")));
    let grace = users
        .call("find", ("Grace Hopper",))
        .map(|u| Value::Promise(u.get("email")));
    let nobody = users
        .call("find", ("nobody",))
        .map(|u| Value::Promise(u.get("email")));
    let (names, grace, nobody, sent) = tokio::join!(
        names.typed::<Vec<String>>(),
        grace.typed::<Option<String>>(),
        nobody.typed::<Option<String>>(),
        batch.send()
    );
    sent.unwrap();
    assert_eq!(
        names.unwrap(),
        ["Ada Lovelace", "Alan Turing", "Grace Hopper"]
    );
    assert_eq!(grace.unwrap().as_deref(), Some("grace@example.com"));
    assert_eq!(nobody.unwrap(), None);
    let traffic = traffic.lock().unwrap();
    assert_eq!(traffic.len(), 1, "one request for the whole batch");
    let (request, _) = &traffic[0];
    assert_eq!(
        (count(request, "push"), count(request, "pull")),
        (7, 3),
        "{request}"
    );
    assert!(request.contains(r#"["remap",2,[],[["import",1]],[["pipeline",-1,["get"],[["pipeline",0]]],["pipeline",1,["name"]]]]"#), "{request}");
    let stats = batch.stats();
    assert_eq!(
        (stats.imports, stats.exports),
        (0, 0),
        "client tables after the batch"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_batch_client_maps_against_node_server() {
    let server = NodeServer::start_async(node::SERVER_SCRIPT).await;
    maps_in_one_batch(&server.batch_url()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_batch_client_maps_against_rust_server() {
    let server = HttpServer::start().await;
    maps_in_one_batch(&server.batch_url()).await;
}
