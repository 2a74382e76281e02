//! The HTTP batch client: POSTs a batch to a URL with hyper's connection-pooling client.

use std::time::Duration;

use ::http::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use ::http::{Request, Uri};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
#[cfg(not(feature = "tls"))]
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use crate::batch::BatchSession;
use crate::error::RpcError;
use crate::session::SessionOptions;

/// Makes HTTP batches that POST to one URL (`http://`, or `https://` with the `tls` feature). Cheap to clone; clones share a
/// connection pool, so consecutive batches reuse a connection.
///
/// ```no_run
/// # async fn example() -> Result<(), capnweb_runtime::RpcError> {
/// use capnweb_runtime::http::BatchClient;
///
/// let client = BatchClient::new("http://127.0.0.1:8080/rpc")?
///     .header("authorization", "Bearer t")?;
/// let batch = client.session();
/// let sum: f64 = batch.main().call("add", (2, 3)).typed().await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct BatchClient {
    uri: Uri,
    headers: HeaderMap,
    options: SessionOptions,
    timeout: Option<Duration>,
    connect_timeout: Option<Duration>,
    #[cfg(feature = "tls")]
    tls: std::sync::Arc<crate::tls::rustls::ClientConfig>,
    client: Client<Connector, Full<Bytes>>,
}

/// Plain TCP, or with the `tls` feature TCP then TLS for `https://`.
#[cfg(not(feature = "tls"))]
type Connector = HttpConnector;
#[cfg(feature = "tls")]
type Connector = super::connector::Connector;

impl BatchClient {
    /// A client for the batch endpoint at `url`: `http://`, or with the `tls` feature
    /// `https://` (trusting the webpki roots; see `BatchClient::tls_config`). For anything
    /// else carry the request yourself with [`BatchSession::new`].
    pub fn new(url: &str) -> Result<BatchClient, RpcError> {
        let uri: Uri = url
            .parse()
            .map_err(|e| RpcError::connect_failed(format!("invalid batch URL {url:?}: {e}")))?;
        let supported = match uri.scheme_str() {
            Some("https") => cfg!(feature = "tls"),
            other => other == Some("http"),
        };
        if !supported || uri.authority().is_none() {
            return Err(RpcError::connect_failed(format!(
                "unsupported batch URL {url:?}: expected http://host[:port]/path, or https:// \
                 with the `tls` feature (or use BatchSession::new with your own HTTP client)"
            )));
        }
        #[cfg(feature = "tls")]
        let tls = crate::tls::default_client_config();
        let client = pooled_client(
            #[cfg(feature = "tls")]
            tls.clone(),
            None,
        );
        Ok(BatchClient {
            uri,
            headers: HeaderMap::new(),
            options: SessionOptions::default(),
            timeout: None,
            connect_timeout: None,
            #[cfg(feature = "tls")]
            tls,
            client,
        })
    }

    /// A new pool for the current connection settings.
    fn rebuild(&mut self) {
        self.client = pooled_client(
            #[cfg(feature = "tls")]
            self.tls.clone(),
            self.connect_timeout,
        );
    }

    /// The TLS configuration for an `https://` URL (default: the webpki roots).
    #[cfg(feature = "tls")]
    pub fn tls_config(mut self, config: std::sync::Arc<crate::tls::rustls::ClientConfig>) -> Self {
        self.tls = config;
        self.rebuild();
        self
    }

    /// Gives up on opening a connection (TCP connect) after `timeout`, failing the batch with
    /// [`RpcError::Connect`]. Without one (the default) the operating system decides.
    ///
    /// ```
    /// # fn example() -> Result<(), capnweb_runtime::RpcError> {
    /// use std::time::Duration;
    /// use capnweb_runtime::http::BatchClient;
    ///
    /// let client = BatchClient::new("http://127.0.0.1:8080/rpc")?
    ///     .connect_timeout(Duration::from_secs(2))
    ///     .timeout(Duration::from_secs(10));
    /// # Ok(()) }
    /// ```
    pub fn connect_timeout(mut self, timeout: Duration) -> BatchClient {
        self.connect_timeout = Some(timeout);
        self.rebuild();
        self
    }

    /// Adds a header to every request (authentication, say).
    pub fn header(mut self, name: &str, value: &str) -> Result<BatchClient, RpcError> {
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|e| RpcError::Serialization(format!("invalid header name {name:?}: {e}")))?;
        let value = HeaderValue::from_str(value)
            .map_err(|e| RpcError::Serialization(format!("invalid header value: {e}")))?;
        self.headers.append(name, value);
        Ok(self)
    }

    /// `Authorization: Bearer <token>` on every request.
    pub fn bearer_token(self, token: impl std::fmt::Display) -> Result<BatchClient, RpcError> {
        self.header("authorization", &format!("Bearer {token}"))
    }

    /// Sets the options of the sessions this client makes (limits on what the server sends).
    pub fn session_options(mut self, options: SessionOptions) -> BatchClient {
        self.options = options;
        self
    }

    /// Gives up on a request (and fails every call of its batch with [`RpcError::Timeout`])
    /// once `timeout` has passed without a complete response. Without one (the default) a batch waits as long as the
    /// server takes: capnweb's server answers only when every pulled result is ready.
    pub fn timeout(mut self, timeout: Duration) -> BatchClient {
        self.timeout = Some(timeout);
        self
    }

    /// A new batch. See [`BatchSession`] for when its request goes out. Needs a tokio runtime.
    pub fn session(&self) -> BatchSession {
        let client = self.clone();
        BatchSession::new(
            move |body| async move { client.post(body).await },
            self.options.clone(),
        )
    }

    /// POSTs one batch body and returns the response body, as capnweb's client does: a
    /// `text/plain;charset=UTF-8` body, and any non-2xx status is a failure,
    /// `BatchEnded("RPC request failed: <status> <statusText>")`. A connection that cannot be
    /// opened is [`RpcError::Connect`], one lost during the request
    /// [`RpcError::Disconnected`], no answer within the timeout [`RpcError::Timeout`]: the
    /// transport failures [`reconnect::retry`](crate::reconnect::retry) retries.
    ///
    /// [`BatchClient::session`] uses this; call it yourself to wrap a batch's request (logging,
    /// retries) in [`BatchSession::new`].
    pub async fn post(&self, body: String) -> Result<String, RpcError> {
        match self.timeout {
            Some(limit) => tokio::time::timeout(limit, self.exchange(body))
                .await
                .unwrap_or(Err(RpcError::Timeout)),
            None => self.exchange(body).await,
        }
    }

    async fn exchange(&self, body: String) -> Result<String, RpcError> {
        let mut request = Request::post(self.uri.clone())
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| RpcError::connect_failed(describe(&e)))?;
        let headers = request.headers_mut();
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("text/plain;charset=UTF-8"),
        );
        for (name, value) in &self.headers {
            headers.append(name, value.clone());
        }
        let response = self.client.request(request).await.map_err(|e| {
            if e.is_connect() {
                RpcError::connect_failed_by(describe(&e), e)
            } else {
                RpcError::disconnected_by(describe(&e), e)
            }
        })?;
        let status = response.status();
        if !status.is_success() {
            // hyper keeps the reason phrase only when it is not the standard one.
            let reason = response
                .extensions()
                .get::<hyper::ext::ReasonPhrase>()
                .map(|r| String::from_utf8_lossy(r.as_bytes()).into_owned())
                .or_else(|| status.canonical_reason().map(str::to_owned))
                .unwrap_or_default();
            return Err(RpcError::BatchEnded(format!(
                "RPC request failed: {} {reason}",
                status.as_u16()
            )));
        }
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| RpcError::disconnected(describe(&e)))?
            .to_bytes();
        String::from_utf8(Vec::from(body)).map_err(|_| {
            RpcError::BatchEnded("RPC request failed: the response is not valid UTF-8".into())
        })
    }
}

/// hyper's pooled client over our connector, with TCP_NODELAY (RPC messages are latency-bound).
fn pooled_client(
    #[cfg(feature = "tls")] tls: std::sync::Arc<crate::tls::rustls::ClientConfig>,
    connect_timeout: Option<Duration>,
) -> Client<Connector, Full<Bytes>> {
    #[cfg(not(feature = "tls"))]
    let mut connector = HttpConnector::new();
    #[cfg(feature = "tls")]
    let mut connector = Connector::new(tls);
    connector.set_nodelay(true);
    connector.set_connect_timeout(connect_timeout);
    Client::builder(TokioExecutor::new()).build(connector)
}

/// A batch that POSTs to `url` (plain `http://`): shorthand for
/// `BatchClient::new(url)?.session()`. Needs a tokio runtime.
pub fn batch_session(url: &str) -> Result<BatchSession, RpcError> {
    Ok(BatchClient::new(url)?.session())
}

/// What went wrong with a request, with every cause (hyper's own message alone is often
/// just "client error (Connect)").
fn describe(error: &(dyn std::error::Error + 'static)) -> String {
    let mut message = format!("RPC request failed: {error}");
    let mut source = error.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}
