//! `tls::native_roots_client_config`: a client that trusts the operating system's store
//! connects to a server whose authority is in it. `SSL_CERT_FILE` points the store at the
//! test's authority. The crate forbids `unsafe`, so the variable is not set in this process:
//! the test runs itself again as a child process with the variable set, and the child checks.

#[path = "suite/pki.rs"]
#[allow(dead_code)] // the suite reads the PEM texts too; this test needs only the configs
mod pki;

use capnweb_runtime::transport::websocket::Connector;
use capnweb_runtime::{RpcError, Server, Stub, Value, tls};

/// Set (to the authority's PEM file) in the child run.
const STORE: &str = "SSL_CERT_FILE";
const TEST: &str = "a_client_trusting_the_system_store_reaches_a_server_it_vouches_for";

#[test]
fn a_client_trusting_the_system_store_reaches_a_server_it_vouches_for() {
    let Some(store) = std::env::var_os("CAPNWEB_NATIVE_ROOTS_CHILD").and(std::env::var_os(STORE))
    else {
        // The child makes the authority and writes it where the variable points.
        let store = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("native-roots-ca.pem");
        let output = std::process::Command::new(std::env::current_exe().unwrap())
            .args([TEST, "--exact", "--nocapture"])
            .env("CAPNWEB_NATIVE_ROOTS_CHILD", "1")
            .env(STORE, &store)
            .env_remove("SSL_CERT_DIR")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success() && text.contains("1 passed"),
            "the child run failed:\n{text}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        return;
    };
    let pki = pki::make_pki();
    std::fs::write(&store, &pki.ca_pem).unwrap();
    let trust = tls::native_roots_client_config().expect("the store holds the test's authority");

    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let server = Server::builder(|_| {
            Stub::from_fn(|args: Vec<Value>| async move {
                Ok(args.into_iter().next().unwrap_or(Value::Null))
            })
        })
        .tls(pki.server.clone())
        .bind("127.0.0.1:0")
        .await
        .unwrap();
        let url = format!("wss://localhost:{}/", server.local_addr().port());
        let session = Connector::new(url.clone())
            .tls_config(trust)
            .connect()
            .await
            .unwrap();
        assert_eq!(session.main().invoke(("hi",)).await.unwrap(), "hi".into());
        session.close();

        // The default (webpki) roots do not hold the test's authority: the store made it work.
        let untrusted = Connector::new(url).connect().await.unwrap_err();
        assert!(
            matches!(untrusted, RpcError::Connect { .. }),
            "{untrusted:?}"
        );
        server.shutdown().await;
    });
}
