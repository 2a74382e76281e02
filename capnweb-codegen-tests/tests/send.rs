//! Compile-time proof that the typed layer is `Send` where it must be: client handles and
//! promises can be moved to other threads and held across `.await` in spawned tasks, the
//! futures of every generated method are `Send`, and so are the dispatch table's futures and
//! (through the trait's signature) any implementation's futures.
//!
//! If any of this stops holding, this file stops compiling.

use std::future::IntoFuture;
use std::sync::Arc;

use capnweb::{
    Args, Promise, PromiseFuture, ResolveFuture, RpcError, RpcFuture, RpcPromise, RpcTarget, Stub,
    Value, rpc_interface, rpc_target,
};

#[rpc_interface]
trait Api {
    async fn get(&self, id: u32) -> String;
    async fn child(&self) -> ApiClient;
    async fn fallible(&self) -> Result<u32, RpcError>;
    #[rpc(property)]
    async fn name(&self) -> String;
    #[rpc(invoke)]
    async fn run(&self, x: u32) -> u32;
}

struct Impl;

#[rpc_target]
impl Api for Impl {
    async fn get(&self, id: u32) -> String {
        tokio::task::yield_now().await;
        id.to_string()
    }
    async fn child(&self) -> ApiClient {
        Impl.into()
    }
    async fn fallible(&self) -> Result<u32, RpcError> {
        Ok(1)
    }
    async fn name(&self) -> String {
        "impl".into()
    }
    async fn run(&self, x: u32) -> u32 {
        x
    }
}

struct Adhoc;

#[rpc_target]
impl Adhoc {
    async fn ping(&self) -> String {
        tokio::task::yield_now().await;
        "pong".into()
    }
}

fn assert_send<T: Send>(_: &T) {}
fn assert_send_sync<T: Send + Sync + 'static>() {}
fn assert_send_static<T: Send + 'static>() {}

/// A result type that is neither `Send` nor `Sync`.
#[derive(serde::Deserialize)]
struct NotSend(std::marker::PhantomData<*const ()>);

/// The handles and futures of the public surface, checked when this file compiles (the
/// function need not run). Futures are `Send` (a task holding one can move between threads)
/// but not `Sync`: nothing polls a future through a shared reference.
const _: fn() = || {
    assert_send_sync::<Stub>();
    assert_send_sync::<Promise>();
    assert_send_sync::<ApiClient>();
    assert_send_sync::<RpcPromise<String>>();
    // A promise and its future own no `T` (only a way to make one), so a result type that is
    // not `Send` does not make them non-`Send`.
    assert_send_sync::<RpcPromise<NotSend>>();
    assert_send_static::<RpcFuture<String>>();
    assert_send_static::<RpcFuture<NotSend>>();
    assert_send_static::<PromiseFuture>();
    assert_send_static::<ResolveFuture<Stub>>();
    assert_send_static::<ResolveFuture<ApiClient>>();
    assert_send_static::<<Promise as IntoFuture>::IntoFuture>();
    assert_send_static::<<RpcPromise<NotSend> as IntoFuture>::IntoFuture>();
};

/// Any implementation's futures are `Send`: generic code (the dispatch table) relies on it.
fn implementation_futures_are_send<T: Api>(target: &T) {
    assert_send(&target.get(1));
    assert_send(&target.child());
    assert_send(&target.fallible());
    assert_send(&target.name());
    assert_send(&target.run(1));
}

#[test]
fn the_typed_layer_is_send() {
    assert_send_sync::<ApiServer<Impl>>();
    implementation_futures_are_send(&Impl);

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let api = ApiClient::new(Impl);
        let promise = api.get(7);
        let future: RpcFuture<String> = promise.clone().into_future();
        assert_send(&future);
        assert_send(&api.resolve());
        assert_send(&api.child().resolve());
        let stub = api.stub().clone();
        assert_send(&stub.resolve());
        assert_send(&stub.get("name").into_future());
        assert_send(&stub.get("name").typed::<String>());
        assert_send(&api.fallible().into_future());
        let dispatch = RpcTarget::call(
            Arc::new(ApiServer(Impl)),
            "get",
            vec![Value::from(1)].into(),
        );
        assert_send(&dispatch);
        let adhoc = RpcTarget::call(Arc::new(Adhoc), "ping", Args::new());
        assert_send(&adhoc);

        // And for real: clients and promises held across `.await` in spawned tasks.
        let task = tokio::spawn(async move {
            let child = api.child();
            tokio::task::yield_now().await;
            let (name, run) = (child.name(), child.run(5));
            (promise.await, name.await, run.await, api.fallible().await)
        });
        let (got, name, run, fallible) = task.await.unwrap();
        assert_eq!(got.unwrap(), "7");
        assert_eq!(name.unwrap(), "impl");
        assert_eq!(run.unwrap(), 5);
        assert_eq!(fallible.unwrap(), 1);
        assert_eq!(dispatch.await.unwrap(), Value::from("1"));
        assert_eq!(adhoc.await.unwrap(), Value::from("pong"));
    });
}
