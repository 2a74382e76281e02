//! The server the proxy forwards to: where it is, and a fresh connection to it (TCP, then TLS
//! for `wss://` and `https://`).

use std::sync::Arc;

use http::Uri;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::pki_types::ServerName;

use crate::failure::Failure;

/// A byte stream to the server, plain or TLS.
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// The server behind the proxy.
pub struct Upstream {
    host: String,
    port: u16,
    /// `host:port` as the `Host` header says it.
    pub authority: String,
    /// The path (and query) of the `--to` URL, unless it is `/`: it replaces the request's.
    path: Option<String>,
    tls: Option<(TlsConnector, ServerName<'static>)>,
}

impl Upstream {
    /// The server at `url` (ws, wss, http or https; WebSocket and batch go to the same host).
    pub fn parse(url: &str, ca_cert: Option<&std::path::Path>) -> Result<Upstream, Failure> {
        let bad = |why: &str| Failure::Usage(format!("--to {url:?}: {why}"));
        let uri: Uri = url.parse().map_err(|e| bad(&format!("not a URL ({e})")))?;
        let secure = match uri.scheme_str().map(str::to_ascii_lowercase).as_deref() {
            Some("ws" | "http") => false,
            Some("wss" | "https") => true,
            _ => return Err(bad("the scheme must be ws, wss, http or https")),
        };
        let host = uri.host().ok_or_else(|| bad("no host"))?;
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let port = uri.port_u16().unwrap_or(if secure { 443 } else { 80 });
        let authority = uri.authority().map(ToString::to_string).unwrap_or_default();
        let path = uri
            .path_and_query()
            .map(ToString::to_string)
            .filter(|p| p != "/" && !p.is_empty());
        let tls = if secure {
            let config = crate::connect::tls_config(ca_cert)?;
            let name = ServerName::try_from(host.clone())
                .map_err(|e| bad(&format!("not a TLS server name ({e})")))?;
            Some((TlsConnector::from(Arc::clone(&config)), name))
        } else {
            None
        };
        Ok(Upstream {
            host,
            port,
            authority,
            path,
            tls,
        })
    }

    /// The path to request: the `--to` URL's, or else the request's own.
    pub fn path_for(&self, requested: Option<&str>) -> String {
        self.path
            .clone()
            .or_else(|| requested.map(str::to_owned))
            .unwrap_or_else(|| "/".to_owned())
    }

    /// A new connection to the server.
    pub async fn open(&self) -> Result<Box<dyn Io>, String> {
        let tcp = TcpStream::connect((self.host.as_str(), self.port))
            .await
            .map_err(|e| format!("cannot connect to {}: {e}", self.authority))?;
        let _ = tcp.set_nodelay(true);
        match &self.tls {
            None => Ok(Box::new(tcp)),
            Some((connector, name)) => {
                let tls = connector
                    .connect(name.clone(), tcp)
                    .await
                    .map_err(|e| format!("TLS with {} failed: {e}", self.authority))?;
                Ok(Box::new(tls))
            }
        }
    }
}
