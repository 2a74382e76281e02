//! A panicking target method is contained like a JavaScript throw: that call rejects with an
//! error naming the method, the session and every other call go on.

use std::sync::Arc;
use std::time::Duration;

use capnweb_runtime::{Args, CallFuture, RpcError, RpcTarget, Stub, Value};

use crate::transports::{Over, each_transport};

/// The message a panic of `method` rejects its call with.
fn assert_panicked(result: Result<Value, RpcError>, method: &str, over: Over) {
    let error = result.expect_err("a call whose method panicked must reject");
    let message = error.message();
    assert!(
        message.contains(&format!("the method '{method}' panicked"))
            && message.contains(&format!("{method} was asked to panic")),
        "{over:?}: the rejection names the method and the panic: {error:?}"
    );
    assert_eq!(error.name(), "Error", "{over:?}: {error:?}");
}

async fn panic_then_call(api: Stub, over: Over, method: &'static str) {
    let (panicked, next, pipelined) = tokio::join!(
        api.call(method, ()),
        api.call("add", (2, 3)),
        // Pipelined on the rejected result: fails with the same error, no hang.
        api.call(method, ()).call("anything", ()),
    );
    assert_panicked(panicked, method, over);
    assert_panicked(pipelined, method, over);
    assert_eq!(next.expect("the next call succeeds"), Value::Number(5.0));
    if over != Over::HttpBatch {
        // The session is still usable after the panic, for later round trips too.
        let again = api.call("add", (1, 1)).await.expect("a later call");
        assert_eq!(again, Value::Number(2.0));
    }
}

#[tokio::test]
async fn a_panic_before_the_first_await_rejects_only_that_call() {
    each_transport(|api, over| panic_then_call(api, over, "panicNow")).await;
}

#[tokio::test]
async fn a_panic_after_an_await_rejects_only_that_call() {
    each_transport(|api, over| panic_then_call(api, over, "panicLater")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn panics_are_contained_on_the_multi_thread_runtime() {
    each_transport(|api, over| async move {
        panic_then_call(api.clone(), over, "panicNow").await;
    })
    .await;
    each_transport(|api, over| panic_then_call(api, over, "panicLater")).await;
}

/// A target whose one method waits until it is told to go on: it suspends without needing a
/// runtime of its own.
struct Waits(Arc<tokio::sync::Notify>);

impl RpcTarget for Waits {
    fn call(self: Arc<Self>, _method: &str, _args: Args) -> CallFuture {
        Box::pin(async move {
            self.0.notified().await;
            Ok(Value::Null)
        })
    }
}

fn assert_unfinished(result: Result<Value, RpcError>) {
    let error = result.expect_err("a call whose task was dropped must reject");
    assert!(
        error.message().contains("the method 'wait' did not finish"),
        "the rejection says which call was dropped unfinished: {error:?}"
    );
}

#[test]
fn a_call_that_suspends_outside_a_runtime_rejects_instead_of_hanging() {
    let target = Stub::new(Waits(Arc::default()));
    // No runtime here: nothing could drive the rest of the call.
    let call = target.call("wait", ());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let result = runtime.block_on(async {
        tokio::time::timeout(Duration::from_secs(10), call)
            .await
            .expect("settled, not hanging")
    });
    assert_unfinished(result);
}

#[test]
fn a_call_whose_runtime_shuts_down_rejects_instead_of_hanging() {
    let target = Stub::new(Waits(Arc::default()));
    let first = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    // Started on `first`, whose shutdown drops the call's task before it finishes.
    let call = first.block_on(async { target.call("wait", ()) });
    drop(first);
    let second = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let result = second.block_on(async {
        tokio::time::timeout(Duration::from_secs(10), call)
            .await
            .expect("settled, not hanging")
    });
    assert_unfinished(result);
}

/// A capability whose `Drop` panics.
struct PanicsOnDrop;

impl RpcTarget for PanicsOnDrop {
    fn call(self: Arc<Self>, method: &str, _args: Args) -> CallFuture {
        let error = RpcError::no_such_method(method);
        Box::pin(async move { Err(error) })
    }
}

impl Drop for PanicsOnDrop {
    fn drop(&mut self) {
        panic!("PanicsOnDrop was dropped");
    }
}

#[tokio::test]
async fn a_panicking_drop_or_on_broken_callback_does_not_take_the_session_down() {
    let (near, far) = capnweb_runtime::transport::memory::pair();
    let main =
        Stub::from_fn(|_args: Vec<Value>| async { Ok(Value::Stub(Stub::new(PanicsOnDrop))) });
    let server = capnweb_runtime::Session::new(far, Some(main));
    let client = capnweb_runtime::Session::new(near, None);
    let api = client.main();

    // The client releases the capability; the server drops it, and its Drop panics.
    let held = api.invoke(()).await.unwrap();
    drop(held);
    crate::support::eventually("the server drops the released capability", || {
        server.stats().exports == 1
    })
    .await;
    assert!(server.broken_reason().is_none(), "the session goes on");
    let again = tokio::time::timeout(Duration::from_secs(10), api.invoke(()))
        .await
        .expect("the session still answers");
    assert!(matches!(again, Ok(Value::Stub(_))), "{again:?}");

    // A panicking on_broken callback does not keep the next one from running.
    let later = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let ran = later.clone();
    server
        .on_broken(|_| panic!("an on_broken callback panicked"))
        .keep();
    server
        .on_broken(move |_| ran.store(true, std::sync::atomic::Ordering::SeqCst))
        .keep();
    drop(api);
    server.abort("the test is over");
    assert!(later.load(std::sync::atomic::Ordering::SeqCst));
    assert!(server.broken_reason().is_some());
}
