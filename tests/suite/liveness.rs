//! Keepalive: a connection that dies without closing (a route gone, a host frozen, here a
//! proxy that silently stops forwarding) is noticed by both ends within twice the keepalive
//! interval, while an idle but healthy connection stays open. And a client that stops reading
//! cannot keep a server's tasks alive once the server has shut down.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use capnweb_runtime::transport::websocket::{self, Connector};
use capnweb_runtime::{RpcError, SessionOptions, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

use crate::http_server::HttpServer;
use crate::support::{alive_tasks, assert_tasks_at_most_within, eventually};

/// A TCP proxy on 127.0.0.1 that forwards both ways until black-holed: then it keeps both
/// connections open and drops everything, telling neither end.
struct Proxy {
    port: u16,
    black_hole: Arc<AtomicBool>,
    /// Stops reading what the server sends (its socket buffers fill up), like a client that
    /// no longer reads.
    deaf: Arc<AtomicBool>,
    tasks: JoinSet<()>,
}

impl Proxy {
    async fn start(target: u16) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let black_hole = Arc::new(AtomicBool::new(false));
        let deaf = Arc::new(AtomicBool::new(false));
        let mut tasks = JoinSet::new();
        let dropping = black_hole.clone();
        let not_reading = deaf.clone();
        tasks.spawn(async move {
            let mut pumps = JoinSet::new();
            while let Ok((client, _)) = listener.accept().await {
                let server = TcpStream::connect(("127.0.0.1", target)).await.unwrap();
                let (client_read, client_write) = client.into_split();
                let (server_read, server_write) = server.into_split();
                pumps.spawn(pump(client_read, server_write, dropping.clone(), None));
                pumps.spawn(pump(
                    server_read,
                    client_write,
                    dropping.clone(),
                    Some(not_reading.clone()),
                ));
            }
        });
        Proxy {
            port,
            black_hole,
            deaf,
            tasks,
        }
    }

    fn black_hole(&self) {
        self.black_hole.store(true, Ordering::SeqCst);
    }

    fn stop_reading_the_server(&self) {
        self.deaf.store(true, Ordering::SeqCst);
    }
}

/// Copies `from` to `to` until `from` closes; drops the bytes while `black_hole` is set, and
/// then does not pass the close on either (the test aborts the task at its end). Once `deaf`
/// is set it stops reading `from` altogether.
async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    black_hole: Arc<AtomicBool>,
    deaf: Option<Arc<AtomicBool>>,
) {
    let mut buffer = vec![0u8; 16 * 1024];
    loop {
        if deaf
            .as_ref()
            .is_some_and(|deaf| deaf.load(Ordering::SeqCst))
        {
            std::future::pending::<()>().await;
        }
        let Ok(n) = from.read(&mut buffer).await else {
            break;
        };
        if n == 0 {
            break;
        }
        if !black_hole.load(Ordering::SeqCst) && to.write_all(&buffer[..n]).await.is_err() {
            break;
        }
    }
    if black_hole.load(Ordering::SeqCst) {
        std::future::pending::<()>().await;
    }
    drop(to);
}

fn assert_silence(reason: &RpcError, side: &str) {
    match reason {
        RpcError::Disconnected { message, .. } => assert!(
            message.contains("sent nothing, not even a pong"),
            "{side}: {message}"
        ),
        other => panic!("{side}: expected a disconnect, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keepalive_notices_a_black_holed_connection_on_both_ends() {
    const INTERVAL: Duration = Duration::from_millis(150);
    let mut options = SessionOptions::default();
    options.keepalive = Some(INTERVAL);
    let server_options = options.clone();
    let server = HttpServer::start_with(|builder| builder.session_options(server_options)).await;
    let mut proxy = Proxy::start(server.port).await;
    let client = Connector::new(format!("ws://127.0.0.1:{}/rpc", proxy.port))
        .options(options)
        .connect()
        .await
        .unwrap();
    let api = client.main();

    // Idle for several intervals: the pings and pongs keep the healthy connection open.
    tokio::time::sleep(INTERVAL * 5).await;
    assert_eq!(
        api.call("ping", ()).await.unwrap(),
        Value::String("pong".into())
    );
    assert!(client.broken_reason().is_none());
    let server_session = server
        .served
        .sessions()
        .pop()
        .expect("the server's session");

    let pending = api.call("hang", ());
    proxy.black_hole();
    // A call with a deadline of its own fails at it, before keepalive has decided.
    let bounded = api.call("ping", ()).timeout(INTERVAL / 3).await;
    assert!(matches!(bounded, Err(RpcError::Timeout)), "{bounded:?}");
    let reason = tokio::time::timeout(Duration::from_secs(10), client.closed())
        .await
        .expect("the client notices within its keepalive");
    assert_silence(&reason, "client");
    let failed = tokio::time::timeout(Duration::from_secs(10), pending)
        .await
        .expect("the call in flight fails");
    assert_silence(&failed.expect_err("no answer can come"), "call in flight");
    let reason = tokio::time::timeout(Duration::from_secs(10), server_session.closed())
        .await
        .expect("the server notices within its keepalive");
    assert_silence(&reason, "server");

    drop(api);
    proxy.tasks.abort_all();
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_cannot_hold_the_server_after_shutdown() {
    let before = alive_tasks();
    let server =
        HttpServer::start_with(|builder| builder.shutdown_timeout(Duration::from_millis(200)))
            .await;
    let mut proxy = Proxy::start(server.port).await;
    let client = websocket::connect(&format!("ws://127.0.0.1:{}/rpc", proxy.port))
        .await
        .unwrap();
    let api = client.main();
    assert_eq!(
        api.call("ping", ()).await.unwrap(),
        Value::String("pong".into())
    );

    // The answers pile up in the server's socket until it can write no more.
    proxy.stop_reading_the_server();
    let big = "x".repeat(1 << 20);
    // Awaited (so pulled): the server answers each with 1 MiB.
    let pending: Vec<_> = (0..32)
        .map(|_| tokio::spawn(api.call("echo", (big.as_str(),)).into_future()))
        .collect();
    let sessions = server.served.sessions();
    // Back-pressure stops it taking more once its queue is full, and it waits for the client.
    eventually("the server holds answers it cannot write", || {
        sessions[0].queued_bytes() > 0
    })
    .await;
    // Time for the answers to fill the socket (several MiB of them cannot be written).
    tokio::time::sleep(Duration::from_millis(300)).await;

    tokio::time::timeout(Duration::from_secs(10), server.stop())
        .await
        .expect("shutdown is bounded by its deadline");
    drop(sessions);
    for call in pending {
        call.abort();
    }
    drop(api);
    client.abort("the test is over");
    drop(client);
    proxy.tasks.abort_all();
    // Nothing of the server's is left waiting on the full socket.
    assert_tasks_at_most_within(before, Duration::from_secs(10), "after shutdown").await;
}
