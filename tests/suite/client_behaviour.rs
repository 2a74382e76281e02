//! What a Rust client sees, the same over every transport and peer: against our own server in
//! memory and over WebSocket, and against the npm capnweb 0.12.0 server over WebSocket (whose
//! test API mirrors ours). Each body runs over all of them; see `transports.rs`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use capnweb_runtime::value::{BigInt, Bytes, BytesKind, Date, JsError, Object};
use capnweb_runtime::{RpcError, Stub, Value};

use crate::support::{Listener, eventually};
use crate::transports::{Over, over_each};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_values_and_pipelines_everywhere() {
    over_each(Over::SESSIONS, calls_values_and_pipelines).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn capabilities_and_errors_everywhere() {
    over_each(Over::SESSIONS, capabilities_and_errors).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callbacks_release_and_order_everywhere() {
    over_each(Over::SESSIONS, callbacks_release_and_order).await;
}

async fn calls_values_and_pipelines(api: Stub, _over: Over) {
    assert_eq!(api.call("add", (2, 3)).typed::<f64>().await.unwrap(), 5.0);
    assert_eq!(
        api.call("ping", ()).typed::<String>().await.unwrap(),
        "pong"
    );

    let sent = every_value_type();
    let back = api.call("echo", vec![sent.clone()]).await.unwrap();
    assert_eq!(
        back, sent,
        "every value type survives a round trip through the peer"
    );

    // A 3-deep chain: all three pushes go out before any answer comes back.
    let profile = api.call("users", ()).call("get", (1,)).call("profile", ());
    let Value::Object(profile) = profile.await.unwrap() else {
        panic!("not an object")
    };
    assert_eq!(
        profile.get("joined"),
        Some(&Value::Date(Date(Some(1579089600000.0))))
    );

    // Promises dropped without being awaited are released (the leak check at the end sees it).
    drop(api.call("users", ()).call("get", (1,)));
    let sum = api.call(
        "add",
        vec![
            Value::Promise(api.call("add", (1, 2))),
            Value::Promise(api.call("add", (3, 4))),
        ],
    );
    assert_eq!(sum.typed::<f64>().await.unwrap(), 10.0);

    let name = api.call("users", ()).call("get", (2,)).get("name");
    assert_eq!(name.typed::<String>().await.unwrap(), "Alan Turing");

    drop(api);
}

async fn capabilities_and_errors(api: Stub, _over: Over) {
    let user = api
        .call("users", ())
        .call("get", (3,))
        .as_stub()
        .resolve()
        .await
        .unwrap();
    assert_eq!(
        user.get("name").typed::<String>().await.unwrap(),
        "Grace Hopper"
    );
    let described = api.call("describeUser", vec![Value::Stub(user.clone())]);
    assert_eq!(
        described.typed::<String>().await.unwrap(),
        "Grace Hopper <grace@example.com>"
    );
    drop(user);

    let times7 = api.call("makeMultiplier", (7,)).as_stub();
    assert_eq!(times7.invoke((6,)).typed::<f64>().await.unwrap(), 42.0);
    drop(times7);

    let err = api.call("fail", ("not-found",)).await.unwrap_err();
    let js = err.as_js_error().expect("an application error");
    assert_eq!(
        js.name, "NotFoundError",
        "custom error names survive into Rust"
    );
    assert_eq!(js.message, "the thing was not found");
    assert_eq!(
        js.props.get("code"),
        Some(&Value::String("E_NOT_FOUND".into()))
    );
    let range = api.call("fail", ("range",)).await.unwrap_err();
    assert_eq!(
        (range.name(), range.message()),
        ("RangeError", "out of range, as requested".to_owned())
    );
    let thrown = api.call("fail", ("string",)).await.unwrap_err();
    assert!(
        matches!(&thrown, RpcError::Thrown(v) if **v == Value::String("a thrown string".into())),
        "{thrown:?}"
    );
    let later = api.call("failLater", (20,)).await.unwrap_err();
    assert_eq!(later.message(), "failed after 20 ms");

    let chained = api
        .call("users", ())
        .call("get", (999,))
        .call("profile", ())
        .await
        .unwrap_err();
    assert_eq!(chained.message(), "no user with id 999");
    assert_eq!(
        chained.as_js_error().and_then(|e| e.props.get("code")),
        Some(&Value::String("E_NOT_FOUND".into()))
    );
    let missing = api.call("noSuchMethod", (1,)).await.unwrap_err();
    assert_eq!(
        (missing.name(), missing.message()),
        ("TypeError", "'noSuchMethod' is not a function.".to_owned())
    );

    drop(api);
}

async fn callbacks_release_and_order(api: Stub, over: Over) {
    let calls = Arc::new(AtomicU32::new(0));
    let seen = calls.clone();
    let times10 = Stub::from_fn(move |args| {
        seen.fetch_add(1, Ordering::SeqCst);
        async move {
            let x: f64 = capnweb_runtime::from_value(args.into_iter().next().unwrap_or_default())?;
            Ok(Value::Number(x * 10.0))
        }
    });
    let sum = api.call("callbackSum", vec![Value::Stub(times10), 3.into()]);
    assert_eq!(sum.typed::<f64>().await.unwrap(), 60.0);
    assert_eq!(
        calls.load(Ordering::SeqCst),
        3,
        "the server called our function three times"
    );

    let dropped = Arc::new(AtomicU32::new(0));
    let listener = Stub::new(Listener {
        events: AtomicU32::new(0),
        dropped: dropped.clone(),
    });
    let acks: Vec<String> = api
        .call("useListener", vec![Value::Stub(listener.clone()), 2.into()])
        .typed()
        .await
        .unwrap();
    assert_eq!(acks, ["ack 1", "ack 2", "done after 2"]);

    // Our Drop runs when they dispose their reference (and we drop ours).
    assert!(
        api.call("holdCallback", vec![Value::Stub(listener.clone())])
            .typed::<bool>()
            .await
            .unwrap()
    );
    drop(listener);
    assert_eq!(
        dropped.load(Ordering::SeqCst),
        0,
        "the server still holds the listener"
    );
    assert!(api.call("dropHeld", ()).typed::<bool>().await.unwrap());
    eventually("our listener's Drop after the server disposed it", || {
        dropped.load(Ordering::SeqCst) == 1
    })
    .await;

    // Their Symbol.dispose runs when we drop our stub.
    // Per run: the Rust test API counts disposals per key for the whole process.
    let key = format!("release-{over:?}-{}", std::process::id());
    let counter = api.call("makeCounter", (key.as_str(), 10)).as_stub();
    assert_eq!(
        counter
            .call("increment", (5,))
            .typed::<f64>()
            .await
            .unwrap(),
        15.0
    );
    assert_eq!(counter.get("value").typed::<f64>().await.unwrap(), 15.0);
    assert_eq!(
        api.call("disposeCount", (key.as_str(),))
            .typed::<u32>()
            .await
            .unwrap(),
        0
    );
    drop(counter);
    let mut disposed = 0;
    for _ in 0..300 {
        disposed = api
            .call("disposeCount", (key.as_str(),))
            .typed::<u32>()
            .await
            .unwrap();
        if disposed > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(
        disposed, 1,
        "their disposer ran exactly once after we dropped our stub"
    );

    // E-order: pipelined calls on one target arrive in the order we made them.
    let counter = api
        .call("makeCounter", (format!("{key}-eorder").as_str(), 0))
        .as_stub();
    let (a, b, c) = (
        counter.call("increment", (1,)),
        counter.call("increment", (2,)),
        counter.call("increment", (3,)),
    );
    assert_eq!(
        (
            a.typed::<f64>().await.unwrap(),
            b.typed::<f64>().await.unwrap(),
            c.typed::<f64>().await.unwrap()
        ),
        (1.0, 3.0, 6.0)
    );
    drop(counter);

    drop(api);
    assert_eq!(dropped.load(Ordering::SeqCst), 1, "Drop ran exactly once");
}

fn every_value_type() -> Value {
    let mut err = JsError {
        name: "RangeError".into(),
        message: "as a value".into(),
        ..Default::default()
    };
    err.props.insert("code".into(), Value::Number(7.0));
    let mut nested = Object::new();
    nested.insert(
        "deep".into(),
        Value::Array(vec![Value::Array(vec!["y".into()])]),
    );
    let mut obj = Object::new();
    let entries: Vec<(&str, Value)> = vec![
        ("int", 42.into()),
        ("float", (-1.5).into()),
        ("max_safe", Value::Number(9007199254740991.0)),
        ("tiny", Value::Number(1e-7)),
        ("huge", Value::Number(1e21)),
        ("string", "héllo ✓ \"quoted\"\nnewline".into()),
        ("t", true.into()),
        ("null", Value::Null),
        ("undef", Value::Undefined),
        ("nan", Value::Number(f64::NAN)),
        ("inf", Value::Number(f64::INFINITY)),
        ("ninf", Value::Number(f64::NEG_INFINITY)),
        ("big", Value::BigInt(BigInt::from(-9007199254740993i64))),
        ("date", Value::Date(Date(Some(1709212455678.0)))),
        ("bad_date", Value::Date(Date(None))),
        (
            "bytes",
            Value::Bytes(Bytes {
                data: vec![0, 1, 2, 127, 128, 254, 255],
                kind: BytesKind::Uint8Array,
            }),
        ),
        (
            "i16",
            Value::Bytes(Bytes {
                data: vec![1, 0, 254, 255, 44, 1],
                kind: BytesKind::Int16Array,
            }),
        ),
        (
            "ab",
            Value::Bytes(Bytes {
                data: vec![9, 8, 7],
                kind: BytesKind::ArrayBuffer,
            }),
        ),
        ("error", err.into()),
        ("url", Value::Url("https://example.com/a?b=c".into())),
        (
            "headers",
            Value::Headers(vec![
                ("content-type".into(), "text/plain".into()),
                ("x-custom".into(), "1".into()),
            ]),
        ),
        (
            "arrays",
            Value::Array(vec![
                1.into(),
                Value::Array(vec![2.into(), Value::Array(vec![3.into()])]),
                Value::Array(vec![]),
            ]),
        ),
        ("obj", Value::Object(nested)),
        ("empty", Value::Object(Object::new())),
    ];
    for (k, v) in entries {
        obj.insert(k.into(), v);
    }
    Value::Object(obj)
}
