//! Our combined server (WebSocket + HTTP batch on one path) serving the test API on 127.0.0.1,
//! and a raw HTTP/1.1 client for checking statuses and bodies byte for byte.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use capnweb_runtime::http::SessionKind;
use capnweb_runtime::{Server, ServerBuilder, Session, Stub};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::api::TestApi;

/// What a test-API service has served so far.
#[derive(Clone, Default)]
pub struct Served {
    batches: Arc<AtomicUsize>,
    sessions: Arc<Mutex<Vec<Session>>>,
}

impl Served {
    /// How many HTTP batches (POSTs that reached a session) were served.
    pub fn batches(&self) -> usize {
        self.batches.load(Ordering::SeqCst)
    }

    /// Every WebSocket session started so far.
    pub fn sessions(&self) -> Vec<Session> {
        self.sessions.lock().unwrap().clone()
    }
}

/// A server builder serving a fresh [`TestApi`] per session; WebSocket sessions get their
/// `Session` handle (for `stats()`), batches do not (`stats()` fails there, as on capnweb's
/// server).
pub fn test_api_builder() -> (ServerBuilder, Served) {
    let served = Served::default();
    let registry = served.clone();
    let builder = Server::builder(move |context| {
        let (api, slot) = TestApi::new();
        match context.kind() {
            SessionKind::WebSocket => {
                let sessions = registry.sessions.clone();
                context.on_session(move |session| {
                    let _ = slot.set(session.clone());
                    sessions.lock().unwrap().push(session.clone());
                });
            }
            _ => {
                registry.batches.fetch_add(1, Ordering::SeqCst);
            }
        }
        Stub::new(api)
    });
    (builder, served)
}

/// A running server; shuts down when dropped.
pub struct HttpServer {
    /// The port it listens on.
    pub port: u16,
    /// What it served.
    pub served: Served,
    server: Server,
}

impl HttpServer {
    /// Starts the server with default options.
    pub async fn start() -> HttpServer {
        HttpServer::start_with(|builder| builder).await
    }

    /// Starts the server configured by `configure`.
    pub async fn start_with(configure: impl FnOnce(ServerBuilder) -> ServerBuilder) -> HttpServer {
        let (builder, served) = test_api_builder();
        let server = configure(builder)
            .bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1");
        HttpServer {
            port: server.local_addr().port(),
            served,
            server,
        }
    }

    /// `http://127.0.0.1:<port>/rpc`
    pub fn batch_url(&self) -> String {
        format!("http://127.0.0.1:{}/rpc", self.port)
    }

    /// `ws://127.0.0.1:<port>/rpc`: the same path.
    pub fn ws_url(&self) -> String {
        format!("ws://127.0.0.1:{}/rpc", self.port)
    }

    /// Shuts the server down gracefully and waits until every task it started has ended.
    pub async fn stop(self) {
        self.server.shutdown().await;
    }
}

/// A response as it came off the wire.
#[derive(Debug)]
pub struct RawResponse {
    /// The status code.
    pub status: u16,
    /// Header names (lower-cased) and values, in order.
    pub headers: Vec<(String, String)>,
    /// The body, exactly.
    pub body: String,
}

impl RawResponse {
    /// The first value of header `name` (lower-case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Sends one HTTP/1.1 request (`Connection: close`) to 127.0.0.1:`port` and reads the whole
/// response (bounded at 5 s).
pub async fn raw_request(
    port: u16,
    method: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> RawResponse {
    let mut stream = TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    let mut head = format!(
        "{method} /rpc HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\nconnection: close\r\n\
         content-length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await.expect("write");
    stream.write_all(body).await.expect("write");
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut raw))
        .await
        .expect("the server did not finish its response within 5 s")
        .expect("read");
    let raw = String::from_utf8(raw).expect("a UTF-8 response");
    let (head, body) = raw.split_once("\r\n\r\n").expect("a complete response");
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    RawResponse {
        status,
        headers,
        body: body.to_owned(),
    }
}
