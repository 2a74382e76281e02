//! Attenuation and revocation with the peer as the holder, over memory, our WebSocket server
//! and the npm capnweb server: a restricted capability refuses what it does not allow before
//! it reaches our object; a revoked one fails every later call and our object is dropped.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use capnweb_runtime::{Args, CallFuture, RpcError, RpcTarget, Stub, Value, revocable};

use crate::support::{Listener, eventually};
use crate::transports::{Over, over_each};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restricted_capability_refuses_what_it_does_not_allow() {
    over_each(Over::SESSIONS, |api: Stub, over| async move {
        let (listener, dropped) = Listener::new();
        let only_events = Stub::from_arc(listener.clone()).restrict(["onEvent"]);
        // The server calls onEvent twice, then done: refused by the view.
        let outcome = api.call("useListener", vec![Value::Stub(only_events), 2.into()]);
        let error = outcome.await.unwrap_err();
        assert!(
            error
                .to_string()
                .contains("'done' is not allowed on this capability"),
            "{over:?}: {error:?}"
        );
        assert_eq!(listener.events.load(Ordering::SeqCst), 2, "{over:?}");
        drop(listener);
        eventually("the view and our listener are released", || {
            dropped.load(Ordering::SeqCst) == 1
        })
        .await;
    })
    .await;
}

/// Doubles its argument; counts its drops.
struct Doubler(Arc<AtomicU32>);

impl RpcTarget for Doubler {
    fn call(self: Arc<Self>, method: &str, _args: Args) -> CallFuture {
        let error = RpcError::no_such_method(method);
        Box::pin(async move { Err(error) })
    }

    fn invoke(self: Arc<Self>, args: Args) -> CallFuture {
        let x: Result<f64, _> = args.get(0);
        Box::pin(async move { Ok(Value::from(x? * 2.0)) })
    }
}

impl Drop for Doubler {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_capability_fails_and_its_target_is_dropped() {
    over_each(Over::SESSIONS, |api: Stub, over| async move {
        let dropped = Arc::new(AtomicU32::new(0));
        let (lease, revoker) = revocable(&Stub::new(Doubler(dropped.clone())));
        let held = api.call("holdCallback", vec![Value::Stub(lease)]).await;
        assert_eq!(held.unwrap(), Value::Bool(true), "{over:?}");
        assert_eq!(
            api.call("callHeld", (4,)).await.unwrap(),
            Value::from(8),
            "{over:?}"
        );

        revoker.revoke();
        assert!(revoker.is_revoked());
        // Released at once, although the peer still holds the view.
        assert_eq!(dropped.load(Ordering::SeqCst), 1, "{over:?}");
        let error = api.call("callHeld", (5,)).await.unwrap_err();
        assert!(error.to_string().contains("revoked"), "{over:?}: {error:?}");
        assert_eq!(api.call("dropHeld", ()).await.unwrap(), Value::Bool(true));
    })
    .await;
}

#[tokio::test]
async fn a_revocable_capability_expires() {
    let before = crate::support::alive_tasks();
    let dropped = Arc::new(AtomicU32::new(0));
    let (lease, revoker) = revocable(&Stub::new(Doubler(dropped.clone())));
    assert_eq!(lease.invoke((1,)).await.unwrap(), Value::from(2));
    revoker.revoke_after(std::time::Duration::from_millis(20));
    eventually("the lease expires", || revoker.is_revoked()).await;
    assert!(lease.invoke((1,)).await.is_err());
    assert_eq!(dropped.load(Ordering::SeqCst), 1);
    crate::support::assert_tasks_at_most(before).await;
}
