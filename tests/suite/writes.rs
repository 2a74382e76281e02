//! How a session answers what it reads: the reader task writes the answers to a burst of calls
//! itself, in one write, instead of handing them to the writer task (a hand-off that costs a
//! task switch, and on a multi-thread runtime usually a thread wake-up, per burst).

use std::sync::{Arc, Mutex};

use capnweb_runtime::transport::{CloseInfo, MessageReceiver, MessageSender, Transport, memory};
use capnweb_runtime::{RpcError, Session, Stub};

use crate::api::TestApi;
use crate::server::BASELINE;
use crate::support::eventually;

/// One write of the session under test: which path made it, and how many frames it held.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Write {
    /// The writer task (`MessageSender::send`).
    Writer(usize),
    /// Write-through from the task that produced the messages (`MessageSender::try_send`).
    Through(usize),
}

type Writes = Arc<Mutex<Vec<Write>>>;

/// Wraps a transport and records each of its writes.
struct Recording<T> {
    inner: T,
    writes: Writes,
}

struct RecordingSender<S> {
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
                .push(Write::Writer(messages.len()));
        }
        self.inner.send(messages).await
    }
    async fn close(&mut self, info: CloseInfo) {
        self.inner.close(info).await
    }
    fn try_send(&mut self, messages: &mut Vec<String>) -> bool {
        let count = messages.len();
        let done = self.inner.try_send(messages);
        let taken = count - messages.len();
        if taken > 0 {
            self.writes.lock().unwrap().push(Write::Through(taken));
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_calls_is_answered_by_the_reader_in_one_write() {
    let writes = answer_burst(10).await;
    assert_eq!(writes, [Write::Through(10)]);
}

#[tokio::test]
async fn a_burst_is_answered_in_one_write_on_a_current_thread_runtime_too() {
    let writes = answer_burst(10).await;
    assert_eq!(writes, [Write::Through(10)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_burst_is_answered_in_pieces_while_it_is_read() {
    // The reader writes after every 32 messages it applies (16 calls here, a push and a pull
    // each), so answers start going out before a long burst has been read to its end.
    let writes = answer_burst(40).await;
    assert_eq!(
        writes,
        [Write::Through(16), Write::Through(16), Write::Through(8)]
    );
}
