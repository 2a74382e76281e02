//! Cap'n Web mounted in an existing axum application, next to its other routes and sharing
//! its state. Run with `cargo run --example axum_app` (needs the runtime's `axum` feature).
//!
//! `Server::builder(..).into_service()` makes the RPC server a tower service instead of a
//! listener of its own; `RpcService::router(path)` wraps it as an axum `Router` that serves
//! WebSocket sessions and HTTP batches at `path`, to `merge` into the application's router.
//! The application keeps its own `axum::serve` and stops the RPC sessions with
//! `RpcService::shutdown` when it shuts down.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use capnweb_runtime::http::BatchClient;
use capnweb_runtime::transport::websocket;
use capnweb_runtime::{Server, rpc_interface, rpc_target};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The RPC API: a counter the HTTP routes can read too.
#[rpc_interface]
trait Counter {
    async fn add(&self, n: u64) -> u64;
}

struct Shared {
    count: Arc<AtomicU64>,
}

#[rpc_target]
impl Counter for Shared {
    async fn add(&self, n: u64) -> u64 {
        self.count.fetch_add(n, Ordering::SeqCst) + n
    }
}

/// `GET /count`: an ordinary axum handler over the same state.
async fn read_count(State(count): State<Arc<AtomicU64>>) -> String {
    count.load(Ordering::SeqCst).to_string()
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let count = Arc::new(AtomicU64::new(0));

    let rpc_count = count.clone();
    let rpc = Server::builder(move |context| {
        // With `ConnectInfo` (below) the factory learns the client's address here too.
        println!(
            "[server] RPC {:?} session from {}",
            context.kind(),
            context
                .peer_addr()
                .map_or("?".into(), |a| a.ip().to_string())
        );
        CounterClient::new(Shared {
            count: rpc_count.clone(),
        })
        .into()
    })
    .into_service();

    let app = Router::new()
        .route("/health", get(|| async { "ok" }))
        .route("/count", get(read_count))
        .with_state(count.clone())
        .merge(rpc.clone().router("/api/rpc"));

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async {
            let _ = stopped.await;
        })
        .into_future(),
    );
    println!("[server] axum app on http://{addr}: /health, /count, /api/rpc");

    println!(
        "[client] GET /health -> {}",
        http_get(addr, "/health").await?
    );

    // A WebSocket session on the mounted path.
    let session = websocket::connect(&format!("ws://{addr}/api/rpc")).await?;
    let counter = CounterClient::from(session.main());
    println!("[client] WebSocket add(2) -> {}", counter.add(2).await?);

    // An HTTP batch on the same path.
    let batch = BatchClient::new(&format!("http://{addr}/api/rpc"))?.session();
    let counter = CounterClient::from(batch.main());
    println!("[client] HTTP batch add(3) -> {}", counter.add(3).await?);

    println!("[client] GET /count -> {}", http_get(addr, "/count").await?);

    // Shutting down: first the RPC sessions (they outlive the HTTP connection they came in
    // on), then the HTTP server.
    rpc.shutdown().await;
    let _ = stop.send(());
    serving.await??;
    println!(
        "[client] WebSocket session ended: {}",
        session.closed().await
    );
    Ok(())
}

/// A minimal HTTP/1.1 GET, to keep the example free of an HTTP client dependency.
async fn http_get(addr: SocketAddr, path: &str) -> std::io::Result<String> {
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    let request = format!("GET {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await?;
    let status = response.lines().next().unwrap_or_default().to_owned();
    let body = response.split_once("\r\n\r\n").map_or("", |(_, body)| body);
    Ok(format!("{status}: {body}"))
}
