//! `.map()`: recorded closures against our server and the TypeScript server; each map is one
//! round trip, and the recorded programs have the forms of protocol.md section 9.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use capnweb_runtime::value::Object;
use capnweb_runtime::{Promise, Stub, Value};

use crate::api::TestApi;
use crate::node::{self, NodeServer};
use crate::support::assert_no_leaks;
use crate::tap::{Log, sent, sent_after_first_answer, tapped_memory_pair, tapped_websocket};

fn object(entries: Vec<(&str, Value)>) -> Value {
    let mut map = Object::new();
    for (k, v) in entries {
        map.insert(k.into(), v);
    }
    Value::Object(map)
}

fn json(value: &Value) -> serde_json::Value {
    serde_json::from_str(&capnweb_runtime::serialize(value).unwrap()).unwrap()
}

/// Runs every map case against `api`, checking results, wire forms and round trips.
async fn map_cases(api: &Stub, log: &Log) {
    // map.array: one captured stub, the element used twice, a property read inline.
    let users = api.call("users", ());
    let ids = api.call("listUserIds", ());
    let named = ids.map(|id| {
        object(vec![
            ("id", Value::Promise(id.clone())),
            (
                "name",
                Value::Promise(users.call("get", vec![Value::Promise(id)]).get("name")),
            ),
        ])
    });
    let value = named.await.unwrap();
    assert_eq!(
        json(&value),
        serde_json::json!([[{"id":1,"name":"Ada Lovelace"},{"id":2,"name":"Alan Turing"},{"id":3,"name":"Grace Hopper"}]])
    );
    assert!(
        sent_after_first_answer(log).is_empty(),
        "one round trip: {:?}",
        sent_after_first_answer(log)
    );
    assert!(sent(log).contains(
        &r#"["push",["remap",2,[],[["import",1]],[["pipeline",-1,["get"],[["pipeline",0]]],{"id":["pipeline",0],"name":["pipeline",1,["name"]]}]]]"#.to_owned()
    ), "the same program capnweb records: {:?}", sent(log));
    log.lock().unwrap().clear();

    // map.nested: a map inside the mapper, capturing the outer capture.
    let friends =
        ids.map(|id| {
            let user = users.call("get", vec![Value::Promise(id)]);
            let friend_ids = user.call("friendIds", ());
            Value::Promise(friend_ids.map(|fid| {
                Value::Promise(users.call("get", vec![Value::Promise(fid)]).get("name"))
            }))
        });
    assert_eq!(
        json(&friends.await.unwrap()),
        serde_json::json!([[
            [["Alan Turing", "Grace Hopper"]],
            [["Ada Lovelace"]],
            [["Ada Lovelace", "Alan Turing"]]
        ]])
    );
    assert!(sent(log).iter().any(|m| m.contains(r#"["remap",2,[],[["import",-1]],[["pipeline",-1,["get"],[["pipeline",0]]],["pipeline",1,["name"]]]]"#)), "{:?}", sent(log));
    assert!(sent_after_first_answer(log).is_empty());
    log.lock().unwrap().clear();

    // map.null-and-single-value: null passes through, a single object is mapped once.
    let nobody = users
        .call("find", ("nobody",))
        .map(|u| Value::Promise(u.get("name")));
    let grace = users
        .call("find", ("Grace Hopper",))
        .map(|u| Value::Promise(u.get("email")));
    assert_eq!(nobody.await.unwrap(), Value::Null);
    assert_eq!(
        grace.await.unwrap(),
        Value::String("grace@example.com".into())
    );
    log.lock().unwrap().clear();

    // map.with-client-capture: the server calls our function once per element.
    let calls = Arc::new(AtomicU32::new(0));
    let seen = calls.clone();
    let square = Stub::from_fn(move |args| {
        seen.fetch_add(1, Ordering::SeqCst);
        async move {
            let x: f64 = capnweb_runtime::from_value(args.into_iter().next().unwrap_or_default())?;
            Ok(Value::Number(x * x))
        }
    });
    let squares = ids.map(|id| Value::Promise(square.invoke(vec![Value::Promise(id)])));
    assert_eq!(
        json(&squares.await.unwrap()),
        serde_json::json!([[1, 4, 9]])
    );
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    assert!(
        sent(log)
            .iter()
            .any(|m| m.starts_with(r#"["push",["remap",2,[],[["export",-"#)),
        "{:?}",
        sent(log)
    );
    drop(square);
    log.lock().unwrap().clear();

    // Returning an outside capability itself (capnweb 0.12.0's recorder breaks here).
    let users_stub = users.as_stub();
    let pairs =
        ids.map(|id| Value::Array(vec![Value::Promise(id), Value::Stub(users_stub.clone())]));
    let Value::Array(pairs) = pairs.await.unwrap() else {
        panic!("not an array")
    };
    assert_eq!(pairs.len(), 3);
    let Value::Array(first) = &pairs[0] else {
        panic!("not a pair")
    };
    let Value::Stub(returned) = &first[1] else {
        panic!("not a stub: {:?}", first[1])
    };
    let name: String = returned
        .call("get", (2,))
        .get("name")
        .typed()
        .await
        .unwrap();
    assert_eq!(name, "Alan Turing");
    drop((pairs, users_stub));
    drop((users, ids));
}

#[tokio::test]
async fn map_against_our_server() {
    let (api, slot) = TestApi::new();
    let (client, server, log) = tapped_memory_pair(Stub::new(api), &slot);
    let api = client.main();
    map_cases(&api, &log).await;
    drop(api);
    assert_no_leaks(&[&client, &server]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn map_against_the_typescript_server() {
    let server = NodeServer::start_async(node::SERVER_SCRIPT).await;
    let (client, log) = tapped_websocket(&server.ws_url()).await;
    let api = client.main();
    map_cases(&api, &log).await;
    crate::interop_ws::assert_peer_clean(&api).await;
    drop(api);
    assert_no_leaks(&[&client]).await;
}

#[tokio::test]
async fn map_over_a_local_value_runs_here() {
    let local = Promise::resolved(Value::Array(vec![1.into(), 2.into(), 3.into()]));
    let doubled = Stub::from_fn(|args| async move {
        let x: f64 = capnweb_runtime::from_value(args.into_iter().next().unwrap_or_default())?;
        Ok(Value::Number(2.0 * x))
    });
    let result = local.map(|x| Value::Promise(doubled.invoke(vec![Value::Promise(x)])));
    assert_eq!(json(&result.await.unwrap()), serde_json::json!([[2, 4, 6]]));
}

#[tokio::test]
async fn awaiting_a_placeholder_fails_clearly() {
    let local = Promise::resolved(Value::Array(vec![1.into()]));
    let mut escaped = None;
    let _ = local.map(|x| {
        escaped = Some(x.clone());
        Value::Null
    });
    let err = escaped.unwrap().await.unwrap_err();
    assert!(err.to_string().contains("placeholder"), "{err}");
}

/// Our server replaying a mapper that calls a capability the client hosts needs each call's
/// result: it asks for all of them at once (one round trip more for the whole map), not one
/// after another (one round trip per element).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_map_pulls_client_results_together() {
    let (api, slot) = TestApi::new();
    let (client, server, log) = tapped_memory_pair(Stub::new(api), &slot);
    let api = client.main();
    let square = Stub::from_fn(|args| async move {
        let x: f64 = capnweb_runtime::from_value(args.into_iter().next().unwrap_or_default())?;
        Ok(Value::Number(x * x))
    });
    let ids = api.call("listUserIds", ());
    let squares = ids.map(|id| Value::Promise(square.invoke(vec![Value::Promise(id)])));
    assert_eq!(
        json(&squares.await.unwrap()),
        serde_json::json!([[1, 4, 9]])
    );

    // What the client received, up to its first answer to one of the server's pulls.
    let log = log.lock().unwrap().clone();
    let first_answer = log
        .iter()
        .position(|(dir, text)| *dir == ">>" && text.starts_with(r#"["resolve""#))
        .expect("the client answered the server's pulls");
    let pulls_before = log[..first_answer]
        .iter()
        .filter(|(dir, text)| *dir == "<<" && text.starts_with(r#"["pull""#))
        .count();
    assert_eq!(
        pulls_before, 3,
        "every element's result asked for at once: {log:#?}"
    );
    drop((ids, square, api));
    assert_no_leaks(&[&client, &server]).await;
}
