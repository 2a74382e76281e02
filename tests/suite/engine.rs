//! The engine end to end, Rust client against Rust server over the in-memory transport.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use capnweb_runtime::transport::memory;
use capnweb_runtime::value::{BigInt, Bytes, Date, Object};
use capnweb_runtime::{RpcError, Session, Stub, Value};

use crate::api::{TestApi, drop_count};
use crate::support::{Listener, assert_no_leaks, eventually, memory_pair};

#[tokio::test]
async fn calls_and_values_round_trip() {
    let (client, server) = memory_pair();
    let api = client.main();
    assert_eq!(api.call("add", (2, 3)).typed::<f64>().await.unwrap(), 5.0);
    assert_eq!(
        api.call("ping", ()).typed::<String>().await.unwrap(),
        "pong"
    );

    let mut obj = Object::new();
    obj.insert("n".into(), Value::Number(-1.5));
    obj.insert("s".into(), Value::String("héllo ✓ \"q\"\nx".into()));
    obj.insert("u".into(), Value::Undefined);
    obj.insert("nan".into(), Value::Number(f64::NAN));
    obj.insert("inf".into(), Value::Number(f64::INFINITY));
    obj.insert(
        "big".into(),
        Value::BigInt(BigInt::from(-9007199254740993i64)),
    );
    obj.insert("d".into(), Value::Date(Date(Some(0.0))));
    obj.insert("bad".into(), Value::Date(Date(None)));
    obj.insert(
        "b".into(),
        Value::Bytes(Bytes {
            data: b"hi".to_vec(),
            ..Default::default()
        }),
    );
    obj.insert(
        "arr".into(),
        Value::Array(vec![
            1.into(),
            Value::Array(vec![2.into(), Value::Array(vec![])]),
        ]),
    );
    let sent = Value::Object(obj);
    let back = api.call("echo", vec![sent.clone()]).await.unwrap();
    assert_eq!(back, sent);
    drop(api);
    assert_no_leaks(&[&client, &server]).await;
}

#[tokio::test]
async fn pipelined_chain_promise_arguments_and_properties() {
    let (client, server) = memory_pair();
    let api = client.main();
    let profile = api.call("users", ()).call("get", (1,)).call("profile", ());
    let profile = profile.await.unwrap();
    let Value::Object(map) = profile else {
        panic!("profile is not an object")
    };
    assert_eq!(
        map.get("bio"),
        Some(&Value::String("First programmer".into()))
    );
    assert_eq!(
        map.get("joined"),
        Some(&Value::Date(Date(Some(1579089600000.0))))
    );

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
    assert_no_leaks(&[&client, &server]).await;
}

#[tokio::test]
async fn returned_capability_is_callable_and_passes_back() {
    let (client, server) = memory_pair();
    let api = client.main();
    let user = api
        .call("users", ())
        .call("get", (3,))
        .as_stub()
        .resolve()
        .await
        .unwrap();
    assert_eq!(
        user.get("email").typed::<String>().await.unwrap(),
        "grace@example.com"
    );
    let described = api.call("describeUser", vec![Value::Stub(user.clone())]);
    assert_eq!(
        described.typed::<String>().await.unwrap(),
        "Grace Hopper <grace@example.com>"
    );
    let times7 = api.call("makeMultiplier", (7,)).as_stub();
    assert_eq!(times7.invoke((6,)).typed::<f64>().await.unwrap(), 42.0);
    drop((api, user, times7));
    assert_no_leaks(&[&client, &server]).await;
}

#[tokio::test]
async fn callbacks_in_both_directions() {
    let (client, server) = memory_pair();
    let api = client.main();
    let times10 = Stub::from_fn(|args| async move {
        let x: f64 = capnweb_runtime::from_value(args.into_iter().next().unwrap_or_default())?;
        Ok(Value::Number(x * 10.0))
    });
    let sum = api.call(
        "callbackSum",
        vec![Value::Stub(times10), Value::Number(3.0)],
    );
    assert_eq!(sum.typed::<f64>().await.unwrap(), 60.0);

    let (listener, _) = Listener::new();
    let acks = api.call(
        "useListener",
        vec![Value::Stub(Stub::from_arc(listener.clone())), 2.into()],
    );
    let acks: Vec<String> = acks.typed().await.unwrap();
    assert_eq!(acks, ["ack 1", "ack 2", "done after 2"]);
    assert_eq!(listener.events.load(Ordering::SeqCst), 2);
    drop(api);
    assert_no_leaks(&[&client, &server]).await;
    // The server dropped its stub for the listener: only our Arc is left.
    assert_eq!(Arc::strong_count(&listener), 1);
}

#[tokio::test]
async fn errors_keep_name_message_and_properties() {
    let (client, server) = memory_pair();
    let api = client.main();
    let err = api.call("fail", ("not-found",)).await.unwrap_err();
    let js = err.as_js_error().expect("an application error");
    assert_eq!(
        (js.name.as_str(), js.message.as_str()),
        ("NotFoundError", "the thing was not found")
    );
    assert_eq!(
        js.props.get("code"),
        Some(&Value::String("E_NOT_FOUND".into()))
    );

    let thrown = api.call("fail", ("string",)).await.unwrap_err();
    assert!(matches!(thrown, RpcError::Thrown(v) if *v == Value::String("a thrown string".into())));

    let chained = api
        .call("users", ())
        .call("get", (999,))
        .call("profile", ())
        .await
        .unwrap_err();
    assert_eq!(chained.message(), "no user with id 999");

    let missing = api.call("noSuchMethod", (1,)).await.unwrap_err();
    assert_eq!(
        (missing.name(), missing.message()),
        ("TypeError", "'noSuchMethod' is not a function.".into())
    );
    drop(api);
    assert_no_leaks(&[&client, &server]).await;
}

#[tokio::test]
async fn dropping_a_stub_releases_the_target() {
    let (client, server) = memory_pair();
    let api = client.main();
    let key = "engine-release";
    let counter = api.call("makeCounter", (key, 10)).as_stub();
    assert_eq!(
        counter
            .call("increment", (5,))
            .typed::<f64>()
            .await
            .unwrap(),
        15.0
    );
    assert_eq!(counter.get("value").typed::<f64>().await.unwrap(), 15.0);
    assert_eq!(drop_count(key), 0);
    drop(counter);
    eventually("the counter's Drop to run on the server", || {
        drop_count(key) == 1
    })
    .await;
    drop(api);
    assert_no_leaks(&[&client, &server]).await;
    assert_eq!(drop_count(key), 1, "Drop must run exactly once");
}

#[tokio::test]
async fn pipelined_calls_keep_order() {
    let (client, server) = memory_pair();
    let api = client.main();
    let counter = api.call("makeCounter", ("engine-eorder", 0)).as_stub();
    let a = counter.call("increment", (1,));
    let b = counter.call("increment", (2,));
    let c = counter.call("increment", (3,));
    assert_eq!(c.typed::<f64>().await.unwrap(), 6.0);
    assert_eq!(a.typed::<f64>().await.unwrap(), 1.0);
    assert_eq!(b.typed::<f64>().await.unwrap(), 3.0);
    drop((api, counter));
    assert_no_leaks(&[&client, &server]).await;
}

#[tokio::test]
async fn disconnect_fails_pending_calls_and_drops_exports() {
    let (client, server) = memory_pair();
    let api = client.main();
    let pending = api.call("hang", ());
    let (held, _) = Listener::new();
    let ok = api.call(
        "holdCallback",
        vec![Value::Stub(Stub::from_arc(held.clone()))],
    );
    assert!(ok.typed::<bool>().await.unwrap());
    assert_eq!(
        Arc::strong_count(&held),
        2,
        "exported to the server, which holds it"
    );
    server.abort("server going away");
    let err = pending.await.unwrap_err();
    assert!(
        err.to_string().contains("server going away"),
        "unexpected error: {err}"
    );
    let later = api.call("ping", ()).await.unwrap_err();
    assert!(
        later.to_string().contains("server going away"),
        "unexpected error: {later}"
    );
    eventually("our export to be dropped after the disconnect", || {
        Arc::strong_count(&held) == 1
    })
    .await;
    assert!(client.broken_reason().is_some());
}

/// A server that hands its main object the session handle in `setup` must have it in place for
/// a call that was already waiting on the connection. The setup sleeps to widen the window in
/// which a session that started reading too early would answer `stats()` with "no session".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn setup_runs_before_the_first_message_is_read() {
    let (a, b) = memory::pair();
    let client = Session::new(a, None);
    let api = client.main();
    let stats = tokio::spawn(async move {
        api.call("stats", ())
            .typed::<std::collections::HashMap<String, f64>>()
            .await
    });
    tokio::time::sleep(Duration::from_millis(20)).await;

    let (main, slot) = TestApi::new();
    let server = Session::builder()
        .main(Stub::new(main))
        .on_start(move |session| {
            std::thread::sleep(Duration::from_millis(100));
            let _ = slot.set(session.clone());
        })
        .start(b);
    let answer = stats.await.expect("the stats task").expect("stats()");
    assert!(answer["exports"] >= 1.0, "stats() answered {answer:?}");
    assert_no_leaks(&[&client, &server]).await;
}
