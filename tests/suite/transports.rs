//! One test body over every transport and peer ("local behaves like remote"): the in-memory
//! pair, our WebSocket and HTTP batch clients against our server, and our WebSocket client
//! against the npm capnweb 0.12.0 server. Each run ends with the leak check of both sides and a
//! check that no task the run started is left running.

use std::future::Future;
use std::time::Duration;

use capnweb_runtime::transport::websocket;
use capnweb_runtime::{Session, Stub};

use crate::http_server::HttpServer;
use crate::interop_ws::assert_peer_clean;
use crate::node::{self, NodeServer};
use crate::server::RustServer;
use crate::support::{
    alive_tasks, assert_no_leaks, assert_tasks_at_most_within, eventually, memory_pair,
};

/// Which transport a body is running over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Over {
    /// Two sessions joined in memory.
    Memory,
    /// Our WebSocket client against our WebSocket server on 127.0.0.1.
    WebSocket,
    /// Our HTTP batch client against our combined server on 127.0.0.1. The body's calls form
    /// one batch, sent when the first result is awaited: a body that must work here makes its
    /// calls together (`join!`) before awaiting any of them.
    HttpBatch,
    /// Our WebSocket client against the npm capnweb 0.12.0 server (tests/node/server.mjs), whose
    /// test API mirrors ours.
    NodeWebSocket,
}

impl Over {
    /// Every transport and peer that keeps a session open across round trips.
    pub const SESSIONS: &[Over] = &[Over::Memory, Over::WebSocket, Over::NodeWebSocket];
    /// Our own transports, client and server both ours.
    pub const OURS: &[Over] = &[Over::Memory, Over::WebSocket, Over::HttpBatch];
}

/// How long one body may take before the run fails (a hang is a failure, not a stuck suite).
const BODY_LIMIT: Duration = Duration::from_secs(20);

/// Runs `body` with the test API's main object over each of our own transports in turn.
pub async fn each_transport<F, Fut>(body: F)
where
    F: Fn(Stub, Over) -> Fut,
    Fut: Future<Output = ()>,
{
    over_each(Over::OURS, body).await;
}

/// Runs `body` with the test API's main object over each of `transports` in turn.
pub async fn over_each<F, Fut>(transports: &[Over], body: F)
where
    F: Fn(Stub, Over) -> Fut,
    Fut: Future<Output = ()>,
{
    let body = |main: Stub, over: Over| {
        let run = body(main, over);
        async move {
            if tokio::time::timeout(BODY_LIMIT, run).await.is_err() {
                panic!("{over:?}: the test body did not finish within {BODY_LIMIT:?}");
            }
        }
    };
    for &over in transports {
        let tasks_before = alive_tasks();
        match over {
            Over::Memory => {
                let (client, server) = memory_pair();
                body(client.main(), over).await;
                assert_no_leaks(&[&client, &server]).await;
            }
            Over::WebSocket => {
                let server = RustServer::start().await;
                let client = websocket::connect(&server.url())
                    .await
                    .expect("connect to our WebSocket server");
                body(client.main(), over).await;
                let mut sessions: Vec<Session> = server.sessions();
                sessions.push(client.clone());
                assert_no_leaks(&sessions.iter().collect::<Vec<_>>()).await;
                drop(sessions);
                drop(client);
                server.wait_all_closed().await;
                server.stop().await;
            }
            Over::HttpBatch => {
                let server = HttpServer::start().await;
                let batch = capnweb_runtime::http::batch_session(&server.batch_url())
                    .expect("batch session");
                body(batch.main(), over).await;
                // The results arrive before the batch is marked ended.
                eventually("the batch has ended", || batch.is_ended()).await;
                let stats = batch.stats();
                assert_eq!((stats.imports, stats.exports), (0, 0), "client tables");
                assert_eq!(server.served.batches(), 1, "one request for the body");
                drop(batch);
                server.stop().await;
            }
            Over::NodeWebSocket => {
                let server = NodeServer::start_async(node::SERVER_SCRIPT).await;
                let client = websocket::connect(&server.ws_url())
                    .await
                    .expect("connect to the Node server");
                let main = client.main();
                body(main.clone(), over).await;
                // The peer's own view of its tables, through its `stats()`.
                assert_peer_clean(&main).await;
                drop(main);
                assert_no_leaks(&[&client]).await;
                client.close();
                drop(client);
                drop(server);
            }
        }
        assert_tasks_back_to(tasks_before, over).await;
    }
}

/// Waits (at most 3 s) until the runtime runs no more tasks than it did before the run.
async fn assert_tasks_back_to(before: usize, over: Over) {
    assert_tasks_at_most_within(before, Duration::from_secs(3), &format!("{over:?}")).await;
}
