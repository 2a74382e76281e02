//! `Server` as a user meets it: graceful shutdown (calls in flight finish or fail clearly at the
//! deadline, every WebSocket client sees a close frame, new connections are refused, every task
//! the server started has ended when `shutdown()` returns), the session context its factory
//! sees, and a session that ends cancelling the calls still running for it.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use capnweb_runtime::http::{BatchClient, SessionContext, SessionKind};
use capnweb_runtime::transport::websocket::Connector;
use capnweb_runtime::transport::{memory, websocket};
use capnweb_runtime::{Args, CallFuture, RpcError, RpcTarget, Server, Session, Stub, Value};

use crate::http_server::{HttpServer, raw_request};
use crate::support::{alive_tasks, assert_no_leaks, assert_tasks_at_most, eventually};

fn assert_closed_for_shutdown(reason: &RpcError) {
    match reason {
        RpcError::Disconnected { message, .. } => assert!(
            message.contains("1001") && message.contains("the server is shutting down"),
            "the client learns why: {message}"
        ),
        other => panic!("expected a disconnect with close code 1001, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_in_flight_finish_then_sessions_close_with_1001() {
    let before = alive_tasks();
    let server = HttpServer::start().await;
    let client = websocket::connect(&server.ws_url()).await.unwrap();
    let api = client.main();
    assert_eq!(api.call("add", (1, 2)).await.unwrap(), Value::Number(3.0));

    let slow = tokio::spawn(api.call("delay", (300, "finished")).into_future());
    // Let the call reach the server before the shutdown begins.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let url = server.ws_url();
    let stopping = tokio::spawn(server.stop());

    let answer = tokio::time::timeout(Duration::from_secs(10), slow)
        .await
        .expect("the slow call settles")
        .unwrap();
    assert_eq!(answer.unwrap(), Value::String("finished".into()));
    let reason = tokio::time::timeout(Duration::from_secs(10), client.closed())
        .await
        .expect("the client session ends");
    assert_closed_for_shutdown(&reason);
    tokio::time::timeout(Duration::from_secs(10), stopping)
        .await
        .expect("shutdown returns")
        .unwrap();

    let refused = websocket::connect(&url)
        .await
        .expect_err("no new connections after shutdown");
    assert!(matches!(refused, RpcError::Connect { .. }), "{refused:?}");
    // The transport's own error is kept as the cause.
    assert!(std::error::Error::source(&refused).is_some(), "{refused:?}");
    drop(api);
    drop(client);
    assert_tasks_at_most(before).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_still_running_at_the_deadline_fails_with_a_clear_error() {
    let before = alive_tasks();
    let server =
        HttpServer::start_with(|builder| builder.shutdown_timeout(Duration::from_millis(200)))
            .await;
    let client = websocket::connect(&server.ws_url()).await.unwrap();
    let api = client.main();
    let hanging = tokio::spawn(api.call("hang", ()).into_future());
    assert_eq!(api.call("add", (1, 1)).await.unwrap(), Value::Number(2.0));
    let sessions = server.served.sessions();

    tokio::time::timeout(Duration::from_secs(10), server.stop())
        .await
        .expect("shutdown is bounded by its deadline");
    let failed = tokio::time::timeout(Duration::from_secs(10), hanging)
        .await
        .expect("the hanging call fails")
        .unwrap();
    assert_closed_for_shutdown(&failed.expect_err("the hanging call cannot finish"));
    assert_closed_for_shutdown(&client.closed().await);
    // The server side dropped what the session held (its tables hold nothing now).
    for session in &sessions {
        assert!(session.broken_reason().is_some());
    }
    drop(api);
    drop(client);
    drop(sessions);
    assert_tasks_at_most(before).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http_batch_in_flight_is_answered_before_the_server_stops() {
    let before = alive_tasks();
    let server = HttpServer::start().await;
    let batch = capnweb_runtime::http::batch_session(&server.batch_url()).unwrap();
    let api = batch.main();
    let slow = tokio::spawn(api.call("delay", (300, "answered")).into_future());
    tokio::time::sleep(Duration::from_millis(100)).await;
    let stopping = tokio::spawn(server.stop());
    let answer = tokio::time::timeout(Duration::from_secs(10), slow)
        .await
        .expect("the batch is answered")
        .unwrap();
    assert_eq!(answer.unwrap(), Value::String("answered".into()));
    tokio::time::timeout(Duration::from_secs(10), stopping)
        .await
        .expect("shutdown returns")
        .unwrap();
    drop(api);
    drop(batch);
    assert_tasks_at_most(before).await;
}

#[tokio::test]
async fn an_idle_server_shuts_down_at_once_with_sessions_open() {
    let before = alive_tasks();
    let server = HttpServer::start().await;
    let client = websocket::connect(&server.ws_url()).await.unwrap();
    assert_eq!(
        client.main().call("ping", ()).await.unwrap(),
        Value::String("pong".into())
    );
    let sessions = server.served.sessions();
    assert_no_leaks(&[&client, &sessions[0]]).await;
    tokio::time::timeout(Duration::from_secs(5), server.stop())
        .await
        .expect("nothing in flight: shutdown does not wait for the deadline");
    assert_closed_for_shutdown(&client.closed().await);
    drop(client);
    drop(sessions);
    assert_tasks_at_most(before).await;
}

/// Counts drops of the future of a call that never finishes by itself.
struct Stuck(Arc<AtomicU32>);

impl Drop for Stuck {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// A target whose `wait` never returns; its future owns a [`Stuck`].
struct Waiter(Arc<AtomicU32>);

impl RpcTarget for Waiter {
    fn call(self: Arc<Self>, _method: &str, _args: Args) -> CallFuture {
        let stuck = Stuck(self.0.clone());
        Box::pin(async move {
            let _stuck = stuck;
            std::future::pending::<()>().await;
            Ok(Value::Null)
        })
    }
}

#[tokio::test]
async fn a_disconnect_cancels_the_calls_still_running_for_it() {
    let before = alive_tasks();
    let dropped = Arc::new(AtomicU32::new(0));
    let (near, far) = memory::pair();
    let server = Session::new(far, Some(Stub::new(Waiter(dropped.clone()))));
    let client = Session::new(near, None);
    let waiting = client.main().call("wait", ());
    // Delivered and suspended on the server: nothing dropped yet.
    eventually("the call reaches the server", || server.stats().exports > 1).await;
    assert_eq!(dropped.load(Ordering::SeqCst), 0);

    drop(waiting);
    client.abort("the client went away");
    eventually("the server drops the call's future", || {
        dropped.load(Ordering::SeqCst) == 1
    })
    .await;
    assert!(server.broken_reason().is_some());
    drop(client);
    drop(server);
    assert_tasks_at_most(before).await;
}

/// What the main-object factory saw of one session.
#[derive(Debug)]
struct Seen {
    kind: SessionKind,
    peer: Option<std::net::SocketAddr>,
    token: Option<String>,
    bearer: Option<String>,
}

fn header(context: &SessionContext, name: &str) -> Option<String> {
    context
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

#[tokio::test]
async fn the_factory_sees_kind_peer_address_and_headers_on_every_path() {
    let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
    let record = seen.clone();
    let server = Server::builder(move |context| {
        record.lock().unwrap().push(Seen {
            kind: context.kind(),
            peer: context.peer_addr(),
            token: header(context, "x-token"),
            bearer: header(context, "authorization"),
        });
        Stub::from_fn(|_| async { Ok(Value::String("hi".into())) })
    })
    .bind("127.0.0.1:0")
    .await
    .unwrap();
    let port = server.local_addr().port();

    let client = Connector::new(format!("ws://127.0.0.1:{port}/rpc"))
        .bearer_token("s3cret")
        .header("x-token", "ws")
        .connect()
        .await
        .unwrap();
    assert_eq!(
        client.main().invoke(()).await.unwrap(),
        Value::String("hi".into())
    );
    let batch = raw_request(
        port,
        "POST",
        &[("x-token", "secret")],
        br#"["push",["pipeline",0,[],[]]]"#,
    )
    .await;
    assert_eq!(batch.status, 200, "{batch:?}");
    let batch_client = BatchClient::new(&format!("http://127.0.0.1:{port}/rpc"))
        .unwrap()
        .bearer_token("b4tch")
        .unwrap();
    let answer = batch_client.session().main().invoke(()).await.unwrap();
    assert_eq!(answer, Value::String("hi".into()));
    client.close();
    server.shutdown().await;

    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 3, "{seen:?}");
    assert_eq!(seen[0].kind, SessionKind::WebSocket);
    assert_eq!(seen[0].token.as_deref(), Some("ws"));
    assert_eq!(seen[0].bearer.as_deref(), Some("Bearer s3cret"));
    assert_eq!(seen[1].kind, SessionKind::HttpBatch);
    assert_eq!(seen[1].token.as_deref(), Some("secret"));
    assert_eq!(seen[2].kind, SessionKind::HttpBatch);
    assert_eq!(seen[2].bearer.as_deref(), Some("Bearer b4tch"));
    for session in seen.iter() {
        let peer = session
            .peer
            .expect("the peer address is known on every path");
        assert!(peer.ip().is_loopback(), "{peer}");
        assert_ne!(peer.port(), port, "the client's port, not the server's");
    }
}

#[tokio::test]
async fn a_handshake_that_never_comes_fails_at_the_connect_timeout() {
    // Accepts TCP connections and never answers the WebSocket handshake.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/", silent.local_addr().unwrap());
    let held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((stream, _)) = silent.accept().await {
            open.push(stream);
        }
    });
    let attempt = Connector::new(url)
        .connect_timeout(Duration::from_millis(200))
        .connect();
    let error = tokio::time::timeout(Duration::from_secs(10), attempt)
        .await
        .expect("the connect timeout bounds the attempt")
        .expect_err("no handshake, no session");
    match &error {
        RpcError::Connect { message, .. } => {
            assert!(message.contains("timed out after 200ms"), "{message}")
        }
        other => panic!("expected a connect error, got {other:?}"),
    }
    held.abort();
}

#[tokio::test]
async fn an_invalid_header_fails_the_connect_and_names_the_header() {
    let error = Connector::new("ws://127.0.0.1:1/")
        .header("bad header", "x")
        .connect()
        .await
        .expect_err("an invalid header name");
    assert!(
        matches!(&error, RpcError::Connect { message, .. } if message.contains("\"bad header\"")),
        "{error:?}"
    );
}

/// Reads until the server closes the connection (at most 10 s, far past the timeouts used).
async fn assert_closed_by_server(mut stream: tokio::net::TcpStream) {
    use tokio::io::AsyncReadExt;
    let mut buffer = [0u8; 256];
    let closed = tokio::time::timeout(Duration::from_secs(10), async {
        while stream.read(&mut buffer).await.is_ok_and(|n| n > 0) {}
    })
    .await;
    assert!(closed.is_ok(), "the server must close the connection");
}

#[tokio::test]
async fn silent_and_slow_clients_are_closed_at_the_handshake_timeout() {
    use tokio::io::AsyncWriteExt;
    let before = alive_tasks();
    let server =
        HttpServer::start_with(|builder| builder.handshake_timeout(Duration::from_millis(300)))
            .await;
    let address = ("127.0.0.1", server.port);

    // Connects and never sends a byte.
    let silent = tokio::net::TcpStream::connect(address).await.unwrap();
    // Sends a WebSocket handshake a few bytes at a time, too slowly to finish.
    let mut slow = tokio::net::TcpStream::connect(address).await.unwrap();
    let dribble = tokio::spawn(async move {
        for chunk in [
            "GET /rpc HTTP/1.1\r\n",
            "host: x\r\n",
            "upgrade: websocket\r\n",
        ] {
            if slow.write_all(chunk.as_bytes()).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
        slow
    });
    assert_closed_by_server(silent).await;
    let slow = dribble.await.unwrap();
    assert_closed_by_server(slow).await;

    // A well-behaved client is served as before.
    let client = websocket::connect(&server.ws_url()).await.unwrap();
    assert_eq!(
        client.main().call("ping", ()).await.unwrap(),
        Value::String("pong".into())
    );
    client.close();
    drop(client);
    server.stop().await;
    assert_tasks_at_most(before).await;
}

/// The handshake timeout is also the idle timeout of a kept-alive HTTP connection: a client
/// that sent one batch and then nothing is closed, not kept forever.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_kept_alive_connection_is_closed_at_the_handshake_timeout() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let before = alive_tasks();
    let server =
        HttpServer::start_with(|builder| builder.handshake_timeout(Duration::from_millis(300)))
            .await;
    let mut idle = tokio::net::TcpStream::connect(("127.0.0.1", server.port))
        .await
        .unwrap();
    let body = r#"["push",["pipeline",0,["ping"],[]]]
["pull",1]"#;
    let request = format!(
        "POST /rpc HTTP/1.1\r\nhost: x\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    idle.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let mut buffer = [0u8; 512];
    while !String::from_utf8_lossy(&answer).contains(r#"["resolve",1,"pong"]"#) {
        let n = tokio::time::timeout(Duration::from_secs(10), idle.read(&mut buffer))
            .await
            .expect("the batch is answered")
            .unwrap();
        assert!(n > 0, "answered before closing");
        answer.extend_from_slice(&buffer[..n]);
    }
    assert!(!String::from_utf8_lossy(&answer).contains("connection: close"));
    assert_closed_by_server(idle).await;
    server.stop().await;
    assert_tasks_at_most(before).await;
}

#[tokio::test]
async fn a_method_past_its_time_limit_rejects_and_its_future_is_dropped() {
    let before = alive_tasks();
    let dropped = Arc::new(AtomicU32::new(0));
    let (near, far) = memory::pair();
    let mut options = capnweb_runtime::SessionOptions::default();
    options.method_time_limit = Some(Duration::from_millis(100));
    let server = Session::builder()
        .main(Stub::new(Waiter(dropped.clone())))
        .options(options)
        .start(far);
    let client = Session::new(near, None);

    let error = tokio::time::timeout(Duration::from_secs(10), client.main().call("wait", ()))
        .await
        .expect("the time limit ends the call")
        .expect_err("a method past its limit cannot answer");
    assert_eq!(error.name(), "TimeoutError", "{error:?}");
    assert!(
        error
            .message()
            .contains("the method 'wait' took longer than 100ms"),
        "{error:?}"
    );
    assert_eq!(
        dropped.load(Ordering::SeqCst),
        1,
        "the method's future was dropped"
    );
    assert!(server.broken_reason().is_none(), "the session goes on");
    assert_no_leaks(&[&client, &server]).await;
    drop(client);
    drop(server);
    assert_tasks_at_most(before).await;
}
