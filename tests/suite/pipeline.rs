//! The pipelining method set (`call`, `call_path`, `invoke`, `get`, `get_path`) on every
//! handle — `Stub`, `Promise`, `RpcPromise<T>` — over a session, and the named futures of
//! `Promise`, `Promise::typed` and `Stub::resolve`.

use std::future::IntoFuture;

use capnweb_runtime::value::PropertyKey;
use capnweb_runtime::{Promise, RpcError, RpcFuture, RpcPromise, Stub, Value};
use serde::{Serialize, Serializer};

use crate::support::{assert_no_leaks, memory_pair};

fn path(names: &[&str]) -> Vec<PropertyKey> {
    names
        .iter()
        .map(|n| PropertyKey::Name(n.to_string()))
        .collect()
}

/// A callback that doubles its argument.
fn doubler() -> Stub {
    Stub::from_fn(|args: Vec<Value>| async move {
        let x: f64 = capnweb_runtime::from_value(args.into_iter().next().unwrap())?;
        Ok(Value::Number(2.0 * x))
    })
}

/// An argument that refuses to be converted.
struct Unconvertible;

impl Serialize for Unconvertible {
    fn serialize<S: Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
        Err(serde::ser::Error::custom("refuses to be converted"))
    }
}

#[tokio::test]
async fn every_handle_pipelines_calls_and_reads() {
    let (client, server) = memory_pair();
    let api = client.main();

    // `wrapCallback(cb)` answers `{cb}`: calls through a path of the unresolved result.
    let wrapped = api.call("wrapCallback", (doubler(),));
    let cb = path(&["cb"]);
    let via_path = wrapped.call_path(&cb, (1,));
    let via_get = wrapped.get("cb").invoke((2,));
    let via_get_path = wrapped.get_path(&cb).invoke((3,));
    assert_eq!(via_path.await.unwrap(), Value::Number(2.0));
    assert_eq!(via_get.await.unwrap(), Value::Number(4.0));
    assert_eq!(via_get_path.await.unwrap(), Value::Number(6.0));

    // The same through a typed promise, each result typed by the caller.
    let typed: RpcPromise<Value> = RpcPromise::from_untyped(api.call("wrapCallback", (doubler(),)));
    let via_path = typed.call_path::<f64>(&cb, (4,));
    let via_get = typed.get::<Value>("cb").invoke::<f64>((5,));
    let via_get_path = typed.get_path::<Value>(&cb).invoke::<u32>((6,));
    assert_eq!(via_path.await.unwrap(), 8.0);
    assert_eq!(via_get.await.unwrap(), 10.0);
    assert_eq!(via_get_path.await.unwrap(), 12);

    // `makeMultiplier(n)` answers a function: invoked before it arrives.
    let triple: RpcPromise<()> = RpcPromise::from_untyped(api.call("makeMultiplier", (3,)));
    assert_eq!(triple.invoke::<f64>((7,)).await.unwrap(), 21.0);
    // A property the target does not have reads as `undefined`.
    assert_eq!(api.get("ping").await.unwrap(), Value::Undefined);
    let main = Promise::resolved(Value::Stub(api.clone()));
    assert_eq!(
        main.call("ping", ()).typed::<String>().await.unwrap(),
        "pong"
    );
    let typed_main: RpcPromise<()> = RpcPromise::from_untyped(main);
    assert_eq!(typed_main.call::<f64>("add", (1, 2)).await.unwrap(), 3.0);

    drop((api, wrapped, typed, triple, typed_main));
    assert_no_leaks(&[&client, &server]).await;
}

#[tokio::test]
async fn an_argument_that_does_not_convert_rejects_without_a_call() {
    let (client, server) = memory_pair();
    let api = client.main();
    let promised = Promise::resolved(Value::Stub(api.clone()));
    let typed: RpcPromise<()> = RpcPromise::from_untyped(promised.clone());
    let record = path(&["record"]);

    let results = [
        api.call("record", (Unconvertible,)).await,
        api.call_path(&record, (Unconvertible,)).await,
        api.invoke((Unconvertible,)).await,
        promised.call("record", (Unconvertible,)).await,
        promised.call_path(&record, (Unconvertible,)).await,
        promised.invoke((Unconvertible,)).await,
        typed.call::<Value>("record", (Unconvertible,)).await,
        typed.call_path::<Value>(&record, (Unconvertible,)).await,
        typed.invoke::<Value>((Unconvertible,)).await,
    ];
    for result in results {
        let error = result.unwrap_err();
        assert!(
            error.message().contains("refuses to be converted"),
            "{error:?}"
        );
    }
    // Nothing reached the server.
    assert_eq!(
        api.call("recorded", ()).await.unwrap(),
        Value::Array(Vec::new())
    );

    drop((api, promised, typed));
    assert_no_leaks(&[&client, &server]).await;
}

#[tokio::test]
async fn the_futures_own_what_they_need() {
    let (client, server) = memory_pair();
    let api = client.main();

    // Each future is taken from a temporary handle that is gone before it is awaited.
    let resolving = api.call("makeMultiplier", (2,)).as_stub().resolve();
    let failing = api.call("fail", ("type",)).as_stub().resolve();
    let sum: RpcFuture<f64> = api.call("add", (20, 1)).typed();
    let echo = api.call("echo", ("hi",)).into_future();
    assert_eq!(format!("{echo:?}"), "PromiseFuture");
    assert!(format!("{resolving:?}").starts_with("ResolveFuture<"));
    drop(api);

    let double: Stub = resolving.await.unwrap();
    assert_eq!(double.invoke((21,)).typed::<f64>().await.unwrap(), 42.0);
    let error: RpcError = failing.await.unwrap_err();
    assert_eq!(error.name(), "TypeError");
    assert_eq!(sum.await.unwrap(), 21.0);
    assert_eq!(echo.await.unwrap(), Value::from("hi"));

    drop(double);
    assert_no_leaks(&[&client, &server]).await;
}
