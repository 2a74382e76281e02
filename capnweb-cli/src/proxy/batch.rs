//! Forwarding an HTTP request (an HTTP batch: one message per line each way), logging the
//! messages, relaying the server's status, headers and body unchanged.

use std::sync::Arc;

use bytes::Bytes;
use http::header::{CONNECTION, CONTENT_LENGTH};
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;

use super::log::{Direction, SessionTag};
use super::{Proxy, bad_gateway, forwarded_headers};

/// Forwards one request and returns the server's response.
pub async fn forward(proxy: &Arc<Proxy>, request: Request<Incoming>) -> Response<Full<Bytes>> {
    let session = proxy.next_session("batch");
    let (parts, body) = request.into_parts();
    let path = proxy
        .upstream
        .path_for(parts.uri.path_and_query().map(|p| p.as_str()));
    proxy.log.event(
        &session,
        &format!(
            "{} {} -> {}{path}",
            parts.method, parts.uri, proxy.upstream.authority
        ),
    );
    let body = match body.collect().await {
        Ok(body) => body.to_bytes(),
        Err(e) => return failed(proxy, &session, format!("reading the request failed: {e}")),
    };
    log_lines(proxy, &session, Direction::ToServer, &body);

    let mut upstream_request = Request::new(Full::new(body));
    *upstream_request.method_mut() = parts.method;
    *upstream_request.uri_mut() = match path.parse() {
        Ok(uri) => uri,
        Err(e) => return failed(proxy, &session, format!("bad path {path:?}: {e}")),
    };
    *upstream_request.headers_mut() = forwarded_headers(
        &parts.headers,
        &proxy.upstream.authority,
        &[CONNECTION.as_str(), CONTENT_LENGTH.as_str()],
    );

    let response = match exchange(proxy, upstream_request).await {
        Ok(response) => response,
        Err(message) => return failed(proxy, &session, message),
    };
    let (parts, body) = response.into_parts();
    let body = match body.collect().await {
        Ok(body) => body.to_bytes(),
        Err(e) => return failed(proxy, &session, format!("reading the response failed: {e}")),
    };
    if parts.status.is_success() {
        log_lines(proxy, &session, Direction::ToClient, &body);
    } else {
        proxy.log.event(
            &session,
            &format!(
                "response {}: {}",
                parts.status,
                String::from_utf8_lossy(&body)
            ),
        );
    }
    proxy.log.event(
        &session,
        &format!("ended with status {}", parts.status.as_u16()),
    );
    let mut relayed = Response::new(Full::new(body));
    *relayed.status_mut() = parts.status;
    *relayed.headers_mut() = parts.headers;
    for hop in [CONNECTION, CONTENT_LENGTH, http::header::TRANSFER_ENCODING] {
        relayed.headers_mut().remove(hop);
    }
    relayed
}

/// Sends `request` over a new connection and returns the response.
async fn exchange(
    proxy: &Proxy,
    request: Request<Full<Bytes>>,
) -> Result<Response<Incoming>, String> {
    let io = proxy.upstream.open().await?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(io))
        .await
        .map_err(|e| format!("HTTP with {} failed: {e}", proxy.upstream.authority))?;
    tokio::spawn(connection);
    sender
        .send_request(request)
        .await
        .map_err(|e| format!("the request to {} failed: {e}", proxy.upstream.authority))
}

/// Logs each line of a batch body as one message.
fn log_lines(proxy: &Proxy, session: &SessionTag, direction: Direction, body: &Bytes) {
    let text = String::from_utf8_lossy(body);
    for line in text.split('\n').filter(|line| !line.is_empty()) {
        proxy.log.message(session, direction, line);
    }
}

fn failed(proxy: &Proxy, session: &SessionTag, message: String) -> Response<Full<Bytes>> {
    proxy.log.event(session, &format!("failed: {message}"));
    bad_gateway(message)
}
