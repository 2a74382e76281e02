//! A client built to survive production: TLS (`wss://`), a bearer token, timeouts, keepalive,
//! and a session that reconnects on its own and logs every state change. Run with
//! `cargo run --example resilient_client`.
//!
//! To be self-contained, the program also runs the server it talks to, with a certificate
//! made at start-up, and restarts that server half-way so the client has something to
//! survive. Against a real deployment only the client half is needed: drop `trusting` and the
//! default (public) roots apply.

use std::sync::Arc;
use std::time::Duration;

use capnweb_runtime::reconnect::{Backoff, ConnectionState, ReconnectingSession, RetryPolicy};
use capnweb_runtime::tls::{self, rustls};
use capnweb_runtime::transport::websocket::Connector;
use capnweb_runtime::{
    RpcClient, RpcError, Server, SessionOptions, Stub, rpc_interface, rpc_target,
};

const TOKEN: &str = "s3cret-token";

/// What the server offers.
#[rpc_interface]
pub trait Inventory {
    /// How many of `item` are in stock (safe to repeat).
    async fn stock(&self, item: String) -> u32;
    /// A report that takes a while.
    async fn slow_report(&self) -> String;
}

struct Warehouse;

#[rpc_target]
impl Inventory for Warehouse {
    async fn stock(&self, item: String) -> u32 {
        item.len() as u32 * 7
    }

    async fn slow_report(&self) -> String {
        tokio::time::sleep(Duration::from_secs(5)).await;
        "a report nobody waited for".into()
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (trusting, identity) = development_certificates()?;
    let server = serve(identity.clone(), "127.0.0.1:0").await?;
    let port = server.local_addr().port();

    // The client: a fresh `Connector` for each dial, so every reconnect has the same settings.
    let mut options = SessionOptions::default();
    options.call_timeout = Some(Duration::from_secs(2)); // no await of a result waits longer
    options.keepalive = Some(Duration::from_secs(10)); // notices a silent, half-open connection
    let mut backoff = Backoff::default(); // 100 ms after a failure, doubling, with jitter
    backoff.max = Duration::from_secs(2); // re-dial at least every 2 s while the server is down
    let client = ReconnectingSession::builder(move || {
        Connector::new(format!("wss://localhost:{port}/rpc"))
            .tls_config(trusting.clone()) // not needed for a certificate from a public authority
            .bearer_token(TOKEN)
            .connect_timeout(Duration::from_secs(2))
            .options(options.clone())
            .connect()
    })
    .backoff(backoff)
    .on_state(log_state)
    .start();
    client.connected().await?;
    let inventory = InventoryClient::from_stub(client.main());
    println!(
        "[client] stock of 'bolts': {}",
        inventory.stock("bolts").await?
    );

    // One call with a shorter deadline of its own.
    match inventory
        .slow_report()
        .timeout(Duration::from_millis(200))
        .await
    {
        Err(RpcError::Timeout) => println!("[client] slow_report: gave up after 200 ms"),
        other => println!("[client] slow_report: {other:?}"),
    }

    // The server goes away and comes back on the same port.
    println!("[server] restarting");
    server.shutdown().await;
    let during = inventory.stock("nuts").await;
    println!(
        "[client] a call on the old session: {}",
        during.unwrap_err()
    );
    let server = serve(identity, &format!("127.0.0.1:{port}")).await?;

    // An idempotent call, retried while the client reconnects; a fresh main object each time.
    let mut policy = RetryPolicy::default();
    policy.max_attempts = 10;
    let nuts = client
        .retry(&policy, |main| async move {
            InventoryClient::from_stub(main).stock("nuts").await
        })
        .await?;
    println!("[client] stock of 'nuts' after the restart: {nuts}");

    client.close().await;
    server.shutdown().await;
    Ok(())
}

/// Prints each state change, as an application would log it.
fn log_state(state: &ConnectionState) {
    match state {
        ConnectionState::Connecting { attempt } => {
            println!("[state] connecting (attempt {attempt})")
        }
        ConnectionState::Connected => println!("[state] connected"),
        ConnectionState::Disconnected { reason } => println!("[state] disconnected: {reason}"),
        ConnectionState::Waiting {
            error, retry_in, ..
        } => {
            println!("[state] dial failed ({error}); retrying in {retry_in:?}")
        }
        ConnectionState::GaveUp { attempts, .. } => println!("[state] gave up after {attempts}"),
        ConnectionState::Closed => println!("[state] closed"),
        other => println!("[state] {other:?}"),
    }
}

/// A TLS server that admits only requests bearing the token.
async fn serve(identity: Arc<rustls::ServerConfig>, addr: &str) -> std::io::Result<Server> {
    Server::builder(|context| {
        let bearer = context
            .headers()
            .get("authorization")
            .and_then(|value| value.to_str().ok());
        if bearer == Some(&format!("Bearer {TOKEN}")) {
            InventoryClient::new(Warehouse).into_stub()
        } else {
            Stub::broken(RpcError::new(
                "Unauthorized",
                "a valid bearer token is required",
            ))
        }
    })
    .tls(identity)
    .handshake_timeout(Duration::from_secs(5))
    .shutdown_timeout(Duration::from_millis(500)) // calls still running then are cut off
    .bind(addr)
    .await
}

/// A certificate authority made on the spot and a certificate for `localhost` it signed:
/// the client trusts the first, the server presents the second. (A deployment loads its own
/// with `tls::server_config_from_pem`.)
fn development_certificates()
-> Result<(Arc<rustls::ClientConfig>, Arc<rustls::ServerConfig>), Box<dyn std::error::Error>> {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};

    let mut authority = CertificateParams::new(Vec::new())?;
    authority.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    authority
        .distinguished_name
        .push(DnType::CommonName, "resilient_client example CA");
    let authority_key = KeyPair::generate()?;
    let authority_pem = authority.self_signed(&authority_key)?.pem();
    let issuer = Issuer::new(authority, authority_key);

    let leaf_key = KeyPair::generate()?;
    let leaf =
        CertificateParams::new(vec!["localhost".to_owned()])?.signed_by(&leaf_key, &issuer)?;
    let identity =
        tls::server_config_from_pem(leaf.pem().as_bytes(), leaf_key.serialize_pem().as_bytes())?;
    Ok((
        tls::client_config_trusting(authority_pem.as_bytes())?,
        identity,
    ))
}
