//! `ServerBuilder::admit`: a request the application refuses gets the refusal's HTTP status,
//! headers and message instead of a session, on WebSocket and on HTTP batch, before
//! `make_main` runs; an admitted one is served as usual. Seen by a raw HTTP client, by our
//! clients and by the npm capnweb client.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use capnweb_runtime::http::{BatchClient, Refusal};
use capnweb_runtime::transport::websocket::Connector;
use capnweb_runtime::{RpcError, Server, Stub, Value};
use http::header::{AUTHORIZATION, HeaderValue, WWW_AUTHENTICATE};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::api::TestApi;
use crate::support::{alive_tasks, assert_tasks_at_most};

const TOKEN: &str = "s3cret";

/// A server that admits only `Authorization: Bearer s3cret`, counting the main objects it
/// makes.
async fn guarded_server() -> (Server, Arc<AtomicUsize>) {
    let made = Arc::new(AtomicUsize::new(0));
    let counter = made.clone();
    let server = Server::builder(move |_context| {
        counter.fetch_add(1, Ordering::SeqCst);
        Stub::from_arc(Arc::new(TestApi::new().0))
    })
    .admit(|context| match context.headers().get(AUTHORIZATION) {
        Some(value) if value == &format!("Bearer {TOKEN}") => Ok(()),
        Some(_) => Err(Refusal::forbidden("that token is not valid here")),
        None => Err(Refusal::unauthorized("a bearer token is required")
            .header(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"))),
    })
    .bind("127.0.0.1:0")
    .await
    .unwrap();
    (server, made)
}

/// Sends `request` as raw bytes and returns the response head and body (the server closes or
/// the body ends within the bound).
async fn raw_exchange(addr: std::net::SocketAddr, request: &str) -> String {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    let mut buf = [0u8; 4096];
    let read = async {
        // Until the body's length is in (the refusal's body is short and has a length).
        loop {
            let n = stream.read(&mut buf).await.unwrap();
            response.extend_from_slice(&buf[..n]);
            let text = String::from_utf8_lossy(&response);
            if n == 0 || text.contains("bearer token is required") || text.contains("not valid") {
                return;
            }
        }
    };
    tokio::time::timeout(std::time::Duration::from_secs(10), read)
        .await
        .expect("the server answers within 10 s");
    String::from_utf8(response).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_websocket_upgrade_gets_the_status_and_no_session() {
    let before = alive_tasks();
    let (server, made) = guarded_server().await;
    let addr = server.local_addr();
    let head = raw_exchange(
        addr,
        "GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
    )
    .await;
    assert!(head.starts_with("HTTP/1.1 401"), "{head}");
    assert!(
        head.to_lowercase().contains("www-authenticate: bearer"),
        "{head}"
    );
    assert!(head.ends_with("a bearer token is required"), "{head}");

    // Our client: a connect error naming the status; with the token, a working session.
    let refused = Connector::new(format!("ws://{addr}/"))
        .connect()
        .await
        .unwrap_err();
    assert!(matches!(refused, RpcError::Connect { .. }), "{refused:?}");
    assert!(
        refused
            .to_string()
            .contains("401 Unauthorized: a bearer token is required"),
        "the error names the status and what the server said: {refused}"
    );
    let wrong = Connector::new(format!("ws://{addr}/"))
        .bearer_token("guess")
        .connect()
        .await
        .unwrap_err();
    assert!(wrong.to_string().contains("403"), "{wrong}");
    assert_eq!(
        made.load(Ordering::SeqCst),
        0,
        "no main object for a refusal"
    );

    let session = Connector::new(format!("ws://{addr}/"))
        .bearer_token(TOKEN)
        .connect()
        .await
        .unwrap();
    let sum = session.main().call("add", (1, 2)).await.unwrap();
    assert_eq!(sum, Value::Number(3.0));
    assert_eq!(made.load(Ordering::SeqCst), 1);
    crate::support::assert_no_leaks(&[&session]).await;
    session.close();
    server.shutdown().await;
    assert_tasks_at_most(before).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_batch_gets_the_status_and_no_session() {
    let before = alive_tasks();
    let (server, made) = guarded_server().await;
    let addr = server.local_addr();
    let body = r#"["push",["pipeline",0,["add"],[1,2]]]"#;
    let head = raw_exchange(
        addr,
        &format!(
            "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        ),
    )
    .await;
    assert!(head.starts_with("HTTP/1.1 401"), "{head}");
    assert!(
        head.to_lowercase().contains("www-authenticate: bearer"),
        "{head}"
    );

    // Our batch client fails as capnweb's does on a non-2xx status; with the token it works.
    let refused = BatchClient::new(&format!("http://{addr}/")).unwrap();
    let error = refused
        .session()
        .main()
        .call("add", (1, 2))
        .await
        .unwrap_err();
    assert!(error.to_string().contains("401"), "{error}");
    let admitted = BatchClient::new(&format!("http://{addr}/"))
        .unwrap()
        .bearer_token(TOKEN)
        .unwrap();
    let sum = admitted.session().main().call("add", (1, 2)).await.unwrap();
    assert_eq!(sum, Value::Number(3.0));
    assert_eq!(
        made.load(Ordering::SeqCst),
        1,
        "a main object only for the admitted batch"
    );
    server.shutdown().await;
    assert_tasks_at_most(before).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_npm_capnweb_client_is_refused_without_the_header_and_served_with_it() {
    let before = alive_tasks();
    let (server, made) = guarded_server().await;
    let address = server.local_addr().to_string();
    let out = tokio::task::spawn_blocking(move || {
        crate::node::run_script("admission.mjs", &[&address, TOKEN])
    })
    .await
    .unwrap();
    let result: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(result["wsAdmitted"]["value"], 3, "{result}");
    assert_eq!(result["batchAdmitted"]["value"], 3, "{result}");
    // capnweb reports a refused WebSocket as a failed connection and a refused batch with the
    // status.
    assert!(result["wsRefused"]["error"].is_string(), "{result}");
    let batch = result["batchRefused"]["error"].as_str().unwrap_or_default();
    assert!(batch.contains("401"), "{result}");
    assert_eq!(
        made.load(Ordering::SeqCst),
        2,
        "main objects only for admitted requests"
    );
    server.shutdown().await;
    assert_tasks_at_most(before).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_admission_check_refuses_the_request_and_the_server_goes_on() {
    let before = alive_tasks();
    let server = Server::builder(|_| Stub::from_arc(Arc::new(TestApi::new().0)))
        .admit(|context| {
            if context.headers().contains_key("x-crash") {
                panic!("bug in the admission check");
            }
            Ok(())
        })
        .bind("127.0.0.1:0")
        .await
        .unwrap();
    let addr = server.local_addr();
    let crashing = BatchClient::new(&format!("http://{addr}/"))
        .unwrap()
        .header("x-crash", "1")
        .unwrap();
    let error = crashing
        .session()
        .main()
        .call("add", (1, 2))
        .await
        .unwrap_err();
    assert!(error.to_string().contains("500"), "{error}");
    let fine = BatchClient::new(&format!("http://{addr}/")).unwrap();
    let sum = fine.session().main().call("add", (1, 2)).await.unwrap();
    assert_eq!(sum, Value::Number(3.0));
    server.shutdown().await;
    assert_tasks_at_most(before).await;
}
