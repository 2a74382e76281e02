//! TLS: `--ca-cert` trusts a private certificate authority for wss:// and https://, for calls
//! and for the proxy's server; without it the server's certificate is refused.

use crate::pki::make_pki;
use crate::server::TestServer;
use crate::support::{Proxy, alive_tasks, assert_tasks_at_most, capnweb_run};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_private_authority_is_trusted_with_ca_cert() {
    let before = alive_tasks();
    let pki = make_pki();
    let ca = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("cli-ca-{}.pem", std::process::id()));
    std::fs::write(&ca, &pki.ca_pem).unwrap();
    let ca = ca.to_str().unwrap();
    let server = TestServer::start_tls(pki.server.clone()).await;
    let port = server.address.rsplit(':').next().unwrap().to_owned();

    for url in [
        format!("wss://localhost:{port}/"),
        format!("https://localhost:{port}/rpc"),
    ] {
        let run = capnweb_run(&["call", &url, "users().get(1).name", "--ca-cert", ca]).await;
        assert_eq!(
            (run.code(), run.stdout.as_str()),
            (0, "'Ada Lovelace'\n"),
            "{run:?}"
        );
        let run = capnweb_run(&["call", &url, "users().get(1).name"]).await;
        assert_eq!(run.code(), 3, "an unknown authority is refused: {run:?}");
        assert!(run.stderr.contains("certificate"), "{run:?}");
    }

    // The proxy speaks TLS to the server and plain WebSocket to its client.
    let proxy_args = format!("wss://localhost:{port}/");
    let proxy = Proxy::start_with(&proxy_args, &["--ca-cert", ca]).await;
    let run = capnweb_run(&["call", &proxy.url("ws", "/"), "users().get(3).name"]).await;
    assert_eq!(
        (run.code(), run.stdout.as_str()),
        (0, "'Grace Hopper'\n"),
        "{run:?}"
    );
    drop(proxy);

    server.wait_sessions_ended().await;
    server.stop().await;
    assert_tasks_at_most(before).await;
}
