//! [`RpcService`]: WebSocket upgrades and HTTP batch POSTs on one path, as a tower `Service`.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use ::http::header::{
    ALLOW, CONNECTION, CONTENT_LENGTH, CONTENT_TYPE, HeaderMap, HeaderValue, SEC_WEBSOCKET_ACCEPT,
    SEC_WEBSOCKET_KEY, SEC_WEBSOCKET_PROTOCOL, SEC_WEBSOCKET_VERSION, UPGRADE,
};
use ::http::{Method, Request, Response, StatusCode};
use bytes::Bytes;
use http_body::Body;
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper_util::rt::TokioIo;

use super::refusal::Admit;
use super::server::MakeMain;
use super::shutdown::Shutdown;
use super::{PeerAddr, SessionContext, SessionKind};
use crate::batch::{BatchServerOptions, handle_batch};
use crate::session::Session;
use crate::transport::websocket;

/// Serves Cap'n Web on whatever path it is mounted at: a WebSocket upgrade (`GET` with
/// `Upgrade: websocket`) starts a long-lived session, a `POST` is one HTTP batch, anything else
/// gets `405`. Every session gets a fresh main object.
///
/// [`Server`](crate::Server) runs one on its own port. To mount it in a router of your own,
/// make it with [`ServerBuilder::into_service`](crate::ServerBuilder::into_service): it is a
/// tower `Service` for any request body (axum: `Router::route_service("/rpc", service)`, or
/// `RpcService::router`). WebSocket upgrades need a server that supports them (hyper with
/// `with_upgrades()`, as `axum::serve` does); [`RpcService::shutdown`] closes the WebSocket
/// sessions it started, which outlive the HTTP connection they came in on.
///
/// Batch answers follow [`crate::batch::BatchReply`]: `200` with the messages, `400` with the
/// reason when the client's input aborted the session, `413` for a body over the limit, `500`
/// otherwise.
#[derive(Clone)]
pub struct RpcService {
    make_main: Arc<MakeMain>,
    /// Decides whether a request may start a session at all (`ServerBuilder::admit`).
    admit: Option<Arc<Admit>>,
    options: Arc<BatchServerOptions>,
    shutdown: Arc<Shutdown>,
    /// WebSocket subprotocols we speak, in order of preference.
    subprotocols: Arc<[String]>,
}

impl RpcService {
    pub(crate) fn new(
        make_main: Arc<MakeMain>,
        admit: Option<Arc<Admit>>,
        options: BatchServerOptions,
        shutdown: Arc<Shutdown>,
        subprotocols: Vec<String>,
    ) -> Self {
        RpcService {
            make_main,
            admit,
            options: Arc::new(options),
            shutdown,
            subprotocols: subprotocols.into(),
        }
    }

    /// Closes the WebSocket sessions this service started, gracefully (as
    /// [`Server::shutdown`](crate::Server::shutdown) does), and refuses new ones. Call it
    /// when the router it is mounted in shuts down.
    pub async fn shutdown(&self) {
        self.shutdown.begin();
        self.shutdown.idle().await;
    }

    /// Answers one request.
    pub async fn handle<B>(&self, request: Request<B>) -> Response<Full<Bytes>>
    where
        B: Body + Send + 'static,
        B::Data: Send,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        if header_has_token(request.headers(), &UPGRADE, "websocket") {
            return self.upgrade(request);
        }
        if request.method() != Method::POST {
            let mut response = text(405, "This endpoint only accepts POST requests.");
            response
                .headers_mut()
                .insert(ALLOW, HeaderValue::from_static("POST"));
            return response;
        }
        let limit = self.options.max_body_bytes;
        let declared = request
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
        if declared.is_some_and(|len| len > limit as u64) {
            return too_large(limit);
        }
        let context = SessionContext::new(
            SessionKind::HttpBatch,
            request.headers().clone(),
            peer_addr(&request),
        );
        if let Err(refusal) = self.admitted(&context) {
            return refusal.into_response();
        }
        let body = match Limited::new(request.into_body(), limit).collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => return too_large(limit),
            Err(e) => return text(400, format!("could not read the request body: {e}")),
        };
        let main = (self.make_main)(&context);
        let reply = handle_batch(&body, main, &self.options).await;
        text(reply.status, reply.body)
    }

    /// Completes a WebSocket handshake (RFC 6455) and starts the session on the upgraded
    /// connection once hyper hands it over.
    fn upgrade<B>(&self, mut request: Request<B>) -> Response<Full<Bytes>> {
        let headers = request.headers();
        if request.method() != Method::GET || !header_has_token(headers, &CONNECTION, "upgrade") {
            return text(
                400,
                "bad WebSocket handshake: expected GET with Connection: upgrade",
            );
        }
        if headers
            .get(SEC_WEBSOCKET_VERSION)
            .map(HeaderValue::as_bytes)
            != Some(b"13")
        {
            let mut response = text(426, "only WebSocket version 13 is supported");
            response
                .headers_mut()
                .insert(SEC_WEBSOCKET_VERSION, HeaderValue::from_static("13"));
            return response;
        }
        let Some(key) = headers.get(SEC_WEBSOCKET_KEY) else {
            return text(400, "bad WebSocket handshake: no Sec-WebSocket-Key");
        };
        let accept = tokio_tungstenite::tungstenite::handshake::derive_accept_key(key.as_bytes());
        let subprotocol = self.choose_subprotocol(headers);
        if self.shutdown.has_begun() {
            return text(503, "the server is shutting down");
        }
        let context =
            SessionContext::new(SessionKind::WebSocket, headers.clone(), peer_addr(&request));
        if let Err(refusal) = self.admitted(&context) {
            return refusal.into_response();
        }
        let Some(on_upgrade) = request
            .extensions_mut()
            .remove::<hyper::upgrade::OnUpgrade>()
        else {
            return text(500, "this HTTP server does not support connection upgrades");
        };
        let main = (self.make_main)(&context);
        let options = self.options.session.clone();
        let shutdown = self.shutdown.clone();
        self.shutdown.spawn(async move {
            match on_upgrade.await {
                Ok(upgraded) => {
                    let transport =
                        websocket::server_transport(TokioIo::new(upgraded), &options).await;
                    let session = Session::builder()
                        .main(main)
                        .options(options)
                        .on_start(move |session| context.session_started(session))
                        .start(transport);
                    // Tracked without a task of its own (an idle session then costs none).
                    shutdown.track(session);
                }
                Err(e) => tracing::debug!("capnweb: WebSocket upgrade failed: {e}"),
            }
        });
        let mut response = Response::new(Full::new(Bytes::new()));
        *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
        let headers = response.headers_mut();
        headers.insert(CONNECTION, HeaderValue::from_static("upgrade"));
        headers.insert(UPGRADE, HeaderValue::from_static("websocket"));
        if let Ok(accept) = HeaderValue::from_str(&accept) {
            headers.insert(SEC_WEBSOCKET_ACCEPT, accept);
        }
        if let Some(chosen) = subprotocol.and_then(|p| HeaderValue::from_str(p).ok()) {
            headers.insert(SEC_WEBSOCKET_PROTOCOL, chosen);
        }
        response
    }

    /// The verdict of the application's admission check, if it has one.
    fn admitted(&self, context: &SessionContext) -> Result<(), super::Refusal> {
        let Some(admit) = &self.admit else {
            return Ok(());
        };
        // Application code: a panic refuses this request, not the whole connection task.
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| admit(context))).unwrap_or_else(
            |_| {
                tracing::error!("capnweb: the admission check panicked; the request is refused");
                Err(super::Refusal::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "the server's admission check failed",
                ))
            },
        )
    }

    /// The first of our subprotocols the client offered (RFC 6455 section 4.2.2). When it
    /// offered only others, none is named and the client decides (browsers then give up).
    fn choose_subprotocol(&self, headers: &HeaderMap) -> Option<&str> {
        let offered: Vec<&str> = headers
            .get_all(SEC_WEBSOCKET_PROTOCOL)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|list| list.split(','))
            .map(str::trim)
            .collect();
        self.subprotocols
            .iter()
            .map(String::as_str)
            .find(|ours| offered.contains(ours))
    }

    /// This service as an axum `Router` that serves it at `path` (WebSocket and batch), to
    /// `merge` into an application's router or serve with `axum::serve`.
    #[cfg(feature = "axum")]
    pub fn router(self, path: &str) -> axum::Router {
        axum::Router::new().route_service(path, self)
    }
}

impl<B> tower_service::Service<Request<B>> for RpcService
where
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let service = self.clone();
        Box::pin(async move { Ok(service.handle(request).await) })
    }
}

/// Runs a WebSocket session until it ends, or until shutdown: then calls in flight may finish
/// until the deadline, and the session closes with code 1001.
/// The client's address, from our own server or from axum's `ConnectInfo`.
fn peer_addr<B>(request: &Request<B>) -> Option<std::net::SocketAddr> {
    let extensions = request.extensions();
    if let Some(PeerAddr(addr)) = extensions.get::<PeerAddr>() {
        return Some(*addr);
    }
    #[cfg(feature = "axum")]
    if let Some(axum::extract::ConnectInfo(addr)) =
        extensions.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
    {
        return Some(*addr);
    }
    None
}

/// Whether a comma-separated header (such as `Connection: keep-alive, Upgrade`) holds `token`.
fn header_has_token(headers: &HeaderMap, name: &::http::HeaderName, token: &str) -> bool {
    headers.get_all(name).iter().any(|value| {
        value.to_str().is_ok_and(|v| {
            v.split(',')
                .any(|item| item.trim().eq_ignore_ascii_case(token))
        })
    })
}

fn too_large(limit: usize) -> Response<Full<Bytes>> {
    text(
        413,
        format!("the request body exceeds the limit of {limit} bytes"),
    )
}

/// A `text/plain` response (the content type `fetch` gives capnweb's string bodies).
fn text(status: u16, body: impl Into<String>) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body.into())));
    *response.status_mut() =
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain;charset=UTF-8"),
    );
    response
}
