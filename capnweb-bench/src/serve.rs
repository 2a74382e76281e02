//! `capnweb-bench serve <kind>`: the Rust servers. Each binds 127.0.0.1 on an ephemeral port,
//! prints `LISTENING <port>` and serves until its stdin closes.

use std::io::Write;

use capnweb_runtime::transport::websocket::{self, WebSocketTransport};
use capnweb_runtime::{Server, SessionOptions, Stub};
use futures_util::{FutureExt, SinkExt, StreamExt};
use jsonrpsee::RpcModule;
use jsonrpsee::types::ErrorObjectOwned;
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use crate::api::{Api, BenchApiClient};
use crate::soak::api::{SoakApiClient, SoakMain};

/// The Rust servers the bench can start.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ServerKind {
    /// Our runtime's `Server` (WebSocket + HTTP batch on hyper).
    OursHttp,
    /// Our runtime's sessions on WebSockets accepted by tokio-tungstenite itself (no HTTP
    /// server in front).
    OursWs,
    /// jsonrpsee 0.26 (WebSocket; `add` and `echo`).
    Jsonrpsee,
    /// tokio-tungstenite echoing every text frame with its own write.
    Raw,
    /// tokio-tungstenite echoing every ready frame, then flushing once.
    RawBatched,
    /// [`ServerKind::Raw`] with a 4 KiB read buffer instead of tungstenite's default 128 KiB,
    /// which it allocates up front for every connection (scenario g's diagnostic).
    RawSmallBuffer,
    /// Our runtime's `Server` serving the soak API (`capnweb-bench soak`): answers `stats` on
    /// stdin with `STATS <sessions> <capabilities> <callbacks> <pending hangs> <tasks>`.
    OursSoak,
}

impl ServerKind {
    /// The name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            ServerKind::OursHttp => "ours-http",
            ServerKind::OursWs => "ours-ws",
            ServerKind::Jsonrpsee => "jsonrpsee",
            ServerKind::Raw => "raw",
            ServerKind::RawBatched => "raw-batched",
            ServerKind::RawSmallBuffer => "raw-small-buffer",
            ServerKind::OursSoak => "ours-soak",
        }
    }

    /// Parses [`ServerKind::name`].
    pub fn parse(name: &str) -> Option<ServerKind> {
        [
            ServerKind::OursHttp,
            ServerKind::OursWs,
            ServerKind::Jsonrpsee,
            ServerKind::Raw,
            ServerKind::RawBatched,
            ServerKind::RawSmallBuffer,
            ServerKind::OursSoak,
        ]
        .into_iter()
        .find(|k| k.name() == name)
    }
}

/// Runs `serve <kind>` until stdin closes.
pub fn main(args: &[String]) -> Result<(), String> {
    let kind = args
        .first()
        .and_then(|k| ServerKind::parse(k))
        .ok_or_else(|| format!("serve: unknown server kind {:?}", args.first()))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    // Exit as soon as the parent closes our stdin (or dies); answer `stats` lines meanwhile.
    let handle = runtime.handle().clone();
    std::thread::spawn(move || {
        let mut line = String::new();
        while matches!(std::io::stdin().read_line(&mut line), Ok(n) if n > 0) {
            if line.trim() == "stats" {
                let [sessions, caps, callbacks, hangs] = crate::soak::api::live();
                let tasks = handle.metrics().num_alive_tasks();
                let mut out = std::io::stdout().lock();
                let _ = writeln!(out, "STATS {sessions} {caps} {callbacks} {hangs} {tasks}");
                let _ = out.flush();
            }
            line.clear();
        }
        std::process::exit(0);
    });
    runtime.block_on(serve(kind)).map_err(|e| e.to_string())
}

fn announce(listener: &TcpListener) -> std::io::Result<()> {
    let port = listener.local_addr()?.port();
    let mut out = std::io::stdout();
    writeln!(out, "LISTENING {port}")?;
    out.flush()
}

fn make_main() -> Stub {
    BenchApiClient::new(Api).into()
}

async fn serve(kind: ServerKind) -> Result<(), Box<dyn std::error::Error>> {
    match kind {
        ServerKind::OursHttp => {
            let listener = TcpListener::bind("127.0.0.1:0").await?;
            announce(&listener)?;
            Server::builder(|_| make_main())
                .listen(listener)?
                .run_until_stopped()
                .await;
        }
        ServerKind::OursSoak => {
            let listener = TcpListener::bind("127.0.0.1:0").await?;
            announce(&listener)?;
            Server::builder(|_| SoakApiClient::new(SoakMain::new()).into())
                .listen(listener)?
                .run_until_stopped()
                .await;
        }
        ServerKind::OursWs => {
            let listener = TcpListener::bind("127.0.0.1:0").await?;
            announce(&listener)?;
            let config = websocket::config(&SessionOptions::default());
            loop {
                let (stream, _) = listener.accept().await?;
                stream.set_nodelay(true)?;
                tokio::spawn(async move {
                    if let Ok(ws) =
                        tokio_tungstenite::accept_async_with_config(stream, Some(config)).await
                    {
                        let session = capnweb_runtime::Session::new(
                            WebSocketTransport::new(ws),
                            Some(make_main()),
                        );
                        // Kept alive by its own end callback rather than by this task, as our
                        // `Server` keeps its sessions: an idle session holds no task.
                        let keep = session.clone();
                        session.on_broken(move |_| drop(keep)).keep();
                    }
                });
            }
        }
        ServerKind::Jsonrpsee => serve_jsonrpsee().await?,
        ServerKind::Raw | ServerKind::RawBatched | ServerKind::RawSmallBuffer => {
            let listener = TcpListener::bind("127.0.0.1:0").await?;
            announce(&listener)?;
            let batched = kind == ServerKind::RawBatched;
            let config = (kind == ServerKind::RawSmallBuffer)
                .then(|| WebSocketConfig::default().read_buffer_size(4096));
            loop {
                let (stream, _) = listener.accept().await?;
                stream.set_nodelay(true)?;
                tokio::spawn(async move {
                    if let Ok(ws) =
                        tokio_tungstenite::accept_async_with_config(stream, config).await
                    {
                        let _ = if batched {
                            echo_batched(ws).await
                        } else {
                            echo_each(ws).await
                        };
                    }
                });
            }
        }
    }
    Ok(())
}

type Ws = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;
type WsResult = Result<(), tokio_tungstenite::tungstenite::Error>;

/// Echoes every data frame with its own write (flush).
async fn echo_each(mut ws: Ws) -> WsResult {
    while let Some(message) = ws.next().await {
        let message = message?;
        if message.is_text() || message.is_binary() {
            ws.send(message).await?;
        }
    }
    Ok(())
}

/// Echoes every frame that is ready, then flushes once.
async fn echo_batched(mut ws: Ws) -> WsResult {
    while let Some(message) = ws.next().await {
        let message = message?;
        if message.is_text() || message.is_binary() {
            ws.feed(message).await?;
        }
        while let Some(Some(more)) = ws.next().now_or_never() {
            let more = more?;
            if more.is_text() || more.is_binary() {
                ws.feed(more).await?;
            }
        }
        ws.flush().await?;
    }
    Ok(())
}

async fn serve_jsonrpsee() -> Result<(), Box<dyn std::error::Error>> {
    let config = jsonrpsee::server::ServerConfig::builder()
        .max_connections(20_000)
        .build();
    let server = jsonrpsee::server::Server::builder()
        .set_config(config)
        .build("127.0.0.1:0")
        .await?;
    let mut module = RpcModule::new(());
    module.register_method("add", |params, _, _| {
        let (a, b): (i64, i64) = params.parse()?;
        Ok::<i64, ErrorObjectOwned>(a + b)
    })?;
    module.register_method("echo", |params, _, _| {
        let (value,): (serde_json::Value,) = params.parse()?;
        Ok::<serde_json::Value, ErrorObjectOwned>(value)
    })?;
    let port = server.local_addr()?.port();
    let handle = server.start(module);
    let mut out = std::io::stdout();
    writeln!(out, "LISTENING {port}")?;
    out.flush()?;
    handle.stopped().await;
    Ok(())
}
