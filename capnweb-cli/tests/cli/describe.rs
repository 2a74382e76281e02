//! `capnweb describe` against our introspecting server.

use crate::server::TestServer;
use crate::support::{alive_tasks, assert_tasks_at_most, capnweb_run};

const DESCRIBED: &str = "\
interface Directory
  The directory of the command-line tests.

  users() -> UsersClient
      The users, as a capability.
  echo(value: Value) -> Value
      Returns `value` unchanged.
  fail(kind: String) -> Result<u32, RpcError>
      Fails with `NotFoundError` (property `code`) for \"not-found\", else `RangeError`.
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn describe_prints_the_interface() {
    let before = alive_tasks();
    let server = TestServer::start().await;
    let run = capnweb_run(&["describe", &server.ws_url()]).await;
    assert_eq!((run.code(), run.stdout.as_str()), (0, DESCRIBED), "{run:?}");

    let run = capnweb_run(&["describe", &server.batch_url(), "--json"]).await;
    assert_eq!(run.code(), 0, "{run:?}");
    let json: serde_json::Value = serde_json::from_str(run.stdout.trim()).unwrap();
    assert_eq!(json["interface"], "Directory");
    assert_eq!(
        json["members"][2],
        serde_json::json!({
            "name": "fail",
            "kind": "method",
            "params": [{"name": "kind", "type": "String"}],
            "result": "Result<u32, RpcError>",
            "doc": "Fails with `NotFoundError` (property `code`) for \"not-found\", else `RangeError`.",
        })
    );
    server.wait_sessions_ended().await;
    server.stop().await;
    assert_tasks_at_most(before).await;
}
