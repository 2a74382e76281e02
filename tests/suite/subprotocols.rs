//! WebSocket subprotocols (`Connector::subprotocol`, `ServerBuilder::subprotocols`): the server
//! names the first of its own that the client offered; a client whose offer nobody takes
//! fails to connect with a clear error; the npm capnweb server (`ws`, which takes the first
//! offered) accepts our offer.

use std::sync::{Arc, Mutex};

use capnweb_runtime::transport::websocket::Connector;
use capnweb_runtime::{RpcError, Server, Stub, Value};

use crate::node::{NodeServer, SERVER_SCRIPT};
use crate::support::{alive_tasks, assert_tasks_at_most};

/// A server speaking `protocols`, whose sessions echo; it records what each client offered.
async fn echo_server(protocols: &[&str]) -> (Server, Arc<Mutex<Vec<String>>>) {
    let offered = Arc::new(Mutex::new(Vec::new()));
    let seen = offered.clone();
    let server = Server::builder(move |context| {
        if let Some(offer) = context.headers().get("sec-websocket-protocol") {
            seen.lock()
                .unwrap()
                .push(offer.to_str().unwrap().to_owned());
        }
        Stub::from_fn(|args: Vec<Value>| async move {
            Ok(args.into_iter().next().unwrap_or(Value::Null))
        })
    })
    .subprotocols(protocols.iter().copied())
    .bind("127.0.0.1:0")
    .await
    .unwrap();
    (server, offered)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_takes_the_first_of_its_protocols_that_the_client_offers() {
    let before = alive_tasks();
    let (server, offered) = echo_server(&["capnweb.v2", "capnweb.v1"]).await;
    let url = format!("ws://{}/", server.local_addr());
    let session = Connector::new(url.clone())
        .subprotocol("capnweb.v1")
        .subprotocol("capnweb.v2")
        .connect()
        .await
        .unwrap();
    assert_eq!(session.main().invoke(("hi",)).await.unwrap(), "hi".into());
    assert_eq!(
        offered.lock().unwrap().as_slice(),
        ["capnweb.v1, capnweb.v2"]
    );
    session.close();

    // An offer the server does not take: the client refuses the connection, and says why.
    let refused = Connector::new(url)
        .subprotocol("graphql-ws")
        .connect()
        .await
        .unwrap_err();
    assert!(matches!(refused, RpcError::Connect { .. }), "{refused:?}");
    assert!(
        refused.to_string().to_lowercase().contains("subprotocol"),
        "the error names the subprotocol: {refused}"
    );
    drop(session);
    server.shutdown().await;
    assert_tasks_at_most(before).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_npm_capnweb_server_accepts_our_subprotocol_offer() {
    let node = NodeServer::start_async(SERVER_SCRIPT).await;
    let session = Connector::new(format!("ws://127.0.0.1:{}/", node.port))
        .subprotocol("capnweb")
        .connect()
        .await
        .unwrap();
    let api = session.main();
    let sum = api.call("add", (2, 3)).await.unwrap();
    assert_eq!(sum, Value::Number(5.0));
    crate::interop_ws::assert_peer_clean(&api).await;
    drop(api);
    crate::support::assert_no_leaks(&[&session]).await;
    session.close();
}
