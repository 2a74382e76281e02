//! `capnweb proxy --listen ADDR --to URL`: a transparent WebSocket and HTTP batch proxy that
//! logs every message both ways.
//!
//! Each accepted HTTP/1.1 request is forwarded over a connection of its own to the server,
//! with its method, headers and body (the `Host` header names the server). A WebSocket
//! upgrade is forwarded as it is (minus `Sec-WebSocket-Extensions`, so that no compression is
//! negotiated and messages stay readable); once the server accepts it, messages are relayed
//! one by one, their bytes unchanged, and logged. Anything else (an HTTP batch POST) is read
//! whole, logged line by line, forwarded, and the response relayed with its status.

mod batch;
pub mod log;
mod upstream;
mod websocket;

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use bytes::Bytes;
use http::header::{CONNECTION, HOST, UPGRADE};
use http::{HeaderMap, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use self::log::{Log, SessionTag};
use self::upstream::Upstream;
use crate::failure::Failure;

/// What every connection handler shares.
struct Proxy {
    upstream: Upstream,
    log: Log,
    sessions: AtomicU64,
}

impl Proxy {
    fn next_session(&self, kind: &'static str) -> SessionTag {
        SessionTag {
            number: self.sessions.fetch_add(1, Ordering::Relaxed) + 1,
            kind,
            start: Instant::now(),
        }
    }
}

/// Runs the proxy until the process is stopped (Ctrl-C).
pub async fn run(
    listen: &str,
    to: &str,
    log: Box<dyn std::io::Write + Send>,
    ca_cert: Option<&std::path::Path>,
) -> Result<(), Failure> {
    let upstream = Upstream::parse(to, ca_cert)?;
    let listener = TcpListener::bind(listen)
        .await
        .map_err(|e| Failure::Usage(format!("cannot listen on {listen}: {e}")))?;
    let address = listener
        .local_addr()
        .map_err(|e| Failure::Other(format!("cannot read the listening address: {e}")))?;
    eprintln!("capnweb proxy: listening on {address}, forwarding to {to}");
    let proxy = Arc::new(Proxy {
        upstream,
        log: Log::new(log),
        sessions: AtomicU64::new(0),
    });
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = tokio::signal::ctrl_c() => return Ok(()),
        };
        let Ok((stream, _peer)) = accepted else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let proxy = proxy.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let proxy = proxy.clone();
                async move { Ok::<_, Infallible>(handle(&proxy, request).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades()
                .await;
        });
    }
}

/// One request: a WebSocket upgrade or a batch (anything else).
async fn handle(proxy: &Arc<Proxy>, request: Request<Incoming>) -> Response<Full<Bytes>> {
    if is_websocket_upgrade(request.headers()) {
        websocket::forward(proxy, request).await
    } else {
        batch::forward(proxy, request).await
    }
}

fn is_websocket_upgrade(headers: &HeaderMap) -> bool {
    let has = |name, token: &str| {
        headers.get_all(name).iter().any(|v| {
            v.to_str()
                .unwrap_or("")
                .split(',')
                .any(|t| t.trim().eq_ignore_ascii_case(token))
        })
    };
    has(UPGRADE, "websocket") && has(CONNECTION, "upgrade")
}

/// Copies `headers` for the server: `Host` names the server, and hop-by-hop headers (but the
/// upgrade's) are left out; `drop` names more to leave out.
fn forwarded_headers(headers: &HeaderMap, host: &str, drop: &[&str]) -> HeaderMap {
    let mut out = HeaderMap::new();
    for (name, value) in headers {
        let skip = name == HOST
            || [
                "keep-alive",
                "proxy-connection",
                "te",
                "trailer",
                "transfer-encoding",
            ]
            .contains(&name.as_str())
            || drop.contains(&name.as_str());
        if !skip {
            out.append(name.clone(), value.clone());
        }
    }
    if let Ok(host) = host.parse() {
        out.insert(HOST, host);
    }
    out
}

/// A `502 Bad Gateway` saying why the server could not be reached.
fn bad_gateway(message: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(message)));
    *response.status_mut() = StatusCode::BAD_GATEWAY;
    response
}
