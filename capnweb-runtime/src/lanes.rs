//! Calls whose arguments contain promises, delivered in the order their arguments settle.
//!
//! Such a call waits for its own arguments and nothing else (protocol.md section 11, rule 4:
//! later calls to the same target are not held back). In JavaScript each call continues as
//! soon as its promises resolve, so calls whose arguments settle in order run in that order.
//! A task per call would lose that order on a multi-thread runtime (the woken tasks race on
//! different workers), so a session's waiting calls on one target share a lane: one task that
//! waits for all of them and delivers each as its arguments complete, in the order they were
//! woken, which is the order the arguments settled.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use tokio::sync::mpsc;

use crate::error::RpcError;
use crate::hook::Hook;
use crate::task::{CallScope, SettleOnDrop};
use crate::value::PropertyKey;
use crate::wire::Args;

/// A call waiting for its arguments; its guard rejects the call if it is dropped unfinished.
pub(crate) struct Waiting {
    pub(crate) target: Hook,
    pub(crate) path: Vec<PropertyKey>,
    pub(crate) args: Pin<Box<dyn Future<Output = Result<Args, RpcError>> + Send>>,
    pub(crate) owed: SettleOnDrop,
}

impl Waiting {
    /// Waits for the arguments, then delivers the call (its first poll runs here, so inside
    /// the lane's poll, in the order the lane polls what was woken) and settles its promise.
    pub(crate) async fn run(self) {
        let hook = match self.args.await {
            Ok(args) => self.target.call(&self.path, args),
            Err(e) => Hook::error(e),
        };
        self.owed.settle(hook);
    }
}

/// How long after the normal end of an HTTP batch its calls may still wait for arguments the
/// batch settled before they are dropped: far longer than delivering settled work takes.
pub(crate) const BATCH_GRACE: std::time::Duration = std::time::Duration::from_millis(500);

/// The lanes of one session, by target.
pub(crate) struct Lanes {
    open: Mutex<HashMap<usize, mpsc::UnboundedSender<Waiting>>>,
    /// Set when the calls still waiting must be dropped (their guards reject them).
    closed: tokio::sync::watch::Sender<bool>,
}

impl Default for Lanes {
    fn default() -> Self {
        Lanes {
            open: Mutex::default(),
            closed: tokio::sync::watch::Sender::new(false),
        }
    }
}

impl Lanes {
    /// Drops every call still waiting for its arguments, now and from now on.
    pub(crate) fn close(&self) {
        self.closed.send_replace(true);
    }

    /// [`close`](Self::close) after `grace`, if any call is waiting (no task otherwise).
    pub(crate) fn close_after(self: &Arc<Self>, grace: std::time::Duration) {
        if self
            .open
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_empty()
        {
            return;
        }
        let lanes = self.clone();
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                tokio::time::sleep(grace).await;
                lanes.close();
            });
        }
    }

    /// Queues `waiting` on the lane of the target at `key`, starting the lane if it has none.
    pub(crate) fn enqueue(scope: &Arc<CallScope>, key: usize, waiting: Waiting) {
        let mut open = scope.lanes.open.lock().unwrap_or_else(|e| e.into_inner());
        // Sent under the lock: a lane closes only under it too, after checking it is empty.
        let waiting = match open.get(&key) {
            Some(lane) => match lane.send(waiting) {
                Ok(()) => return,
                Err(mpsc::error::SendError(waiting)) => waiting,
            },
            None => waiting,
        };
        let (lane, queue) = mpsc::unbounded_channel();
        let _ = lane.send(waiting);
        open.insert(key, lane);
        drop(open);
        crate::task::spawn_detached(run_lane(scope.clone(), key, queue));
    }
}

async fn run_lane(scope: Arc<CallScope>, key: usize, mut queue: mpsc::UnboundedReceiver<Waiting>) {
    let mut closed = scope.lanes.closed.subscribe();
    let mut waiting = FuturesUnordered::new();
    loop {
        if *closed.borrow_and_update() {
            scope
                .lanes
                .open
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&key);
            return;
        }
        while let Ok(next) = queue.try_recv() {
            waiting.push(next.run());
        }
        if waiting.is_empty() {
            let mut open = scope.lanes.open.lock().unwrap_or_else(|e| e.into_inner());
            match queue.try_recv() {
                Ok(next) => waiting.push(next.run()),
                Err(_) => {
                    open.remove(&key);
                    return;
                }
            }
        }
        tokio::select! {
            biased;
            _ = closed.changed() => {}
            Some(next) = queue.recv() => waiting.push(next.run()),
            Some(()) = waiting.next() => {}
        }
    }
}
