//! `capnweb repl` driven through stdin against our server: variables, a capability kept across
//! lines, errors that do not end it, and the variables released (before the session ends).

use std::sync::atomic::Ordering;

use crate::server::{BASELINE, TestServer};
use crate::support::{
    Repl, alive_tasks, assert_tasks_at_most, capnweb_run, capnweb_with_input, eventually,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn variables_keep_capabilities_across_lines() {
    let before = alive_tasks();
    let server = TestServer::start().await;
    let mut repl = Repl::start(&server.ws_url());
    // Completion: members from the server's descriptions (`$meta`), and variables.
    assert_eq!(repl.eval(".complete u").await, "users");
    assert_eq!(
        repl.eval(".complete echo(1, ").await,
        "bytes( date( echo fail false null true undefined users"
    );
    repl.send("let u = users().get(1)").await;
    assert_eq!(repl.eval(".complete u").await, "u users");
    assert_eq!(repl.eval(".complete u.").await, "name profile");
    assert_eq!(repl.eval(".complete let x = u.p").await, "profile");
    assert_eq!(
        repl.eval(".complete users().").await,
        "",
        "unknown before it is evaluated"
    );
    assert_eq!(repl.eval("u.name").await, "'Ada Lovelace'");
    repl.send("let p = u.profile()").await;
    assert_eq!(repl.eval("p.balance").await, "12345678901234567890n");
    assert_eq!(
        repl.eval("echo([p.id, u.name])").await,
        "[ 1, 'Ada Lovelace' ]"
    );
    assert_eq!(repl.eval("u").await, "[capability]");
    // A failing line is reported and the REPL goes on.
    repl.send("users().get(7)").await;
    repl.send("u.name(").await;
    assert_eq!(repl.eval("echo(\"still here\")").await, "'still here'");

    let session = server.only_session();
    assert_eq!(
        server.seen.users_dropped.load(Ordering::SeqCst),
        0,
        "u is held"
    );
    repl.send(".clear").await;
    assert_eq!(repl.eval("echo(1)").await, "1");
    eventually("the server's tables hold only the main objects", || {
        session.stats() == BASELINE
    })
    .await;
    assert_eq!(server.seen.users_released.load(Ordering::SeqCst), 1);

    // Ending the input releases what is left, before the session ends.
    repl.send("let v = users().get(3)").await;
    assert_eq!(repl.eval("v.name").await, "'Grace Hopper'");
    let run = repl.finish().await;
    assert_eq!(run.code(), 0, "{run:?}");
    assert!(
        run.stderr.contains("NotFoundError: no user with id 7"),
        "{run:?}"
    );
    assert!(run.stderr.contains("^ expected a value"), "{run:?}");
    server.wait_sessions_ended().await;
    assert_eq!(
        server.seen.users_released.load(Ordering::SeqCst),
        2,
        "v was released by the client, not dropped with the session"
    );
    server.stop().await;
    assert_tasks_at_most(before).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_releases_and_a_batch_url_is_refused() {
    let before = alive_tasks();
    let server = TestServer::start().await;
    let run = capnweb_with_input(
        &["repl", &server.ws_url()],
        "let u = users().get(2)\nu.name\n.exit\nu.name\n",
    )
    .await;
    assert_eq!(
        (run.code(), run.stdout.as_str()),
        (0, "'Alan Turing'\n"),
        "{run:?}"
    );
    server.wait_sessions_ended().await;
    assert_eq!(server.seen.users_released.load(Ordering::SeqCst), 1);

    let run = capnweb_run(&["repl", &server.batch_url()]).await;
    assert_eq!(run.code(), 2, "{run:?}");
    assert!(run.stderr.contains("needs a WebSocket"), "{run:?}");
    server.stop().await;
    assert_tasks_at_most(before).await;
}
