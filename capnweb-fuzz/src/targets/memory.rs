//! The fast path: a server session over the in-memory transport, the fuzzer holding the other
//! end raw.

use capnweb_runtime::Session;
use capnweb_runtime::transport::memory::{self, MemoryReceiver, MemorySender};
use capnweb_runtime::transport::{MessageReceiver, MessageSender, Transport};

use super::{Outcome, Wire, converse};
use crate::api;
use crate::oracles::{HANG_LIMIT, Oracle, Violation};
use crate::rng::Rng;

struct MemoryWire {
    tx: Option<MemorySender>,
    rx: MemoryReceiver,
}

impl Wire for MemoryWire {
    async fn send(&mut self, frames: Vec<String>) -> bool {
        match &mut self.tx {
            Some(tx) => tx.send(frames).await.is_ok(),
            None => false,
        }
    }

    async fn recv(&mut self) -> Option<String> {
        // A close frame from the server arrives as an error: the end either way.
        self.rx.recv().await.and_then(Result::ok)
    }

    async fn close(&mut self) {
        // Dropping the sender is a clean close for the receiving session (`CloseInfo` has no
        // public constructor).
        self.tx = None;
    }
}

/// Runs one input against a fresh server session in memory.
pub async fn exec(input: &[String], rng: &mut Rng) -> Outcome {
    let (ours, theirs) = memory::pair();
    let server = Session::builder().main(api::main_object()).start(theirs);
    let (tx, rx) = ours.split();
    let mut wire = MemoryWire { tx: Some(tx), rx };
    let mut outcome = converse(&mut wire, input, rng).await;
    drop(wire);
    if tokio::time::timeout(HANG_LIMIT, server.closed())
        .await
        .is_err()
    {
        outcome.violations.push(Violation::new(
            Oracle::Hang,
            format!("the server session did not end within {HANG_LIMIT:?} after its peer closed"),
        ));
    }
    outcome
}
