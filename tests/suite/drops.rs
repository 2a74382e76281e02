//! When the server drops what a call left behind: a large result is dropped after its answer
//! has been written, so that freeing it overlaps with the peer's work instead of delaying the
//! answer; small results, and results of calls that had to wait, are dropped as usual.

use std::sync::{Arc, Mutex};

use capnweb_runtime::transport::{MessageReceiver, MessageSender, Transport, memory};
use capnweb_runtime::{Session, Stub, rpc_interface, rpc_target};
use serde::{Deserialize, Serialize};

use crate::support::{assert_no_leaks, eventually};
use crate::writes::{Recording, Writes};

/// A result of `len` bytes of text that notes, when dropped, how many writes the server had
/// made by then.
#[derive(Serialize, Deserialize)]
pub struct Noted {
    text: String,
    #[serde(skip)]
    probe: Option<Probe>,
}

/// Where a [`Noted`] reports its drop.
struct Probe {
    writes: Writes,
    writes_at_drop: Arc<Mutex<Vec<usize>>>,
}

impl Drop for Noted {
    fn drop(&mut self) {
        if let Some(probe) = &self.probe {
            let made = probe.writes.lock().unwrap().len();
            probe.writes_at_drop.lock().unwrap().push(made);
        }
    }
}

/// The API under test.
#[rpc_interface]
pub trait Results {
    /// A result of `len` bytes, returned without waiting.
    async fn now(&self, len: u32) -> Noted;
    /// A result of `len` bytes, returned after the method has waited once.
    async fn later(&self, len: u32) -> Noted;
}

struct Server {
    writes: Writes,
    writes_at_drop: Arc<Mutex<Vec<usize>>>,
}

impl Server {
    fn noted(&self, len: u32) -> Noted {
        Noted {
            text: "x".repeat(len as usize),
            probe: Some(Probe {
                writes: self.writes.clone(),
                writes_at_drop: self.writes_at_drop.clone(),
            }),
        }
    }
}

#[rpc_target]
impl Results for Server {
    async fn now(&self, len: u32) -> Noted {
        self.noted(len)
    }

    async fn later(&self, len: u32) -> Noted {
        tokio::task::yield_now().await;
        self.noted(len)
    }
}

/// Calls `method(len)` on a server whose writes are recorded, with raw messages; returns how
/// many of the server's writes, counting from the one that carried the answer, had been made
/// when the result was dropped: 0 if it was dropped before that write, 1 right after it.
async fn writes_before_the_drop(method: &str, len: u32) -> usize {
    let (peer, ours) = memory::pair();
    let (mut to_server, mut from_server) = peer.split();
    let writes = Writes::default();
    let writes_at_drop = Arc::new(Mutex::new(Vec::new()));
    let main: Stub = ResultsClient::new(Server {
        writes: writes.clone(),
        writes_at_drop: writes_at_drop.clone(),
    })
    .into();
    let transport = Recording {
        inner: ours,
        writes: writes.clone(),
    };
    let server = Session::new(transport, Some(main));
    let call = format!(r#"["push",["pipeline",0,["{method}"],[{len}]]]"#);
    to_server
        .send(vec![call, r#"["pull",1]"#.into()])
        .await
        .unwrap();

    let answer = from_server.recv().await.unwrap().unwrap();
    assert!(
        answer.starts_with(r#"["resolve",1,{"text":"xxx"#),
        "{answer:.40}"
    );
    assert_eq!(
        answer.len(),
        len as usize + r#"["resolve",1,{"text":""}]"#.len()
    );
    eventually("the result to be dropped", || {
        writes_at_drop.lock().unwrap().len() == 1
    })
    .await;
    to_server
        .send(vec![r#"["release",1,1]"#.into()])
        .await
        .unwrap();
    eventually("the server to apply the release", || {
        server.stats().exports == 1
    })
    .await;
    let at_drop = writes_at_drop.lock().unwrap()[0];
    let answered_in = writes
        .lock()
        .unwrap()
        .iter()
        .position(|w| {
            w.messages()
                .iter()
                .any(|m| m.starts_with(r#"["resolve",1,"#))
        })
        .expect("the answer was written");
    assert_no_leaks(&[&server]).await;
    at_drop - answered_in
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_result_is_dropped_after_its_answer_is_written() {
    assert_eq!(writes_before_the_drop("now", 64 * 1024).await, 1);
}

#[tokio::test]
async fn a_large_result_is_dropped_after_its_answer_on_a_current_thread_runtime_too() {
    assert_eq!(writes_before_the_drop("now", 64 * 1024).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_result_is_dropped_before_its_answer_is_written() {
    assert_eq!(writes_before_the_drop("now", 16).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_result_of_a_call_that_waited_is_dropped_as_usual() {
    // Encoded in the call's own task, not the reader: nobody would drop it later.
    assert_eq!(writes_before_the_drop("later", 64 * 1024).await, 0);
}
