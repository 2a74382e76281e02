//! HTTP batch end to end, our client against our server (and the server's HTTP answers byte for
//! byte): one request per batch, drain, batch end on both sides, failures.

use std::future::IntoFuture;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use capnweb_runtime::batch::{BatchSession, handle_batch};
use capnweb_runtime::http::{self, BatchClient};
use capnweb_runtime::value::{Date, Object};
use capnweb_runtime::{
    Args, CallFuture, Promise, RpcError, RpcTarget, SessionOptions, Stub, Value,
};
use futures_util::future::join_all;

use crate::api::{TestApi, drop_count};
use crate::http_server::{HttpServer, raw_request};
use crate::support::eventually;

/// The client's leak check: the batch ended, and its session's tables are empty (every import
/// settled or failed, every export dropped).
fn assert_client_clean(batch: &BatchSession) {
    assert!(batch.is_ended());
    let stats = batch.stats();
    assert_eq!(
        (stats.imports, stats.exports),
        (0, 0),
        "client tables after the batch"
    );
}

fn batch_ended() -> RpcError {
    RpcError::BatchEnded("Batch RPC request ended.".into())
}

fn assert_batch_ended(result: Result<Value, RpcError>, what: &str) {
    match result {
        Err(RpcError::BatchEnded(m)) if m == "Batch RPC request ended." => {}
        other => panic!("{what}: expected {:?}, got {other:?}", batch_ended()),
    }
}

/// Eleven calls (plain, pipelined three deep, a property, promise arguments, a returned
/// function, errors of every kind, async results) in ONE request, sent explicitly: exact on a
/// multi-thread runtime.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_request_carries_calls_chains_and_errors() {
    let server = HttpServer::start().await;
    let batch = http::batch_session(&server.batch_url()).unwrap();
    batch.set_auto_send(false);
    let api = batch.main();
    let users = api.call("users", ());
    let promises = vec![
        api.call("add", (2, 3)),
        users.call("get", (1,)).call("profile", ()),
        users.call("get", (2,)).get("name"),
        api.call(
            "add",
            vec![
                Value::Promise(api.call("add", (1, 2))),
                Value::Promise(api.call("add", (3, 4))),
            ],
        ),
        api.call("makeMultiplier", (7,)).invoke((6,)),
        api.call("delay", (20, "late")),
        api.call("fail", ("not-found",)),
        api.call("failLater", (20,)),
        users.call("get", (999,)).call("profile", ()),
        api.call("noSuchMethod", (1,)),
        api.call("fail", ("string",)),
    ];
    let awaits = join_all(promises.into_iter().map(IntoFuture::into_future));
    let (results, sent) = tokio::join!(awaits, batch.send());
    sent.unwrap();
    assert_eq!(
        server.served.batches(),
        1,
        "everything went out in one request"
    );

    let mut profile = Object::new();
    profile.insert("id".into(), 1.into());
    profile.insert("bio".into(), "First programmer".into());
    profile.insert("joined".into(), Value::Date(Date(Some(1579089600000.0))));
    profile.insert(
        "tags".into(),
        Value::Array(vec!["math".into(), "engines".into()]),
    );
    let expected_ok: [Value; 6] = [
        5.into(),
        Value::Object(profile),
        "Alan Turing".into(),
        10.into(),
        42.into(),
        "late".into(),
    ];
    for (i, expected) in expected_ok.iter().enumerate() {
        assert_eq!(results[i].as_ref().unwrap(), expected, "result {i}");
    }
    let err = |i: usize| results[i].as_ref().unwrap_err();
    let not_found = err(6).as_js_error().unwrap();
    assert_eq!(
        (not_found.name.as_str(), not_found.message.as_str()),
        ("NotFoundError", "the thing was not found")
    );
    assert_eq!(
        not_found.props.get("code"),
        Some(&Value::String("E_NOT_FOUND".into()))
    );
    assert_eq!(err(7).message(), "failed after 20 ms");
    assert_eq!(err(8).message(), "no user with id 999");
    assert_eq!(
        (err(9).name(), err(9).message()),
        ("TypeError", "'noSuchMethod' is not a function.".to_owned())
    );
    assert!(
        matches!(err(10), RpcError::Thrown(v) if **v == Value::String("a thrown string".into()))
    );

    assert_client_clean(&batch);
}

/// The automatic send: futures polled together by `join!` on a current-thread runtime share one
/// batch, and a later await on the same session fails at once.
#[tokio::test]
async fn join_of_awaits_shares_one_batch() {
    let server = HttpServer::start().await;
    let batch = http::batch_session(&server.batch_url()).unwrap();
    let api = batch.main();
    let (sum, name) = tokio::join!(
        api.call("add", (2, 3)).typed::<f64>(),
        api.call("users", ())
            .call("get", (3,))
            .get("name")
            .typed::<String>(),
    );
    assert_eq!(
        (sum.unwrap(), name.unwrap().as_str()),
        (5.0, "Grace Hopper")
    );
    assert_eq!(server.served.batches(), 1);
    // Results arrive as the response is applied; send() waits for the whole of it.
    batch.send().await.unwrap();
    assert_client_clean(&batch);
}

/// The automatic send on a multi-thread runtime: every future of a `join_all` is polled before
/// the batch goes out (the awaiting task yields once before its pull counts), so all ten calls
/// share one request, round after round, however the workers interleave.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn join_all_shares_one_batch_on_a_multi_thread_runtime() {
    const ROUNDS: usize = 30;
    let server = HttpServer::start().await;
    for round in 0..ROUNDS {
        let batch = http::batch_session(&server.batch_url()).unwrap();
        let api = batch.main();
        let sums = join_all((0..10).map(|i| api.call("add", (i, round)).typed::<f64>())).await;
        for (i, sum) in sums.into_iter().enumerate() {
            assert_eq!(sum.unwrap(), (i + round) as f64, "round {round}, call {i}");
        }
        batch.send().await.unwrap();
        assert_client_clean(&batch);
    }
    assert_eq!(server.served.batches(), ROUNDS);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_after_the_batch_fail_at_once() {
    let server = HttpServer::start().await;
    let batch = http::batch_session(&server.batch_url()).unwrap();
    let api = batch.main();
    let never_pulled = api.call("add", (1, 2));
    let user = api
        .call("users", ())
        .call("get", (1,))
        .as_stub()
        .resolve()
        .await
        .expect("the first await sends the batch");
    batch.send().await.unwrap();
    assert!(batch.is_ended());

    // Pushed in the batch but not pulled before it went out: no answer came.
    assert_batch_ended(never_pulled.await, "a call the batch did not pull");
    let started = tokio::time::Instant::now();
    assert_batch_ended(
        api.call("ping", ()).await,
        "a call on the main stub afterwards",
    );
    assert_batch_ended(
        user.get("name").await,
        "a call on a capability the batch returned",
    );
    assert_batch_ended(batch.main().call("ping", ()).await, "a new main stub");
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "late calls fail at once"
    );
    assert_eq!(
        server.served.batches(),
        1,
        "late calls never make a request"
    );
    drop(user);
    assert_client_clean(&batch);
}

struct DropFlag(Arc<AtomicU32>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// capnweb keeps a batch's exports forever; we drop them with the session, on both sides.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_end_drops_exports_on_both_sides() {
    let server = HttpServer::start().await;
    let key = format!("http-batch-end-{}", std::process::id());
    let batch = http::batch_session(&server.batch_url()).unwrap();
    let api = batch.main();

    let calls = Arc::new(AtomicU32::new(0));
    let dropped = Arc::new(AtomicU32::new(0));
    let (seen, flag) = (calls.clone(), DropFlag(dropped.clone()));
    let callback = Stub::from_fn(move |_args| {
        let _keep = &flag;
        seen.fetch_add(1, Ordering::SeqCst);
        async { Ok(Value::Undefined) }
    });
    // Both awaits must be in the request whatever the scheduling: send explicitly, last.
    batch.set_auto_send(false);
    let notify = api.call("notify", vec![Value::Stub(callback), 3.into()]);
    let counter = api.call("makeCounter", (key.as_str(), 0));
    let (notified, counter, sent) = tokio::join!(notify.typed::<u32>(), counter, batch.send());
    sent.unwrap();
    assert_eq!(notified.unwrap(), 3);
    assert!(matches!(counter, Ok(Value::Stub(_))), "{counter:?}");
    assert_eq!(
        drop_count(&key),
        1,
        "the server dropped the counter before it answered"
    );
    assert_eq!(
        calls.load(Ordering::SeqCst),
        3,
        "the server's calls in the response ran"
    );
    assert_eq!(
        dropped.load(Ordering::SeqCst),
        1,
        "our callback was dropped with the client session"
    );
    assert_client_clean(&batch);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_answers_statuses_and_messages() {
    let server = HttpServer::start_with(|builder| {
        builder
            .max_body_bytes(256)
            .batch_timeout(Duration::from_millis(200))
    })
    .await;
    let port = server.port;

    let ok = raw_request(
        port,
        "POST",
        &[],
        b"[\"push\",[\"pipeline\",0,[\"add\"],[2,3]]]\n[\"pull\",1]",
    )
    .await;
    assert_eq!((ok.status, ok.body.as_str()), (200, "[\"resolve\",1,5]"));
    assert_eq!(ok.header("content-type"), Some("text/plain;charset=UTF-8"));

    let two = raw_request(
        port,
        "POST",
        &[],
        concat!(
            "[\"push\",[\"pipeline\",0,[\"ping\"],[]]]\n",
            "[\"push\",[\"pipeline\",0,[\"delay\"],[20,\"x\"]]]\n",
            "[\"pull\",2]\n[\"pull\",1]"
        )
        .as_bytes(),
    )
    .await;
    assert_eq!(
        (two.status, two.body.as_str()),
        (200, "[\"resolve\",1,\"pong\"]\n[\"resolve\",2,\"x\"]"),
        "joined by newlines, no trailing newline, after the async result drained"
    );

    let empty = raw_request(port, "POST", &[], b"").await;
    assert_eq!((empty.status, empty.body.as_str()), (200, ""));

    let get = raw_request(port, "GET", &[], b"").await;
    assert_eq!(get.status, 405);
    assert_eq!(get.header("allow"), Some("POST"));

    let bogus = raw_request(
        port,
        "POST",
        &[],
        b"[\"push\",[\"pipeline\",0,[\"ping\"],[]]]\n[\"bogus\"]",
    )
    .await;
    assert_eq!(
        (bogus.status, bogus.body.as_str()),
        (400, "bad RPC message: [\"bogus\"]")
    );

    let not_utf8 = raw_request(port, "POST", &[], b"[\"pull\",\xff]").await;
    assert_eq!(not_utf8.status, 400);

    let too_big = raw_request(port, "POST", &[], &[b' '; 257]).await;
    assert_eq!(too_big.status, 413, "{}", too_big.body);

    let hang = raw_request(
        port,
        "POST",
        &[],
        b"[\"push\",[\"pipeline\",0,[\"hang\"],[]]]\n[\"pull\",1]",
    )
    .await;
    assert_eq!(
        (hang.status, hang.body.as_str()),
        (500, "the batch did not finish within 200ms")
    );

    let old_ws = raw_request(
        port,
        "GET",
        &[
            ("connection", "upgrade"),
            ("upgrade", "websocket"),
            ("sec-websocket-version", "8"),
            ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
        ],
        b"",
    )
    .await;
    assert_eq!(old_ws.status, 426);
    assert_eq!(old_ws.header("sec-websocket-version"), Some("13"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_request_fails_every_call() {
    let server = HttpServer::start_with(|builder| builder.max_body_bytes(16)).await;
    let batch = http::batch_session(&server.batch_url()).unwrap();
    batch.set_auto_send(false);
    let api = batch.main();
    let (a, b, _) = tokio::join!(api.call("add", (1, 2)), api.call("ping", ()), batch.send());
    let expected = RpcError::BatchEnded("RPC request failed: 413 Payload Too Large".into());
    assert_eq!(a.unwrap_err().to_string(), expected.to_string());
    assert_eq!(b.unwrap_err().to_string(), expected.to_string());
    assert_eq!(
        api.call("ping", ()).await.unwrap_err().to_string(),
        expected.to_string()
    );
    assert_eq!(
        batch.send().await.unwrap_err().to_string(),
        expected.to_string()
    );
    assert_client_clean(&batch);

    // Nothing listening: the connection error names its cause.
    let unused = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/rpc", unused.local_addr().unwrap());
    drop(unused);
    let err = http::batch_session(&url)
        .unwrap()
        .main()
        .call("ping", ())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, RpcError::Connect { message, .. } if message.starts_with("RPC request failed: ")),
        "a connect failure, as from the WebSocket client: {err:?}"
    );
    assert!(BatchClient::new("ftp://example.com/rpc").is_err());
}

/// A client that gives up fails its calls; the server notices the closed connection and ends
/// the session it was draining, dropping its exports.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_timeout_ends_the_batch_on_both_sides() {
    let server = HttpServer::start().await;
    let key = format!("http-timeout-{}", std::process::id());
    let client = BatchClient::new(&server.batch_url())
        .unwrap()
        .timeout(Duration::from_millis(200));
    let batch = client.session();
    // Both calls must be in the request whatever the scheduling: send explicitly, last.
    batch.set_auto_send(false);
    let api = batch.main();
    let (counter, hang, sent) = tokio::join!(
        api.call("makeCounter", (key.as_str(), 0)),
        api.call("hang", ()),
        batch.send()
    );
    assert!(sent.is_err(), "the request timed out");
    for result in [counter, hang] {
        assert!(matches!(&result, Err(RpcError::Timeout)), "{result:?}");
    }
    eventually("the server dropped the abandoned batch's counter", || {
        drop_count(&key) == 1
    })
    .await;
    assert!(batch.send().await.is_err());
    assert_client_clean(&batch);
}

/// A main object whose results wait for a promise still running: `lazy()` returns it inside
/// its value, `handOver(callback)` passes it to the client's callback, where it travels as
/// `["promise", -1]`. Either way the batch answers only once it has been resolved.
struct Lazy;

fn later() -> Promise {
    let (api, _) = TestApi::new();
    Stub::new(api).call("delay", (30, "late"))
}

impl RpcTarget for Lazy {
    fn call(self: Arc<Self>, method: &str, args: Args) -> CallFuture {
        let result = match (method, args.into_values().into_iter().next()) {
            ("lazy", _) => {
                let mut map = Object::new();
                map.insert("now".into(), 1.into());
                map.insert("later".into(), Value::Promise(later()));
                Ok(Value::Object(map))
            }
            ("handOver", Some(Value::Stub(callback))) => {
                // Fire and forget: the call goes out, its result is never pulled.
                drop(callback.invoke(vec![Value::Promise(later())]));
                Ok("handed over".into())
            }
            (other, _) => Err(RpcError::no_such_method(other)),
        };
        Box::pin(std::future::ready(result))
    }
}

#[tokio::test]
async fn pending_results_and_promise_exports_drain_before_the_answer() {
    let responses = Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = responses.clone();
    // The batch carried in process, straight into the server's handler.
    let batch = BatchSession::new(
        move |body: String| async move {
            let reply = handle_batch(body.as_bytes(), Stub::new(Lazy), &Default::default()).await;
            log.lock().unwrap().push(reply.body.clone());
            Ok(reply.body)
        },
        SessionOptions::default(),
    );
    let received = Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = received.clone();
    let callback = Stub::from_fn(move |args| {
        sink.lock().unwrap().extend(args);
        async { Ok(Value::Undefined) }
    });
    let api = batch.main();
    let (lazy, handed) = tokio::join!(
        api.call("lazy", ()),
        api.call("handOver", vec![Value::Stub(callback)])
    );
    batch.send().await.unwrap();
    let mut expected = Object::new();
    expected.insert("now".into(), 1.into());
    expected.insert("later".into(), "late".into());
    assert_eq!(lazy.unwrap(), Value::Object(expected));
    assert_eq!(handed.unwrap(), Value::from("handed over"));
    // Our callback waits for its promise argument, which the same response resolved.
    eventually("the callback got the resolved promise", || {
        received.lock().unwrap().as_slice() == [Value::from("late")]
    })
    .await;
    let responses = responses.lock().unwrap();
    assert_eq!(responses.len(), 1);
    let lines: Vec<&str> = responses[0].split('\n').collect();
    assert!(
        lines.contains(&"[\"push\",[\"pipeline\",-1,[],[[\"promise\",-1]]]]")
            && lines.contains(&"[\"resolve\",-1,\"late\"]")
            && lines.contains(&"[\"resolve\",1,{\"now\":1,\"later\":\"late\"}]"),
        "{lines:?}"
    );
    assert_client_clean(&batch);
}

/// Calls that are never awaited still go out once nothing can reach the batch any more, as
/// they would in capnweb; a batch with nothing queued makes no request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abandoned_batch_still_sends_fire_and_forget_calls() {
    let server = HttpServer::start().await;
    let key = format!("http-abandoned-{}", std::process::id());
    {
        let batch = http::batch_session(&server.batch_url()).unwrap();
        drop(batch.main().call("makeCounter", (key.as_str(), 0)));
    }
    eventually("the abandoned batch reached the server", || {
        drop_count(&key) == 1
    })
    .await;
    assert_eq!(server.served.batches(), 1);
    {
        let batch = http::batch_session(&server.batch_url()).unwrap();
        let _api = batch.main();
    }
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(
        server.served.batches(),
        1,
        "an empty batch makes no request"
    );
}

/// The normal end of a batch does not cancel a call the client did not wait for: it runs to
/// its end, as it would on capnweb.
#[tokio::test]
async fn a_call_nobody_waited_for_runs_on_after_its_batch_ends() {
    let finished = Arc::new(AtomicU32::new(0));
    let done = finished.clone();
    let main = Stub::from_fn(move |args: Vec<Value>| {
        let done = done.clone();
        async move {
            if args.is_empty() {
                // The slow one, that nobody pulls.
                tokio::time::sleep(Duration::from_millis(100)).await;
                done.fetch_add(1, Ordering::SeqCst);
            }
            Ok(Value::Null)
        }
    });
    let body =
        "[\"push\",[\"pipeline\",0,[],[]]]\n[\"push\",[\"pipeline\",0,[],[1]]]\n[\"pull\",2]";
    let reply = handle_batch(body.as_bytes(), main, &Default::default()).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(
        finished.load(Ordering::SeqCst),
        0,
        "answered before the slow call ends"
    );
    eventually("the call nobody waited for to finish", || {
        finished.load(Ordering::SeqCst) == 1
    })
    .await;
}

/// A listener whose accept queue is full drops new connection attempts, so connecting hangs:
/// the connect timeout ends the wait with a connect error.
#[tokio::test]
async fn the_connect_timeout_bounds_opening_a_connection() {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener = socket.listen(0).unwrap();
    let addr = listener.local_addr().unwrap();
    // Fill the queue (never accepted); each of these connects completes in the kernel.
    let mut fillers = Vec::new();
    for _ in 0..4 {
        let attempt = tokio::time::timeout(
            Duration::from_millis(200),
            tokio::net::TcpStream::connect(addr),
        );
        match attempt.await {
            Ok(Ok(stream)) => fillers.push(stream),
            _ => break, // the queue is full: this attempt hung
        }
    }
    let client = BatchClient::new(&format!("http://{addr}/rpc"))
        .unwrap()
        .connect_timeout(Duration::from_millis(300));
    let err = client.session().main().call("ping", ()).await.unwrap_err();
    match &err {
        RpcError::Connect { message, .. } => {
            assert!(message.contains("RPC request failed"), "{message}")
        }
        other => panic!("expected a connect error, got {other:?}"),
    }
    drop((fillers, listener));
}
