//! TLS on rustls (feature `tls`): `wss://` for [`Connector`](crate::transport::websocket::Connector)
//! and a TLS [`Server`](crate::Server). Configure either with a `rustls` config of your own
//! ([`rustls`] is re-exported, so the versions match), or take the defaults: the client trusts
//! the webpki roots (Mozilla's list; with feature `tls-native-roots`,
//! `native_roots_client_config` trusts the operating system's store instead), the server needs
//! a certificate chain and key.
//!
//! ```no_run
//! use capnweb_runtime::transport::websocket::Connector;
//! use capnweb_runtime::{Server, Stub, Value, tls};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! // Server: wss:// and https:// on one port.
//! let identity = tls::server_config_from_pem(
//!     &std::fs::read("cert.pem")?,
//!     &std::fs::read("key.pem")?,
//! )?;
//! let server = Server::builder(|_| Stub::from_fn(|_args: Vec<Value>| async { Ok(Value::Null) }))
//!     .tls(identity)
//!     .bind("0.0.0.0:8443")
//!     .await?;
//!
//! // Client: the public roots by default; a private authority like this.
//! let trust = tls::client_config_trusting(&std::fs::read("ca.pem")?)?;
//! let session = Connector::new("wss://rpc.example.com:8443/")
//!     .tls_config(trust)
//!     .connect()
//!     .await?;
//! # Ok(()) }
//! ```

use std::sync::Arc;

pub use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::error::RpcError;

/// The client configuration `wss://` uses unless given one: the webpki roots, no client
/// certificate.
pub fn default_client_config() -> Arc<rustls::ClientConfig> {
    let roots = rustls::RootCertStore::from_iter(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    client_config_with_roots(roots)
}

/// A client configuration that trusts exactly `roots` (a root store you assembled).
///
/// ```
/// use capnweb_runtime::tls::{self, rustls};
///
/// let mut roots = rustls::RootCertStore::empty();
/// roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()); // or certificates of your own
/// let config = tls::client_config_with_roots(roots);
/// ```
pub fn client_config_with_roots(roots: rustls::RootCertStore) -> Arc<rustls::ClientConfig> {
    Arc::new(
        rustls::ClientConfig::builder()
            .with_root_certificates(roots)
            .with_no_client_auth(),
    )
}

/// A client configuration that trusts the operating system's certificate store (feature
/// `tls-native-roots`), as `curl` or a browser would, including authorities an administrator
/// added. On Linux the `SSL_CERT_FILE` and `SSL_CERT_DIR` variables choose the store. Fails
/// when no certificate could be loaded; certificates that cannot be parsed are skipped.
///
/// ```no_run
/// # fn example() -> Result<(), capnweb_runtime::RpcError> {
/// use capnweb_runtime::tls;
/// use capnweb_runtime::transport::websocket::Connector;
///
/// let connector = Connector::new("wss://intranet.example/rpc")
///     .tls_config(tls::native_roots_client_config()?);
/// # Ok(()) }
/// ```
#[cfg(feature = "tls-native-roots")]
pub fn native_roots_client_config() -> Result<Arc<rustls::ClientConfig>, RpcError> {
    let found = rustls_native_certs::load_native_certs();
    let mut roots = rustls::RootCertStore::empty();
    let (_added, _skipped) = roots.add_parsable_certificates(found.certs);
    if roots.is_empty() {
        let why = found
            .errors
            .first()
            .map_or_else(|| "the store is empty".to_owned(), ToString::to_string);
        return Err(RpcError::connect_failed(format!(
            "TLS configuration: no usable certificate in the system's store ({why})"
        )));
    }
    Ok(client_config_with_roots(roots))
}

/// A client configuration that trusts exactly the certificates in `ca_pem` (PEM), e.g. a
/// private certificate authority.
pub fn client_config_trusting(ca_pem: &[u8]) -> Result<Arc<rustls::ClientConfig>, RpcError> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(ca_pem) {
        let cert = cert.map_err(|e| tls_error("a CA certificate is not valid PEM", e))?;
        roots
            .add(cert)
            .map_err(|e| tls_error("a CA certificate is not usable", e))?;
    }
    Ok(client_config_with_roots(roots))
}

/// A server configuration from a PEM certificate chain (leaf first) and its PEM private key.
pub fn server_config_from_pem(
    chain_pem: &[u8],
    key_pem: &[u8],
) -> Result<Arc<rustls::ServerConfig>, RpcError> {
    let chain = CertificateDer::pem_slice_iter(chain_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| tls_error("the certificate chain is not valid PEM", e))?;
    let key = PrivateKeyDer::from_pem_slice(key_pem)
        .map_err(|e| tls_error("the private key is not valid PEM", e))?;
    let config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| tls_error("the certificate and key do not make a server identity", e))?;
    Ok(Arc::new(config))
}

fn tls_error(what: &str, e: impl std::error::Error + Send + Sync + 'static) -> RpcError {
    RpcError::connect_failed_by(format!("TLS configuration: {what}: {e}"), e)
}
