//! Call timeouts: one await's own (`Promise::timeout`, `RpcPromise::timeout`) and a session's
//! default (`SessionOptions::call_timeout`). On expiry the await fails with `RpcError::Timeout`,
//! the result is released (the harness's leak check on both sides sees it), and the session
//! stays usable.

use std::time::Duration;

use capnweb_runtime::transport::memory;
use capnweb_runtime::{RpcError, Session, SessionOptions, Stub, Value};

use crate::api::TestApi;
use crate::support::assert_no_leaks;
use crate::transports::{Over, over_each};
use crate::typed_api::{TestApiClient, typed_memory_pair};

const LIMIT: Duration = Duration::from_millis(100);

fn assert_timed_out<T: std::fmt::Debug>(result: Result<T, RpcError>) {
    match result {
        Err(RpcError::Timeout) => {}
        other => panic!("expected RpcError::Timeout, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_await_past_its_timeout_fails_and_releases_the_result_everywhere() {
    over_each(Over::SESSIONS, |api: Stub, _over| async move {
        assert_timed_out(api.call("hang", ()).timeout(LIMIT).await);
        // A call that answers in time is not affected.
        let sum = api
            .call("add", (1, 2))
            .timeout(Duration::from_secs(10))
            .await;
        assert_eq!(sum.unwrap(), Value::Number(3.0));
    })
    .await;
}

#[tokio::test]
async fn a_typed_await_past_its_timeout_fails_and_releases_the_result() {
    let (client, server) = typed_memory_pair();
    let api = TestApiClient::from(client.main());
    assert_timed_out(api.hang().timeout(LIMIT).await);
    assert_eq!(
        api.add(2, 3)
            .timeout(Duration::from_secs(10))
            .await
            .unwrap(),
        5.0
    );
    drop(api);
    assert_no_leaks(&[&client, &server]).await;
}

#[tokio::test]
async fn a_session_default_applies_to_every_await_of_its_results() {
    let (near, far) = memory::pair();
    let (main, slot) = TestApi::new();
    let server = Session::new(far, Some(Stub::new(main)));
    let _ = slot.set(server.clone());
    let mut options = SessionOptions::default();
    options.call_timeout = Some(LIMIT);
    let client = Session::builder().options(options).start(near);
    let api = client.main();

    assert_timed_out(api.call("hang", ()).await);
    assert_timed_out(api.call("hang", ()).typed::<()>().await);
    // Answers within the default still arrive, on the same session.
    assert_eq!(
        api.call("ping", ()).await.unwrap(),
        Value::String("pong".into())
    );
    drop(api);
    assert_no_leaks(&[&client, &server]).await;
}
