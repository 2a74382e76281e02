//! `capnweb call`, `repl` and `describe` against the npm capnweb 0.12.0 reference server
//! (`tests/node/server.mjs`, serving `tests/node/api.mjs`).

use crate::call::assert_one_round_trip;
use crate::support::{NodeServer, Proxy, Repl, capnweb_run};

const PROFILE: &str = "{\n  id: 1,\n  bio: 'First programmer',\n  joined: Date(2020-01-15T12:00:00.000Z),\n  tags: [ 'math', 'engines' ]\n}";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chain_is_one_round_trip_with_the_npm_server() {
    let node = NodeServer::start().await;
    let proxy = Proxy::start(&format!("ws://127.0.0.1:{}/", node.port)).await;

    let run = capnweb_run(&["call", &proxy.url("ws", "/"), "users().get(1).profile()"]).await;
    assert_eq!(run.code(), 0, "{run:?}");
    assert_eq!(run.stdout.trim_end(), PROFILE);
    let entries = proxy
        .wait_for("the session's end", |e| e.iter().any(|e| e.what == "ended"))
        .await;
    assert_one_round_trip(&entries, 1, 3);

    // Over HTTP batch: one request carrying the three calls and the pull.
    let run = capnweb_run(&["call", &proxy.url("http", "/"), "users().get(1).name"]).await;
    assert_eq!(
        (run.code(), run.stdout.as_str()),
        (0, "'Ada Lovelace'\n"),
        "{run:?}"
    );
    let entries = proxy.entries();
    let batches: Vec<u64> = entries
        .iter()
        .filter(|e| e.kind == "batch" && e.what.starts_with("POST"))
        .map(|e| e.session)
        .collect();
    assert_eq!(batches.len(), 1, "one HTTP request:\n{}", proxy.log());
    let sent: Vec<String> = entries
        .iter()
        .filter(|e| e.session == batches[0] && e.to_server())
        .filter_map(|e| e.message_kind())
        .filter(|kind| kind != "release")
        .collect();
    assert_eq!(sent, ["push", "push", "push", "pull"], "{}", proxy.log());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn values_errors_and_json_with_the_npm_server() {
    let node = NodeServer::start().await;
    for url in [
        format!("ws://127.0.0.1:{}/", node.port),
        format!("http://127.0.0.1:{}/rpc", node.port),
    ] {
        let expr = r#"echo({n: 123n, at: date(1579089600000), raw: bytes("aGk="), u: undefined, inf: -Infinity})"#;
        let run = capnweb_run(&["call", &url, expr]).await;
        assert_eq!(run.code(), 0, "{run:?}");
        assert_eq!(
            run.stdout,
            "{\n  n: 123n,\n  at: Date(2020-01-15T12:00:00.000Z),\n  raw: Uint8Array(2) [ 104, 105 ],\n  u: undefined,\n  inf: -Infinity\n}\n"
        );
        let run = capnweb_run(&["call", &url, expr, "--json"]).await;
        let printed: serde_json::Value = serde_json::from_str(run.stdout.trim()).unwrap();
        assert_eq!(
            printed,
            serde_json::json!({
                "n": {"$bigint": "123"},
                "at": {"$date": "2020-01-15T12:00:00.000Z"},
                "raw": {"$bytes": "aGk=", "kind": "Uint8Array"},
                "u": {"$undefined": true},
                "inf": {"$number": "-Infinity"},
            })
        );

        let run = capnweb_run(&["call", &url, "fail('not-found')"]).await;
        assert_eq!(run.code(), 1, "{run:?}");
        assert_eq!(
            run.stderr,
            "NotFoundError: the thing was not found\n    code: 'E_NOT_FOUND'\n"
        );
        let run = capnweb_run(&["call", &url, "fail('string')", "--json"]).await;
        assert_eq!(run.code(), 1, "{run:?}");
        assert_eq!(run.stderr.trim(), r#"{"thrown":"a thrown string"}"#);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_repl_keeps_a_capability_on_the_npm_server() {
    let node = NodeServer::start().await;
    let mut repl = Repl::start(&format!("ws://127.0.0.1:{}/", node.port));
    // No introspection: completion offers variables only.
    assert_eq!(repl.eval(".complete u").await, "");
    repl.send("let u = users().get(2)").await;
    assert_eq!(repl.eval(".complete u").await, "u");
    assert_eq!(repl.eval(".complete u.").await, "");
    assert_eq!(repl.eval("u.name").await, "'Alan Turing'");
    // The capability passed back to the server as an argument.
    assert_eq!(
        repl.eval("describeUser(u)").await,
        "'Alan Turing <alan@example.com>'"
    );
    repl.send("let c = makeCounter('cli-repl', 5)").await;
    assert_eq!(repl.eval("c.increment(2)").await, "7");
    assert_eq!(repl.eval("c.value").await, "7");
    assert_eq!(repl.eval(".vars").await, "c");
    assert_eq!(repl.read_line().await, "u");
    repl.send(".clear").await;
    // The leak check, on the server's side: after the releases only the main objects remain.
    assert_eq!(repl.eval("stats()").await, "{ imports: 1, exports: 1 }");
    assert_eq!(repl.eval("disposeCount('cli-repl')").await, "1");
    let run = repl.finish().await;
    assert_eq!((run.code(), run.stderr.as_str()), (0, ""), "{run:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn describe_says_when_there_is_no_introspection() {
    let node = NodeServer::start().await;
    let run = capnweb_run(&["describe", &format!("ws://127.0.0.1:{}/", node.port)]).await;
    assert_eq!(run.code(), 1, "{run:?}");
    assert_eq!(run.stdout, "");
    assert!(run.stderr.contains("offers no introspection"), "{run:?}");
}
