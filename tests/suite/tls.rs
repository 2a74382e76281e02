//! TLS with a certificate authority made at test time: our client against our server over
//! `wss://`, the npm capnweb client against our TLS server, our client against the npm capnweb
//! server over `wss://`, and a client that does not trust the server's certificate failing with
//! a clear error.

use capnweb_runtime::http::BatchClient;
use capnweb_runtime::tls::{self, rustls};
use capnweb_runtime::transport::websocket::Connector;
use capnweb_runtime::{RpcError, Session, Stub, Value};

use crate::http_server::HttpServer;
use crate::interop_ws::assert_peer_clean;
use crate::node;
use crate::pki::{Pki, make_pki};
use crate::support::assert_no_leaks;

/// Our WebSocket client, trusting the test's authority.
async fn connect_trusting(url: &str, pki: &Pki) -> Session {
    let trusting = tls::client_config_trusting(pki.ca_pem.as_bytes()).unwrap();
    Connector::new(url)
        .tls_config(trusting)
        .connect()
        .await
        .unwrap()
}

/// A plain call and a pipelined chain with a property read, over whatever `api` came through.
async fn calls_and_pipelines(api: &Stub) {
    assert_eq!(api.call("add", (2, 3)).await.unwrap(), Value::Number(5.0));
    let name = api.call("users", ()).call("get", (2,)).get("name");
    assert_eq!(name.await.unwrap(), Value::String("Alan Turing".into()));
}

fn wss_url(server: &HttpServer) -> String {
    format!("wss://127.0.0.1:{}/rpc", server.port)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_client_and_server_talk_over_wss() {
    let pki = make_pki();
    let server = HttpServer::start_with(|builder| builder.tls(pki.server.clone())).await;
    let client = connect_trusting(&wss_url(&server), &pki).await;
    let api = client.main();
    calls_and_pipelines(&api).await;
    drop(api);
    let sessions = server.served.sessions();
    assert_no_leaks(&[&client, &sessions[0]]).await;
    client.close();
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_does_not_trust_the_certificate_fails_clearly() {
    let pki = make_pki();
    let server = HttpServer::start_with(|builder| builder.tls(pki.server.clone())).await;
    // The default configuration trusts the public roots, not this test's authority.
    let error = Connector::new(wss_url(&server))
        .connect()
        .await
        .expect_err("an untrusted certificate");
    match &error {
        RpcError::Connect { message, .. } => assert!(
            message.contains("TLS handshake") && message.contains("certificate"),
            "{message}"
        ),
        other => panic!("expected a connect error, got {other:?}"),
    }
    // Plain WebSocket to a TLS port fails too, rather than hanging.
    let plain = Connector::new(format!("ws://127.0.0.1:{}/rpc", server.port))
        .connect_timeout(std::time::Duration::from_secs(10))
        .connect()
        .await;
    assert!(matches!(plain, Err(RpcError::Connect { .. })), "{plain:?}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_typescript_client_talks_to_our_server_over_wss() {
    let pki = make_pki();
    let ca_file = std::env::temp_dir().join(format!("capnweb-test-ca-{}.pem", std::process::id()));
    std::fs::write(&ca_file, &pki.ca_pem).unwrap();
    let server = HttpServer::start_with(|builder| builder.tls(pki.server.clone())).await;
    let url = wss_url(&server);
    let path = ca_file.clone();
    let outcomes = tokio::task::spawn_blocking(move || {
        node::run_client_trusting(&url, node::ALL_SCENARIOS, Some(&path))
    })
    .await
    .unwrap();
    node::assert_all_ok(&outcomes, node::ALL_SCENARIOS);
    // The batch client too, over https on the same port.
    let outcomes = crate::node_batch::run_batch_client_trusting(
        &format!("https://127.0.0.1:{}/rpc", server.port),
        &[],
        Some(ca_file.clone()),
    )
    .await;
    node::assert_all_ok(&outcomes, crate::node_batch::BATCH_SCENARIOS);
    let _ = std::fs::remove_file(&ca_file);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_client_talks_to_the_typescript_server_over_wss() {
    let pki = make_pki();
    let dir = std::env::temp_dir().join(format!("capnweb-test-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert, &pki.cert_pem).unwrap();
    std::fs::write(&key, &pki.key_pem).unwrap();
    let env = [
        ("TLS_CERT_FILE", cert.clone()),
        ("TLS_KEY_FILE", key.clone()),
    ];
    let server = tokio::task::spawn_blocking(move || {
        let env: Vec<(&str, &std::path::Path)> =
            env.iter().map(|(k, v)| (*k, v.as_path())).collect();
        node::NodeServer::start_with_env(node::SERVER_SCRIPT, &env)
    })
    .await
    .unwrap();
    let url = server.ws_url().replacen("ws://", "wss://", 1);
    let client = connect_trusting(&url, &pki).await;
    let api = client.main();
    calls_and_pipelines(&api).await;
    assert_peer_clean(&api).await;
    drop(api);
    assert_no_leaks(&[&client]).await;
    client.close();
    // Our batch client against its https side.
    let batch = BatchClient::new(&server.batch_url().replacen("http://", "https://", 1))
        .unwrap()
        .tls_config(tls::client_config_trusting(pki.ca_pem.as_bytes()).unwrap())
        .session();
    let sum = batch.main().call("add", (20, 22)).await.unwrap();
    assert_eq!(sum, Value::Number(42.0));
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_batch_client_talks_to_our_server_over_https() {
    let pki = make_pki();
    let server = HttpServer::start_with(|builder| builder.tls(pki.server.clone())).await;
    let trusting = tls::client_config_trusting(pki.ca_pem.as_bytes()).unwrap();
    let client = BatchClient::new(&format!("https://127.0.0.1:{}/rpc", server.port))
        .unwrap()
        .tls_config(trusting);
    let batch = client.session();
    let api = batch.main();
    let (sum, name) = tokio::join!(
        api.call("add", (2, 3)),
        api.call("users", ()).call("get", (1,)).get("name")
    );
    assert_eq!(sum.unwrap(), Value::Number(5.0));
    assert_eq!(name.unwrap(), Value::String("Ada Lovelace".into()));
    assert_eq!(server.served.batches(), 1);

    // Without the test's authority the request fails, and so does every call of its batch.
    let untrusting = BatchClient::new(&format!("https://127.0.0.1:{}/rpc", server.port)).unwrap();
    let failed = untrusting.session().main().call("add", (1, 1)).await;
    let error = failed.expect_err("an untrusted certificate");
    assert!(error.message().contains("certificate"), "{error:?}");
    drop(api);
    drop(batch);
    server.stop().await;
}

/// Slowloris over TLS: a connection that never starts its TLS handshake, and one that
/// finishes TLS but never sends a request, are both closed at the handshake timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_clients_of_a_tls_server_are_closed_at_the_handshake_timeout() {
    let pki = make_pki();
    let server = HttpServer::start_with(|builder| {
        builder
            .tls(pki.server.clone())
            .handshake_timeout(std::time::Duration::from_millis(300))
    })
    .await;
    let address = ("127.0.0.1", server.port);
    let silent = tokio::net::TcpStream::connect(address).await.unwrap();
    let trusting = tls::client_config_trusting(pki.ca_pem.as_bytes()).unwrap();
    let tcp = tokio::net::TcpStream::connect(address).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let mute = tokio_rustls::TlsConnector::from(trusting)
        .connect(name, tcp)
        .await
        .expect("the TLS handshake itself succeeds");
    assert!(
        closed_by_server(silent).await,
        "before TLS: the server closes it"
    );
    assert!(
        closed_by_server(mute).await,
        "after TLS: the server closes it"
    );
    server.stop().await;
}

/// Whether the peer closes `stream` (end of stream or an error) within 10 s.
async fn closed_by_server(mut stream: impl tokio::io::AsyncRead + Unpin) -> bool {
    use tokio::io::AsyncReadExt;
    let mut buffer = [0u8; 64];
    let read = stream.read(&mut buffer);
    matches!(
        tokio::time::timeout(std::time::Duration::from_secs(10), read).await,
        Ok(Ok(0) | Err(_))
    )
}
