//! A certificate authority made at test time and a server certificate it signed (for the TLS
//! tests; also compiled into the `native_roots` test binary).

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use capnweb_runtime::tls::{self, rustls};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose, SanType,
};

/// A certificate authority and a server certificate it signed for `localhost` and 127.0.0.1.
pub struct Pki {
    pub ca_pem: String,
    pub server: Arc<rustls::ServerConfig>,
    pub cert_pem: String,
    pub key_pem: String,
}

pub fn make_pki() -> Pki {
    let mut ca_params = CertificateParams::new(Vec::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    // Distinct names: OpenSSL (Node) takes a leaf whose issuer is its own name for self-signed.
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "capnweb-rs test CA");
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_key = KeyPair::generate().unwrap();
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);

    let mut params = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    params
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    params
        .subject_alt_names
        .push(SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)));
    let key = KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, &issuer).unwrap();
    let server =
        tls::server_config_from_pem(cert.pem().as_bytes(), key.serialize_pem().as_bytes()).unwrap();
    Pki {
        ca_pem: ca.pem(),
        server,
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    }
}
