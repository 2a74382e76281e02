//! Keepalive: a connection that dies without closing (a route gone, a host frozen, here a
//! proxy that silently stops forwarding) is noticed by both ends within twice the keepalive
//! interval, while an idle but healthy connection stays open.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use capnweb_runtime::transport::websocket::Connector;
use capnweb_runtime::{RpcError, SessionOptions, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

use crate::http_server::HttpServer;

/// A TCP proxy on 127.0.0.1 that forwards both ways until black-holed: then it keeps both
/// connections open and drops everything, telling neither end.
struct Proxy {
    port: u16,
    black_hole: Arc<AtomicBool>,
    tasks: JoinSet<()>,
}

impl Proxy {
    async fn start(target: u16) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let black_hole = Arc::new(AtomicBool::new(false));
        let mut tasks = JoinSet::new();
        let dropping = black_hole.clone();
        tasks.spawn(async move {
            let mut pumps = JoinSet::new();
            while let Ok((client, _)) = listener.accept().await {
                let server = TcpStream::connect(("127.0.0.1", target)).await.unwrap();
                let (client_read, client_write) = client.into_split();
                let (server_read, server_write) = server.into_split();
                pumps.spawn(pump(client_read, server_write, dropping.clone()));
                pumps.spawn(pump(server_read, client_write, dropping.clone()));
            }
        });
        Proxy {
            port,
            black_hole,
            tasks,
        }
    }

    fn black_hole(&self) {
        self.black_hole.store(true, Ordering::SeqCst);
    }
}

/// Copies `from` to `to` until `from` closes; drops the bytes while `black_hole` is set, and
/// then does not pass the close on either (the test aborts the task at its end).
async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    black_hole: Arc<AtomicBool>,
) {
    let mut buffer = vec![0u8; 16 * 1024];
    while let Ok(n) = from.read(&mut buffer).await {
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
