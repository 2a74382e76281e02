//! Opening a session from the command line's URL and options.

use std::sync::Arc;

use capnweb_runtime::batch::BatchSession;
use capnweb_runtime::http::BatchClient;
use capnweb_runtime::tls::{self, rustls::ClientConfig};
use capnweb_runtime::transport::websocket::Connector;
use capnweb_runtime::{Session, Stub};

use crate::args::{ConnectArgs, Transport};
use crate::failure::Failure;

/// A session to the server: a WebSocket, or one HTTP batch.
pub enum Connection {
    /// A WebSocket session.
    WebSocket(Session),
    /// An HTTP batch, sent when the first result is awaited.
    Batch(BatchSession),
}

impl Connection {
    /// The server's main object.
    pub fn main(&self) -> Stub {
        match self {
            Connection::WebSocket(session) => session.main(),
            Connection::Batch(batch) => batch.main(),
        }
    }

    /// Ends the session, letting what is queued (releases) reach the server first.
    pub async fn close(self) {
        if let Connection::WebSocket(session) = self {
            session.close_and_wait().await;
        }
    }
}

/// The transport for `url`, from `--transport` or the scheme, and the URL to use for it.
pub fn choose(url: &str, flag: Option<Transport>) -> Result<(Transport, String), Failure> {
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| Failure::Usage(format!("{url:?} is not a URL like ws://host:port/path")))?;
    let (by_scheme, secure) = match scheme.to_ascii_lowercase().as_str() {
        "ws" => (Transport::Ws, false),
        "wss" => (Transport::Ws, true),
        "http" => (Transport::Batch, false),
        "https" => (Transport::Batch, true),
        other => {
            return Err(Failure::Usage(format!(
                "unsupported scheme {other:?} in {url:?}: use ws, wss, http or https"
            )));
        }
    };
    let transport = flag.unwrap_or(by_scheme);
    let scheme = match (transport, secure) {
        (Transport::Ws, false) => "ws",
        (Transport::Ws, true) => "wss",
        (Transport::Batch, false) => "http",
        (Transport::Batch, true) => "https",
    };
    Ok((transport, format!("{scheme}://{rest}")))
}

/// `Name: value` split in two.
pub fn header(text: &str) -> Result<(String, String), Failure> {
    let (name, value) = text
        .split_once(':')
        .ok_or_else(|| Failure::Usage(format!("header {text:?} is not `Name: value`")))?;
    let name = name.trim();
    if name.is_empty() {
        return Err(Failure::Usage(format!("header {text:?} has no name")));
    }
    Ok((name.to_owned(), value.trim().to_owned()))
}

/// The TLS configuration: the `--ca-cert` authority, else the system's store, else the
/// webpki roots.
pub fn tls_config(ca_cert: Option<&std::path::Path>) -> Result<Arc<ClientConfig>, Failure> {
    match ca_cert {
        Some(path) => {
            let pem = std::fs::read(path).map_err(|e| {
                Failure::Usage(format!(
                    "cannot read the CA certificate {}: {e}",
                    path.display()
                ))
            })?;
            tls::client_config_trusting(&pem)
                .map_err(|e| Failure::Usage(format!("{}: {}", path.display(), e.message())))
        }
        None => {
            Ok(tls::native_roots_client_config().unwrap_or_else(|_| tls::default_client_config()))
        }
    }
}

/// Opens the session (a WebSocket connects now; a batch connects when it is sent).
pub async fn connect(url: &str, args: &ConnectArgs) -> Result<Connection, Failure> {
    let (transport, url) = choose(url, args.transport)?;
    let headers = args
        .headers
        .iter()
        .map(|h| header(h))
        .collect::<Result<Vec<_>, _>>()?;
    let secure = url.starts_with("wss:") || url.starts_with("https:");
    match transport {
        Transport::Ws => {
            let mut connector = Connector::new(url).connect_timeout(args.timeout);
            if secure {
                connector = connector.tls_config(tls_config(args.ca_cert.as_deref())?);
            }
            for (name, value) in headers {
                connector = connector.header(name, value);
            }
            Ok(Connection::WebSocket(connector.connect().await?))
        }
        Transport::Batch => {
            let mut client = BatchClient::new(&url)
                .map_err(|e| Failure::Usage(e.message()))?
                .connect_timeout(args.timeout)
                .timeout(args.timeout);
            if secure {
                client = client.tls_config(tls_config(args.ca_cert.as_deref())?);
            }
            for (name, value) in headers {
                client = client
                    .header(&name, &value)
                    .map_err(|e| Failure::Usage(e.message()))?;
            }
            Ok(Connection::Batch(client.session()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transport_from_scheme_or_flag() {
        let pick = |url, flag| choose(url, flag).map_err(|e| e.report(false));
        assert_eq!(
            pick("ws://h:1/p", None).unwrap(),
            (Transport::Ws, "ws://h:1/p".into())
        );
        assert_eq!(
            pick("HTTPS://h/", None).unwrap(),
            (Transport::Batch, "https://h/".into())
        );
        assert_eq!(
            pick("wss://h/", Some(Transport::Batch)).unwrap(),
            (Transport::Batch, "https://h/".into())
        );
        assert_eq!(
            pick("http://h/", Some(Transport::Ws)).unwrap(),
            (Transport::Ws, "ws://h/".into())
        );
        assert!(
            pick("ftp://h/", None)
                .unwrap_err()
                .contains("unsupported scheme")
        );
        assert!(pick("h:1", None).is_err());
    }

    #[test]
    fn headers() {
        assert_eq!(
            header("Authorization: Bearer x").unwrap(),
            ("Authorization".into(), "Bearer x".into())
        );
        assert!(header("nocolon").is_err());
        assert!(header(": v").is_err());
    }
}
