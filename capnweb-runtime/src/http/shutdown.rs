//! Graceful shutdown: every task a server starts is tracked, and told when to stop and by when.
//!
//! Shutdown is a signal, not a command that waits: each task reacts to it on its own (the
//! accept loop stops, an HTTP connection finishes its request, a WebSocket session lets calls in
//! flight settle) and gives up at the deadline. So dropping a [`crate::Server`] without awaiting
//! its shutdown still stops everything, and awaiting it only waits for the tasks to be gone.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

use crate::active::ActiveCount;

/// The shutdown state shared by a server's tasks.
pub(crate) struct Shutdown {
    /// `Some(deadline)` once shutdown has begun.
    deadline: watch::Sender<Option<Instant>>,
    /// How long tasks may take to finish after the signal.
    grace: Duration,
    /// Tasks started and not yet ended.
    live: Arc<ActiveCount>,
}

impl Shutdown {
    pub(crate) fn new(grace: Duration) -> Arc<Shutdown> {
        Arc::new(Shutdown {
            deadline: watch::Sender::new(None),
            grace,
            live: Arc::default(),
        })
    }

    /// Spawns `fut` as a tracked task: shutdown waits for it.
    pub(crate) fn spawn(self: &Arc<Self>, fut: impl Future<Output = ()> + Send + 'static) {
        let active = self.live.enter();
        tokio::spawn(async move {
            let _active = active;
            fut.await;
        });
    }

    /// Begins shutdown (once; later calls keep the first deadline).
    pub(crate) fn begin(&self) {
        let deadline = Instant::now() + self.grace;
        self.deadline.send_if_modified(|current| {
            if current.is_some() {
                return false;
            }
            *current = Some(deadline);
            true
        });
    }

    /// Whether shutdown has begun.
    pub(crate) fn has_begun(&self) -> bool {
        self.deadline.borrow().is_some()
    }

    /// Resolves when shutdown begins, with its deadline.
    pub(crate) fn begun(&self) -> impl Future<Output = Instant> + Send + 'static {
        let mut rx = self.deadline.subscribe();
        async move {
            match rx.wait_for(Option::is_some).await {
                Ok(deadline) => deadline.unwrap_or_else(Instant::now),
                // The server state is gone: nothing to wait for.
                Err(_) => Instant::now(),
            }
        }
    }

    /// Waits until every tracked task has ended.
    pub(crate) async fn idle(&self) {
        self.live.idle().await;
    }
}
