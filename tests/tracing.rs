//! What an operator sees with a `tracing` subscriber: sessions starting and ending, every
//! message in and out (shortened), and a span per delivered call that lasts as long as the
//! call runs; a reconnecting client's state changes.
//!
//! A test binary of its own: `tracing` caches which call sites a subscriber wants per process,
//! so a subscriber set for one test among many running threads can miss events.

use std::io::Write;
use std::sync::{Arc, Mutex};

use std::time::Duration;

use capnweb_runtime::reconnect::ReconnectingSession;
use capnweb_runtime::transport::memory;
use capnweb_runtime::{Session, Stub, Value};
use tracing_subscriber::fmt::format::FmtSpan;

/// Collects what the subscriber writes.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

#[test]
fn sessions_messages_and_calls_are_traced() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_span_events(FmtSpan::CLOSE)
        .with_writer(move || writer.clone())
        .finish();
    tracing::subscriber::set_global_default(subscriber).expect("the only subscriber");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let (near, far) = memory::pair();
        // Invoked with `(ms, v)` it answers `v` after `ms` milliseconds; with `(v)`, at once.
        let api_target = Stub::from_fn(|args: Vec<Value>| async move {
            let mut args = args.into_iter();
            match (args.next(), args.next()) {
                (Some(Value::Number(ms)), Some(v)) => {
                    tokio::time::sleep(Duration::from_millis(ms as u64)).await;
                    Ok(v)
                }
                (Some(v), None) => Ok(v),
                _ => Ok(Value::Undefined),
            }
        });
        let server = Session::new(far, Some(api_target));
        let client = Session::new(near, None);
        let api = client.main();
        let answer = api.invoke((20, "late")).await.unwrap();
        assert_eq!(answer, Value::String("late".into()));
        let big = "x".repeat(5_000);
        assert_eq!(
            api.invoke((big.as_str(),)).await.unwrap(),
            Value::String(big)
        );
        drop(api);
        client.close();
        tokio::time::timeout(Duration::from_secs(5), server.closed())
            .await
            .expect("the server session ends with its client");

        // A reconnect: the first server session aborts, the client dials a second.
        let servers = Arc::new(Mutex::new(Vec::<Session>::new()));
        let dialed = servers.clone();
        let client = ReconnectingSession::builder(move || {
            let (near, far) = memory::pair();
            dialed.lock().unwrap().push(Session::new(far, None));
            std::future::ready(Ok(Session::new(near, None)))
        })
        .start();
        client.connected().await.unwrap();
        let first = servers.lock().unwrap()[0].clone();
        first.abort("the server restarts");
        tokio::time::timeout(Duration::from_secs(5), async {
            while servers.lock().unwrap().len() < 2 || client.session().is_none() {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await
        .expect("the client reconnects");
        client.close().await;
    });
    let log = captured.text();
    let has = |words: &[&str]| {
        log.lines()
            .any(|line| words.iter().all(|w| line.contains(w)))
    };
    let push = r#"frame=["push",["pipeline",0,[],[20,"late"]]]"#;
    // (Session numbers depend on what else the process runs, so they are not matched.)
    for expected in [
        &["session started", "mode=\"connection\""][..],
        &["capnweb::message", "queued session=", push],
        &["capnweb::message", "received session=", push],
        &[
            "capnweb::message",
            "queued session=",
            r#"frame=["resolve",1,"late"]"#,
        ],
        &["session ended", "reason="],
        &["capnweb::reconnect", "Connecting { attempt: 1 }"],
        &["capnweb::reconnect", "state=Connected"],
        &["capnweb::reconnect", "Disconnected", "the server restarts"],
        &["capnweb::reconnect", "state=Closed"],
    ] {
        assert!(has(expected), "the trace shows {expected:?}:\n{log}");
    }
    let connected = log
        .lines()
        .filter(|l| l.contains("state=Connected"))
        .count();
    assert_eq!(connected, 2, "connected, then reconnected:\n{log}");
    // The call's span closes when the method finishes, after it waited on its own task.
    let close = log
        .lines()
        .find(|line| line.contains("call{") && line.contains("close"))
        .unwrap_or_else(|| panic!("a closed span for the delayed call:\n{log}"));
    // Busy while polled, idle while it slept on its own task: the span followed the task.
    assert!(
        close.contains("time.busy") && close.contains("time.idle"),
        "{close}"
    );
    // Large messages are shortened.
    assert!(
        log.contains("bytes)"),
        "a long message is cut with its size:\n{log}"
    );
    assert!(
        !log.contains(&"x".repeat(1_000)),
        "no message is logged whole when large"
    );
}
