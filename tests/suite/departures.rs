//! A peer that leaves: a server holding a client's callback learns of it through the
//! callback itself (`Stub::closed`, `Stub::on_broken`, the same on generated clients), without
//! calling it; and a method marked `run_to_completion` finishes although its session ended,
//! while an ordinary one is cancelled.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use capnweb_runtime::transport::memory;
use capnweb_runtime::{
    Args, CallFuture, RpcClient, RpcError, RpcTarget, Server, Session, Stub, Value, rpc_interface,
    rpc_target,
};
use tokio::sync::{Notify, mpsc};

use crate::support::{alive_tasks, assert_tasks_at_most, eventually};

/// How a held callback's departure was learned.
#[derive(Debug)]
enum Learned {
    Closed(RpcError),
    OnBroken(RpcError),
}

/// `watch(callback)`: keeps nothing but two watchers on the callback, and answers `true`.
struct Watcher(mpsc::UnboundedSender<Learned>);

impl RpcTarget for Watcher {
    fn call(self: Arc<Self>, method: &str, args: Args) -> CallFuture {
        assert_eq!(method, "watch");
        let callback = match args.value(0) {
            Value::Stub(stub) => stub,
            other => panic!("watch expects a callback, got {other:?}"),
        };
        let by_closed = self.0.clone();
        let closed = callback.closed();
        tokio::spawn(async move {
            let _ = by_closed.send(Learned::Closed(closed.await));
        });
        let by_callback = self.0.clone();
        callback
            .on_broken(move |reason| {
                let _ = by_callback.send(Learned::OnBroken(reason.clone()));
            })
            .keep();
        Box::pin(async { Ok(Value::Bool(true)) })
    }
}

/// Receives what the watcher learned, in any order, within 10 s.
async fn both_learned(rx: &mut mpsc::UnboundedReceiver<Learned>) -> (RpcError, RpcError) {
    let (mut closed, mut broken) = (None, None);
    while closed.is_none() || broken.is_none() {
        match tokio::time::timeout(Duration::from_secs(10), rx.recv()).await {
            Ok(Some(Learned::Closed(reason))) => closed = Some(reason),
            Ok(Some(Learned::OnBroken(reason))) => broken = Some(reason),
            other => panic!("the server did not learn that the client left: {other:?}"),
        }
    }
    (closed.unwrap(), broken.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_learns_that_a_node_client_left_without_calling_its_callback() {
    let before = alive_tasks();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let server = Server::builder(move |_context| Stub::new(Watcher(tx.clone())))
        .bind("127.0.0.1:0")
        .await
        .unwrap();
    let url = format!("ws://{}/", server.local_addr());
    let out = tokio::task::spawn_blocking(move || crate::node::run_script("depart.mjs", &[&url]))
        .await
        .unwrap();
    assert_eq!(out.trim(), r#"{"answer":true}"#);

    // The Node process exited without closing the socket: the connection's end is all there is.
    let (closed, broken) = both_learned(&mut rx).await;
    for reason in [&closed, &broken] {
        assert!(
            matches!(reason, RpcError::Disconnected { .. }),
            "the departure is a disconnect: {reason:?}"
        );
    }
    server.shutdown().await;
    assert_tasks_at_most(before).await;
}

#[tokio::test]
async fn closed_and_on_broken_follow_the_session_a_capability_came_through() {
    let before = alive_tasks();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let (near, far) = memory::pair();
    let server = Session::new(far, Some(Stub::new(Watcher(tx))));
    let client = Session::new(near, None);
    let callback = Stub::from_fn(|_| async { Ok(Value::Null) });
    let answer = client
        .main()
        .call("watch", vec![Value::Stub(callback.clone())]);
    assert_eq!(answer.await.unwrap(), Value::Bool(true));
    assert!(
        rx.try_recv().is_err(),
        "nothing is learned while the client is there"
    );

    client.abort("the user closed the tab");
    let (closed, broken) = both_learned(&mut rx).await;
    for reason in [&closed, &broken] {
        assert!(
            reason.to_string().contains("the user closed the tab"),
            "the reason is the peer's: {reason}"
        );
    }
    // The client's own capabilities: the main stub it got from the aborted session reports the
    // same end at once; its local callback is not tied to any connection.
    let main_closed = RpcClient::closed(&client.main()).await;
    assert!(main_closed.to_string().contains("the user closed the tab"));
    let local_fired = Arc::new(AtomicU32::new(0));
    let counter = local_fired.clone();
    let registration = callback.on_broken(move |_| {
        counter.fetch_add(1, Ordering::SeqCst);
    });
    let never = tokio::time::timeout(Duration::from_millis(50), callback.closed()).await;
    assert!(never.is_err(), "a local object never closes");
    drop(registration);
    assert_eq!(local_fired.load(Ordering::SeqCst), 0);
    // A broken stub is closed from the start.
    let broken = Stub::broken(RpcError::disconnected("never connected"));
    assert!(matches!(
        broken.closed().await,
        RpcError::Disconnected { .. }
    ));

    drop((client, server, callback));
    assert_tasks_at_most(before).await;
}

#[rpc_interface]
trait Ledger {
    /// Ordinary: cancelled when the session ends.
    async fn slow(&self) -> u32;
    /// Must finish once started.
    #[rpc(run_to_completion)]
    async fn settle(&self) -> u32;
}

struct Books {
    release: Arc<Notify>,
    slow_dropped: Arc<AtomicU32>,
    settled: Arc<AtomicU32>,
}

/// Counts drops of the future it lives in.
struct DropCount(Arc<AtomicU32>);

impl Drop for DropCount {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[rpc_target]
impl Ledger for Books {
    async fn slow(&self) -> u32 {
        let _count = DropCount(self.slow_dropped.clone());
        self.release.notified().await;
        1
    }

    async fn settle(&self) -> u32 {
        self.release.notified().await;
        self.settled.fetch_add(1, Ordering::SeqCst);
        2
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_to_completion_method_outlives_its_session_an_ordinary_one_does_not() {
    let before = alive_tasks();
    let release = Arc::new(Notify::new());
    let (slow_dropped, settled) = (Arc::new(AtomicU32::new(0)), Arc::new(AtomicU32::new(0)));
    let books = Books {
        release: release.clone(),
        slow_dropped: slow_dropped.clone(),
        settled: settled.clone(),
    };
    let (near, far) = memory::pair();
    let server = Session::new(far, Some(LedgerClient::new(books).into_stub()));
    let client = Session::new(near, None);
    let ledger = LedgerClient::from_stub(client.main());
    let (slow, settle) = (ledger.slow(), ledger.settle());
    // Pulled, so both calls are delivered and suspend on the server.
    let waits = tokio::spawn(async move { (slow.await, settle.await) });
    eventually("both calls run on the server", || {
        server.stats().exports >= 3
    })
    .await;

    client.abort("the client went away");
    let (slow, settle) = waits.await.unwrap();
    assert!(slow.is_err() && settle.is_err(), "the client's calls fail");
    eventually("the ordinary method is cancelled", || {
        slow_dropped.load(Ordering::SeqCst) == 1
    })
    .await;
    assert_eq!(settled.load(Ordering::SeqCst), 0);

    // The session is gone; the run-to-completion method is still waiting, and finishes.
    release.notify_waiters();
    eventually("the run-to-completion method finishes", || {
        settled.load(Ordering::SeqCst) == 1
    })
    .await;
    drop((ledger, client, server));
    assert_tasks_at_most(before).await;
}
