//! Forwarding a WebSocket: the upgrade request goes to the server as it came (the client's
//! key, so the server's accept is valid for the client too); once both sides have switched
//! protocols, messages are relayed unchanged and logged.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{Sink, SinkExt, Stream, StreamExt};
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::Incoming;
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use super::log::{Direction, SessionTag};
use super::{Proxy, bad_gateway, forwarded_headers};

/// How long the other direction may still run once one has ended (to pass the close
/// handshake on).
const CLOSE_GRACE: Duration = Duration::from_secs(1);

/// Forwards the upgrade; on success relays the session on a task of its own.
pub async fn forward(proxy: &Arc<Proxy>, mut request: Request<Incoming>) -> Response<Full<Bytes>> {
    let session = proxy.next_session("ws");
    let path = proxy
        .upstream
        .path_for(request.uri().path_and_query().map(|p| p.as_str()));
    proxy.log.event(
        &session,
        &format!(
            "WebSocket {} -> {}{path}",
            request.uri(),
            proxy.upstream.authority
        ),
    );
    let client_upgrade = hyper::upgrade::on(&mut request);

    let mut upstream_request = Request::new(Empty::<Bytes>::new());
    *upstream_request.method_mut() = request.method().clone();
    *upstream_request.uri_mut() = match path.parse() {
        Ok(uri) => uri,
        Err(e) => return failed(proxy, &session, format!("bad path {path:?}: {e}")),
    };
    *upstream_request.headers_mut() = forwarded_headers(
        request.headers(),
        &proxy.upstream.authority,
        &["sec-websocket-extensions"],
    );
    let io = match proxy.upstream.open().await {
        Ok(io) => io,
        Err(message) => return failed(proxy, &session, message),
    };
    let (mut sender, connection) =
        match hyper::client::conn::http1::handshake(TokioIo::new(io)).await {
            Ok(pair) => pair,
            Err(e) => return failed(proxy, &session, format!("HTTP with the server failed: {e}")),
        };
    tokio::spawn(connection.with_upgrades());
    let mut response = match sender.send_request(upstream_request).await {
        Ok(response) => response,
        Err(e) => return failed(proxy, &session, format!("the upgrade request failed: {e}")),
    };

    if response.status() != StatusCode::SWITCHING_PROTOCOLS {
        // Refused: relay the server's answer as it is.
        let status = response.status();
        let headers = response.headers().clone();
        let body = match response.into_body().collect().await {
            Ok(body) => body.to_bytes(),
            Err(e) => return failed(proxy, &session, format!("reading the refusal failed: {e}")),
        };
        proxy
            .log
            .event(&session, &format!("refused by the server: {status}"));
        let mut relayed = Response::new(Full::new(body));
        *relayed.status_mut() = status;
        *relayed.headers_mut() = headers;
        return relayed;
    }

    let server_upgrade = hyper::upgrade::on(&mut response);
    let mut accepted = Response::new(Full::new(Bytes::new()));
    *accepted.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    *accepted.headers_mut() = response.headers().clone();
    accepted.headers_mut().remove("sec-websocket-extensions");
    let proxy = proxy.clone();
    tokio::spawn(async move {
        let (client, server) = match tokio::try_join!(client_upgrade, server_upgrade) {
            Ok(pair) => pair,
            Err(e) => return proxy.log.event(&session, &format!("upgrade failed: {e}")),
        };
        relay(&proxy, &session, client, server).await;
    });
    accepted
}

/// Relays messages both ways until both sides have closed (or one has and the other did not
/// follow within [`CLOSE_GRACE`]).
async fn relay(proxy: &Proxy, session: &SessionTag, client: Upgraded, server: Upgraded) {
    proxy.log.event(session, "opened");
    let client = WebSocketStream::from_raw_socket(TokioIo::new(client), Role::Server, None).await;
    let server = WebSocketStream::from_raw_socket(TokioIo::new(server), Role::Client, None).await;
    let (to_client, from_client) = client.split();
    let (to_server, from_server) = server.split();
    let upward = pass(proxy, session, Direction::ToServer, from_client, to_server);
    let downward = pass(proxy, session, Direction::ToClient, from_server, to_client);
    tokio::pin!(upward, downward);
    tokio::select! {
        () = &mut upward => { let _ = tokio::time::timeout(CLOSE_GRACE, downward).await; }
        () = &mut downward => { let _ = tokio::time::timeout(CLOSE_GRACE, upward).await; }
    }
    proxy.log.event(session, "ended");
}

/// Passes messages from `from` to `to`, logging each, until `from` ends.
async fn pass(
    proxy: &Proxy,
    session: &SessionTag,
    direction: Direction,
    mut from: impl Stream<Item = Result<Message, WsError>> + Unpin,
    mut to: impl Sink<Message, Error = WsError> + Unpin,
) {
    while let Some(Ok(message)) = from.next().await {
        match &message {
            Message::Text(text) => proxy.log.message(session, direction, text.as_str()),
            Message::Binary(data) => proxy.log.event(
                session,
                &format!("{direction:?}: a binary message of {} bytes", data.len()),
            ),
            Message::Close(frame) => {
                let why = frame
                    .as_ref()
                    .map(|f| format!("{} {}", u16::from(f.code), f.reason))
                    .unwrap_or_else(|| "without a code".into());
                let who = match direction {
                    Direction::ToServer => "the client",
                    Direction::ToClient => "the server",
                };
                proxy.log.event(session, &format!("closed by {who}: {why}"));
            }
            Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => {}
        }
        if to.send(message).await.is_err() {
            break;
        }
    }
    let _ = to.close().await;
}

fn failed(proxy: &Proxy, session: &SessionTag, message: String) -> Response<Full<Bytes>> {
    proxy.log.event(session, &format!("failed: {message}"));
    bad_gateway(message)
}
