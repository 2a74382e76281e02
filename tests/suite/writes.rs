//! How a session answers what it reads: the reader task writes the answers to a burst of calls
//! itself, in one write, instead of handing them to the writer task (a hand-off that costs a
//! task switch, and on a multi-thread runtime usually a thread wake-up, per burst).

use std::future::IntoFuture;
use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::time::Duration;

use capnweb_runtime::transport::{CloseInfo, MessageReceiver, MessageSender, Transport, memory};
use capnweb_runtime::{RpcError, Session, Stub};

use crate::api::TestApi;
use crate::server::BASELINE;
use crate::support::{assert_no_leaks, eventually};

/// One write of the session under test: which path made it, and the frames it held.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Write {
    /// The writer task (`MessageSender::send`).
    Writer(Vec<String>),
    /// Write-through from the task that produced the messages (`MessageSender::try_send`).
    Through(Vec<String>),
}

impl Write {
    fn frames(&self) -> usize {
        self.messages().len()
    }

    /// The frames of this write.
    pub(crate) fn messages(&self) -> &[String] {
        match self {
            Write::Writer(m) | Write::Through(m) => m,
        }
    }
}

pub(crate) type Writes = Arc<Mutex<Vec<Write>>>;

/// Wraps a transport and records each of its writes.
pub(crate) struct Recording<T> {
    pub(crate) inner: T,
    pub(crate) writes: Writes,
}

pub(crate) struct RecordingSender<S> {
    inner: S,
    writes: Writes,
}

impl<T: Transport> Transport for Recording<T> {
    type Sender = RecordingSender<T::Sender>;
    type Receiver = T::Receiver;
    fn split(self) -> (Self::Sender, Self::Receiver) {
        let (tx, rx) = self.inner.split();
        let writes = self.writes;
        (RecordingSender { inner: tx, writes }, rx)
    }
}

impl<S: MessageSender> MessageSender for RecordingSender<S> {
    async fn send(&mut self, messages: Vec<String>) -> Result<(), RpcError> {
        if !messages.is_empty() {
            self.writes
                .lock()
                .unwrap()
                .push(Write::Writer(messages.clone()));
        }
        self.inner.send(messages).await
    }
    async fn close(&mut self, info: CloseInfo) {
        self.inner.close(info).await
    }
    fn try_send(&mut self, messages: &mut Vec<String>) -> bool {
        let before = messages.clone();
        let done = self.inner.try_send(messages);
        let taken = before.len() - messages.len();
        if taken > 0 {
            self.writes
                .lock()
                .unwrap()
                .push(Write::Through(before[..taken].to_vec()));
        }
        done
    }
}

/// Sends `calls` `add(i, 1)` calls (push and pull each) in one go, before the server session
/// starts, so the whole burst is readable at once; then reads the answers, releases them, and
/// returns the server's writes.
async fn answer_burst(calls: usize) -> Vec<Write> {
    let (peer, ours) = memory::pair();
    let (mut to_server, mut from_server) = peer.split();
    let burst = (1..=calls)
        .flat_map(|i| {
            [
                format!(r#"["push",["pipeline",0,["add"],[{i},1]]]"#),
                format!(r#"["pull",{i}]"#),
            ]
        })
        .collect();
    to_server.send(burst).await.unwrap();

    let writes = Writes::default();
    let (api, slot) = TestApi::new();
    let transport = Recording {
        inner: ours,
        writes: writes.clone(),
    };
    let server = Session::new(transport, Some(Stub::new(api)));
    let _ = slot.set(server.clone());

    for i in 1..=calls {
        let answer = from_server.recv().await.unwrap().unwrap();
        assert_eq!(answer, format!(r#"["resolve",{i},{}]"#, i + 1));
    }
    let releases = (1..=calls)
        .map(|i| format!(r#"["release",{i},1]"#))
        .collect();
    to_server.send(releases).await.unwrap();
    eventually("the server to apply the releases", || {
        server.stats() == BASELINE
    })
    .await;
    writes.lock().unwrap().clone()
}

fn shapes(writes: &[Write]) -> Vec<(&'static str, usize)> {
    writes
        .iter()
        .map(|w| match w {
            Write::Writer(_) => ("writer", w.frames()),
            Write::Through(_) => ("through", w.frames()),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_calls_is_answered_by_the_reader_in_one_write() {
    let writes = answer_burst(10).await;
    assert_eq!(shapes(&writes), [("through", 10)]);
}

#[tokio::test]
async fn a_burst_is_answered_in_one_write_on_a_current_thread_runtime_too() {
    let writes = answer_burst(10).await;
    assert_eq!(shapes(&writes), [("through", 10)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_burst_is_answered_in_pieces_while_it_is_read() {
    // The reader writes after every 32 messages it applies (16 calls here, a push and a pull
    // each), so answers start going out before a long burst has been read to its end.
    let writes = answer_burst(40).await;
    assert_eq!(
        shapes(&writes),
        [("through", 16), ("through", 16), ("through", 8)]
    );
}

/// A client session whose writes are recorded, talking to a [`TestApi`] server in memory.
fn recorded_client() -> (Session, Session, Writes) {
    let (a, b) = memory::pair();
    let (api, slot) = TestApi::new();
    let server = Session::new(b, Some(Stub::new(api)));
    let _ = slot.set(server.clone());
    let writes = Writes::default();
    let client = Session::new(
        Recording {
            inner: a,
            writes: writes.clone(),
        },
        None,
    );
    (client, server, writes)
}

// On one thread the order of tasks is fixed, so the writes are too. (On a multi-thread runtime
// a caller on the `block_on` thread races the writer task, which may take a push before its pull
// is queued: still correct, only one write more.)
#[tokio::test]
async fn the_release_after_a_resolve_goes_out_with_the_next_call() {
    let (client, server, writes) = recorded_client();
    let api = client.main();
    for i in 1..=3 {
        let sum: f64 = api.call("add", (i, 1)).typed().await.unwrap();
        assert_eq!(sum, f64::from(i + 1));
    }
    drop(api);
    eventually("the last release to go out", || {
        client.stats() == BASELINE && server.stats() == BASELINE
    })
    .await;
    let frames: Vec<Vec<String>> = writes
        .lock()
        .unwrap()
        .iter()
        .map(|w| w.messages().to_vec())
        .collect();
    let call = |i: i32| {
        [
            format!(r#"["push",["pipeline",0,["add"],[{i},1]]]"#),
            format!(r#"["pull",{i}]"#),
        ]
    };
    let release = |i: i32| format!(r#"["release",{i},1]"#);
    // One write per call: each call's write carries the release of the result before it; the
    // last release, with no call to carry it, goes on its own after a moment.
    assert_eq!(
        frames,
        [
            call(1).to_vec(),
            [vec![release(1)], call(2).to_vec()].concat(),
            [vec![release(2)], call(3).to_vec()].concat(),
            vec![release(3)],
        ]
    );
}

#[tokio::test]
async fn a_waiter_dropped_after_its_wake_up_still_sends_the_release() {
    let (client, server, _writes) = recorded_client();
    let api = client.main();
    let mut waiting = api.call("add", (1, 2)).into_future();
    // Poll once: the push and pull go out, and this future waits for the answer.
    let first =
        std::future::poll_fn(|cx| Poll::Ready(std::pin::Pin::new(&mut waiting).poll(cx))).await;
    assert!(first.is_pending());
    // The answer settles the import (the client's table is back to its main objects) and
    // wakes the future, which is then dropped without ever resuming.
    eventually("the answer to arrive", || client.stats() == BASELINE).await;
    drop(waiting);
    eventually("the release to reach the server", || {
        server.stats() == BASELINE
    })
    .await;
    drop(api);
    assert_no_leaks(&[&client, &server]).await;
}

#[tokio::test]
async fn a_waiter_gone_before_the_answer_still_sends_the_release() {
    let (client, server, _writes) = recorded_client();
    let api = client.main();
    let promise = api.call("delay", (300, "late"));
    // Wait on a copy of the promise and give up long before the answer (the server sleeps
    // 300 ms first), keeping the promise itself.
    let gave_up = tokio::time::timeout(Duration::from_millis(1), promise.clone()).await;
    assert!(gave_up.is_err());
    eventually("the answer to arrive", || client.stats() == BASELINE).await;
    eventually("the release to reach the server", || {
        server.stats() == BASELINE
    })
    .await;
    assert_eq!(promise.typed::<String>().await.unwrap(), "late");
    drop(api);
    assert_no_leaks(&[&client, &server]).await;
}
