//! The supervised client against a server that goes away and comes back on the same port:
//! calls during the outage fail at once, calls after it succeed on a fresh session, old
//! capabilities stay broken, every state change is seen in order; giving up; retrying
//! idempotent calls across an outage; a pool of sessions.

use std::future::{Future, IntoFuture};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use capnweb_runtime::reconnect::{
    Backoff, ConnectionState, ReconnectingSession, RetryPolicy, SessionPool,
};
use capnweb_runtime::transport::websocket;
use capnweb_runtime::{RpcError, Server, Session, Value};

use crate::http_server::{Served, test_api_builder};
use crate::server::BASELINE;
use crate::support::{alive_tasks, assert_tasks_at_most};

/// Short waits, so an outage costs the test little.
fn quick_backoff() -> Backoff {
    let mut backoff = Backoff::default();
    backoff.initial = Duration::from_millis(20);
    backoff.max = Duration::from_millis(200);
    backoff
}

/// Serves the test API on `addr` (port 0 for any); no grace period at shutdown, so stopping
/// it is as abrupt for its clients as a crash.
async fn serve(addr: SocketAddr) -> (Server, Served) {
    let (builder, served) = test_api_builder();
    let server = builder
        .shutdown_timeout(Duration::ZERO)
        .bind(addr)
        .await
        .expect("bind 127.0.0.1");
    (server, served)
}

/// The state changes an `on_state` callback saw, as short names.
#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<String>>>);

impl Seen {
    fn record(&self, state: &ConnectionState) {
        let name = match state {
            ConnectionState::Connecting { attempt } => format!("connecting {attempt}"),
            ConnectionState::Connected => "connected".into(),
            ConnectionState::Disconnected { .. } => "disconnected".into(),
            ConnectionState::Waiting { attempt, .. } => format!("waiting {attempt}"),
            ConnectionState::GaveUp { attempts, .. } => format!("gave up {attempts}"),
            ConnectionState::Closed => "closed".into(),
            other => format!("{other:?}"),
        };
        self.0.lock().unwrap().push(name);
    }

    fn names(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

type Dialing = Pin<Box<dyn Future<Output = Result<Session, RpcError>> + Send>>;

fn dial(url: String) -> impl Fn() -> Dialing + Send + Sync + 'static {
    move || Box::pin(websocket::Connector::new(url.clone()).connect())
}

/// Waits (at most 10 s) until the client's state is not `Connected`.
async fn until_disconnected(client: &ReconnectingSession) {
    for _ in 0..1000 {
        if !matches!(client.state(), ConnectionState::Connected) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the client did not notice the server going away");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_supervised_client_rides_out_a_server_restart_on_the_same_port() {
    let before = alive_tasks();
    let (first, _) = serve("127.0.0.1:0".parse().unwrap()).await;
    let addr = first.local_addr();
    let seen = Seen::default();
    let recorder = seen.clone();
    let client = ReconnectingSession::builder(dial(format!("ws://{addr}/rpc")))
        .backoff(quick_backoff())
        .on_state(move |state| recorder.record(state))
        .start();
    tokio::time::timeout(Duration::from_secs(10), client.connected())
        .await
        .expect("connects within 10 s")
        .unwrap();
    let old_main = client.main();
    assert_eq!(old_main.call("ping", ()).await.unwrap(), "pong".into());
    let in_flight = tokio::spawn(old_main.call("hang", ()).into_future());

    first.shutdown().await;
    let failed = in_flight.await.unwrap().unwrap_err();
    assert!(
        matches!(failed, RpcError::Disconnected { .. }),
        "a call in flight fails with a disconnect: {failed:?}"
    );
    until_disconnected(&client).await;
    let during = client.main().call("ping", ()).await.unwrap_err();
    assert!(
        matches!(during, RpcError::Disconnected { .. }),
        "a call during the outage fails at once: {during:?}"
    );

    let (second, served) = serve(addr).await;
    let session = tokio::time::timeout(Duration::from_secs(10), client.connected())
        .await
        .expect("reconnects within 10 s")
        .unwrap();
    assert_eq!(client.main().call("ping", ()).await.unwrap(), "pong".into());
    // A capability from the dead session is never re-pointed at the new one.
    let stale = old_main.call("ping", ()).await.unwrap_err();
    assert!(
        matches!(stale, RpcError::Disconnected { .. }),
        "the old main object stays broken: {stale:?}"
    );
    assert_eq!(
        served.sessions().len(),
        1,
        "one fresh session on the new server"
    );

    let names = seen.names();
    assert_eq!(names[..2], ["connecting 1", "connected"], "{names:?}");
    assert_eq!(names[2], "disconnected", "{names:?}");
    assert_eq!(names.last().unwrap(), "connected", "{names:?}");
    assert!(
        names[names.len() - 2].starts_with("connecting"),
        "{names:?}"
    );
    // Between: dials that failed while nothing listened, each followed by a wait.
    for (i, pair) in names[3..names.len() - 2].chunks(2).enumerate() {
        assert_eq!(
            pair,
            [
                format!("connecting {}", i + 1),
                format!("waiting {}", i + 1)
            ],
            "{names:?}"
        );
    }

    drop(old_main);
    crate::support::eventually("the server's tables hold only the main objects", || {
        served.sessions()[0].stats() == BASELINE && session.stats() == BASELINE
    })
    .await;
    drop(session);
    client.close().await;
    assert_eq!(seen.names().last().unwrap(), "closed");
    assert!(matches!(
        client.main().call("ping", ()).await,
        Err(RpcError::Disconnected { .. })
    ));
    second.shutdown().await;
    drop(served);
    assert_tasks_at_most(before).await;
}

#[tokio::test]
async fn a_client_gives_up_after_its_attempts_and_says_why() {
    let before = alive_tasks();
    // A port nothing listens on.
    let addr = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let seen = Seen::default();
    let recorder = seen.clone();
    let client = ReconnectingSession::builder(dial(format!("ws://{addr}/rpc")))
        .backoff(quick_backoff())
        .max_attempts(Some(3))
        .on_state(move |state| recorder.record(state))
        .start();
    let error = tokio::time::timeout(Duration::from_secs(10), client.connected())
        .await
        .expect("gives up within 10 s")
        .unwrap_err();
    assert!(matches!(error, RpcError::Connect { .. }), "{error:?}");
    assert!(
        error.to_string().contains("gave up reconnecting after 3"),
        "{error}"
    );
    assert_eq!(
        seen.names(),
        [
            "connecting 1",
            "waiting 1",
            "connecting 2",
            "waiting 2",
            "connecting 3",
            "gave up 3"
        ]
    );
    let call = client.main().call("ping", ()).await.unwrap_err();
    assert!(matches!(call, RpcError::Connect { .. }), "{call:?}");
    client.close().await;
    assert_eq!(seen.names().last().unwrap(), "closed");
    assert_tasks_at_most(before).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_carries_an_idempotent_call_across_an_outage() {
    let before = alive_tasks();
    let (first, _) = serve("127.0.0.1:0".parse().unwrap()).await;
    let addr = first.local_addr();
    let client = ReconnectingSession::builder(dial(format!("ws://{addr}/rpc")))
        .backoff(quick_backoff())
        .start();
    client.connected().await.unwrap();
    first.shutdown().await;
    until_disconnected(&client).await;

    // Retried while the server is down; succeeds once it is back.
    let mut policy = RetryPolicy::default();
    policy.max_attempts = 200;
    policy.backoff = quick_backoff();
    let attempts = Arc::new(Mutex::new(0u32));
    let counter = attempts.clone();
    let call = {
        let client = client.clone();
        tokio::spawn(async move {
            client
                .retry(&policy, |main| {
                    *counter.lock().unwrap() += 1;
                    main.call("add", (2, 3)).into_future()
                })
                .await
        })
    };
    crate::support::eventually("a first attempt failed", || *attempts.lock().unwrap() >= 2).await;
    let (second, _) = serve(addr).await;
    let sum = tokio::time::timeout(Duration::from_secs(10), call)
        .await
        .expect("succeeds within 10 s")
        .unwrap()
        .unwrap();
    assert_eq!(sum, Value::from(5));
    client.close().await;
    second.shutdown().await;
    drop(client);
    assert_tasks_at_most(before).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pool_spreads_calls_over_its_connections() {
    let before = alive_tasks();
    let (server, served) = serve("127.0.0.1:0".parse().unwrap()).await;
    let pool = SessionPool::builder(dial(format!("ws://{}/rpc", server.local_addr())))
        .size(3)
        .backoff(quick_backoff())
        .start();
    for member in pool.members() {
        member.connected().await.unwrap();
    }
    for _ in 0..6 {
        pool.main().call("record", ("x",)).await.unwrap();
    }
    let sessions = served.sessions();
    assert_eq!(sessions.len(), 3);
    for member in pool.members() {
        let recorded = member.main().call("recorded", ()).await.unwrap();
        assert_eq!(
            recorded,
            Value::Array(vec!["x".into(), "x".into()]),
            "two calls per member"
        );
    }
    pool.close().await;
    server.shutdown().await;
    drop(sessions);
    assert_tasks_at_most(before).await;
}
