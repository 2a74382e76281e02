//! `capnweb call` against our server: a pipelined chain in one round trip (over WebSocket,
//! seen through the proxy; over HTTP batch, one request), special values both ways, errors
//! with name and properties, exit statuses, `--json`.

use std::sync::atomic::Ordering;

use crate::server::TestServer;
use crate::support::{Proxy, alive_tasks, assert_tasks_at_most, capnweb_run};

const PROFILE: &str = "{\n  id: 2,\n  joined: Date(2020-01-15T12:00:00.000Z),\n  avatar: Uint8Array(2) [ 104, 105 ],\n  balance: 12345678901234567890n\n}";

/// Checks that session `session` of the log is one round trip: the client sent every call
/// and its pull before the server sent anything, and the server answered once.
pub fn assert_one_round_trip(entries: &[crate::support::Entry], session: u64, pushes: usize) {
    let messages: Vec<_> = entries
        .iter()
        .filter(|e| e.session == session && (e.to_server() || e.to_client()))
        .collect();
    let first_answer = messages
        .iter()
        .position(|e| e.to_client())
        .expect("the server answered");
    let before: Vec<String> = messages[..first_answer]
        .iter()
        .filter_map(|e| e.message_kind())
        .collect();
    assert_eq!(
        before.iter().filter(|k| *k == "push").count(),
        pushes,
        "every call went out before the first answer: {before:?}"
    );
    assert_eq!(
        before.last().map(String::as_str),
        Some("pull"),
        "{before:?}"
    );
    let answers: Vec<String> = messages
        .iter()
        .filter(|e| e.to_client())
        .filter_map(|e| e.message_kind())
        .collect();
    assert_eq!(
        answers,
        ["resolve"],
        "one answer, for the pulled end of the chain"
    );
    assert!(
        messages[first_answer..]
            .iter()
            .filter(|e| e.to_server())
            .all(|e| e.message_kind().as_deref() == Some("release")),
        "after the answer the client only releases"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chain_is_one_round_trip_over_websocket() {
    let before = alive_tasks();
    let server = TestServer::start().await;
    let proxy = Proxy::start(&server.ws_url()).await;
    let run = capnweb_run(&["call", &proxy.url("ws", "/"), "users().get(2).profile()"]).await;
    assert_eq!(run.code(), 0, "{run:?}");
    assert_eq!(run.stdout.trim_end(), PROFILE);
    // users(), get(2), profile(): three pushes, then one pull.
    let entries = proxy
        .wait_for("the session's end", |e| e.iter().any(|e| e.what == "ended"))
        .await;
    assert_one_round_trip(&entries, 1, 3);

    // The leak check: the user was released before the session ended.
    server.wait_sessions_ended().await;
    assert_eq!(server.seen.users_dropped.load(Ordering::SeqCst), 1);
    assert_eq!(server.seen.users_released.load(Ordering::SeqCst), 1);
    server.stop().await;
    assert_tasks_at_most(before).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chain_is_one_request_over_http_batch() {
    let before = alive_tasks();
    let server = TestServer::start().await;
    let run = capnweb_run(&[
        "call",
        &server.batch_url(),
        "users().get(2).profile()",
        "--json",
    ])
    .await;
    assert_eq!(run.code(), 0, "{run:?}");
    let printed: serde_json::Value = serde_json::from_str(run.stdout.trim()).unwrap();
    assert_eq!(
        printed,
        serde_json::json!({
            "id": 2,
            "joined": {"$date": "2020-01-15T12:00:00.000Z"},
            "avatar": {"$bytes": "aGk=", "kind": "Uint8Array"},
            "balance": {"$bigint": "12345678901234567890"},
        })
    );
    assert_eq!(
        server.seen.batches.load(Ordering::SeqCst),
        1,
        "one HTTP request"
    );
    // The batch's session dropped what it exported.
    assert_eq!(server.seen.users_dropped.load(Ordering::SeqCst), 1);

    // A property read at the end of the chain, and the transport chosen by the flag.
    let run = capnweb_run(&[
        "call",
        &server.ws_url(),
        "users().get(3).name",
        "--transport",
        "batch",
        "--header",
        "X-Client: cli test",
    ])
    .await;
    assert_eq!(
        (run.code(), run.stdout.as_str()),
        (0, "'Grace Hopper'\n"),
        "{run:?}"
    );
    assert_eq!(server.seen.batches.load(Ordering::SeqCst), 2);
    let run = capnweb_run(&["call", &server.ws_url(), "echo(1)", "-H", "x-client:ws"]).await;
    assert_eq!(run.code(), 0, "{run:?}");
    assert_eq!(
        *server.seen.client_headers.lock().unwrap(),
        ["cli test", "ws"],
        "--header reaches the server over both transports"
    );
    server.wait_sessions_ended().await;
    server.stop().await;
    assert_tasks_at_most(before).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn special_values_travel_both_ways() {
    let before = alive_tasks();
    let server = TestServer::start().await;
    let expr = r#"echo([123n, date("2020-01-15T12:00:00Z"), bytes("aGk="), undefined, NaN, -Infinity, {a: 'x', "b c": null}])"#;
    for url in [server.ws_url(), server.batch_url()] {
        let run = capnweb_run(&["call", &url, expr]).await;
        assert_eq!(run.code(), 0, "{run:?}");
        assert_eq!(
            run.stdout,
            "[\n  123n,\n  Date(2020-01-15T12:00:00.000Z),\n  Uint8Array(2) [ 104, 105 ],\n  undefined,\n  NaN,\n  -Infinity,\n  { a: 'x', 'b c': null }\n]\n"
        );
        let run = capnweb_run(&["call", &url, expr, "--json"]).await;
        assert_eq!(
            run.stdout.trim(),
            r#"[{"$bigint":"123"},{"$date":"2020-01-15T12:00:00.000Z"},{"$bytes":"aGk=","kind":"Uint8Array"},{"$undefined":true},{"$number":"NaN"},{"$number":"-Infinity"},{"a":"x","b c":null}]"#
        );
    }
    server.wait_sessions_ended().await;
    server.stop().await;
    assert_tasks_at_most(before).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_show_name_message_and_properties() {
    let before = alive_tasks();
    let server = TestServer::start().await;
    for url in [server.ws_url(), server.batch_url()] {
        let run = capnweb_run(&["call", &url, "fail(\"not-found\")"]).await;
        assert_eq!(run.code(), 1, "a remote error: {run:?}");
        assert_eq!(run.stdout, "");
        assert_eq!(
            run.stderr,
            "NotFoundError: the thing was not found\n    code: 'E_NOT_FOUND'\n    retry: false\n"
        );
        let run = capnweb_run(&["call", &url, "users().get(9).name", "--json"]).await;
        assert_eq!(run.code(), 1, "{run:?}");
        let error: serde_json::Value = serde_json::from_str(run.stderr.trim()).unwrap();
        assert_eq!(
            error,
            serde_json::json!({"error": {
                "name": "NotFoundError",
                "message": "no user with id 9",
                "properties": {"code": "E_NOT_FOUND"},
            }})
        );
    }
    server.wait_sessions_ended().await;
    assert_eq!(server.seen.users_dropped.load(Ordering::SeqCst), 0);
    server.stop().await;
    assert_tasks_at_most(before).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transport_failures_and_bad_input_have_their_own_status() {
    // A port nobody listens on (bound, then released).
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed = listener.local_addr().unwrap();
    drop(listener);
    for url in [format!("ws://{closed}/"), format!("http://{closed}/rpc")] {
        let run = capnweb_run(&["call", &url, "ping()"]).await;
        assert_eq!(run.code(), 3, "{run:?}");
        assert!(
            run.stderr.starts_with("capnweb: could not connect"),
            "{run:?}"
        );
    }
    let run = capnweb_run(&["call", "ws://127.0.0.1:1/", "users.get(1"]).await;
    assert_eq!(run.code(), 2, "{run:?}");
    assert!(run.stderr.contains("^ expected `,` or `)`"), "{run:?}");
    let run = capnweb_run(&["call", "ftp://127.0.0.1/", "ping()"]).await;
    assert_eq!(run.code(), 2, "{run:?}");

    // A result that does not come in time.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/rpc", silent.local_addr().unwrap());
    let run = capnweb_run(&["call", &url, "ping()", "--timeout", "300ms"]).await;
    assert_eq!(run.code(), 3, "{run:?}");
    assert!(run.stderr.contains("timed out"), "{run:?}");
}

/// The round-trip check rejects a chain whose second call waited for the first answer.
#[test]
fn the_round_trip_check_rejects_calls_made_one_after_another() {
    let log = "\
[#1 ws +0.100 ms] client -> server
  [\"push\", [\"pipeline\", 0, [\"users\"], []]]
[#1 ws +0.200 ms] client -> server
  [\"pull\", 1]
[#1 ws +0.300 ms] server -> client
  [\"resolve\", 1, [\"export\", -1]]
[#1 ws +0.400 ms] client -> server
  [\"push\", [\"pipeline\", -1, [\"get\"], [1]]]
[#1 ws +0.500 ms] client -> server
  [\"pull\", 2]
[#1 ws +0.600 ms] server -> client
  [\"resolve\", 2, \"Ada\"]
";
    let entries = crate::support::parse_log(log);
    assert_eq!(entries.len(), 6);
    let check = std::panic::catch_unwind(|| assert_one_round_trip(&entries, 1, 2));
    assert!(check.is_err(), "two round trips must not pass as one");
}
