//! Graceful shutdown: every task a server starts, and every WebSocket session, is tracked, and
//! told when to stop and by when.
//!
//! Shutdown is a signal, not a command that waits: each task reacts to it on its own (the
//! accept loop stops, an HTTP connection finishes its request, a WebSocket session lets calls in
//! flight settle) and gives up at the deadline. So dropping a [`crate::Server`] without awaiting
//! its shutdown still stops everything, and awaiting it only waits for the tasks to be gone.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

use crate::active::ActiveCount;
use crate::session::Session;
use crate::sync::lock;

/// The shutdown state shared by a server's tasks.
pub(crate) struct Shutdown {
    /// `Some(deadline)` once shutdown has begun.
    deadline: watch::Sender<Option<Instant>>,
    /// How long tasks may take to finish after the signal.
    grace: Duration,
    /// Tasks started and not yet ended, and WebSocket sessions not yet ended.
    live: Arc<ActiveCount>,
    /// The WebSocket sessions that have not ended, closed gracefully when shutdown begins.
    /// Kept here rather than each by a task of its own waiting for shutdown: an idle session
    /// then costs no task (about 1 KiB less per connection).
    sessions: Mutex<Sessions>,
    /// The runtime the sessions run on, for the tasks that close them.
    runtime: OnceLock<tokio::runtime::Handle>,
}

#[derive(Default)]
struct Sessions {
    next_id: u64,
    open: HashMap<u64, Session>,
}

impl Shutdown {
    pub(crate) fn new(grace: Duration) -> Arc<Shutdown> {
        Arc::new(Shutdown {
            deadline: watch::Sender::new(None),
            grace,
            live: Arc::default(),
            sessions: Mutex::default(),
            runtime: OnceLock::new(),
        })
    }

    /// Tracks a WebSocket session until it ends: shutdown closes it gracefully (calls in
    /// flight finish, until the deadline) and waits for it. Needs a tokio runtime.
    pub(crate) fn track(self: &Arc<Self>, session: Session) {
        let active = self.live.enter();
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let _ = self.runtime.set(runtime);
        }
        let id = {
            let mut sessions = lock(&self.sessions);
            // Checked under the lock `begin` takes after setting the deadline, so a session
            // is either closed by `begin` or sees the deadline here.
            if let Some(deadline) = *self.deadline.borrow() {
                drop(sessions);
                self.spawn(async move {
                    let _active = active;
                    session.close_gracefully(deadline).await;
                });
                return;
            }
            let id = sessions.next_id;
            sessions.next_id += 1;
            sessions.open.insert(id, session.clone());
            id
        };
        let shutdown = Arc::downgrade(self);
        session
            .on_broken(move |reason| {
                tracing::debug!("capnweb: WebSocket session ended: {reason}");
                if let Some(shutdown) = shutdown.upgrade() {
                    // Taken out under the lock, dropped after it.
                    let ended = lock(&shutdown.sessions).open.remove(&id);
                    drop(ended);
                }
                drop(active);
            })
            .keep();
    }

    /// Spawns `fut` as a tracked task: shutdown waits for it.
    pub(crate) fn spawn(self: &Arc<Self>, fut: impl Future<Output = ()> + Send + 'static) {
        let active = self.live.enter();
        tokio::spawn(async move {
            let _active = active;
            fut.await;
        });
    }

    /// Closes every tracked session gracefully by `deadline`, each on a tracked task.
    fn close_sessions(&self, deadline: Instant) {
        let open = std::mem::take(&mut lock(&self.sessions).open);
        if open.is_empty() {
            return;
        }
        let Some(runtime) = self.runtime.get() else {
            return;
        };
        for session in open.into_values() {
            let active = self.live.enter();
            runtime.spawn(async move {
                let _active = active;
                session.close_gracefully(deadline).await;
            });
        }
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
        let deadline = *self.deadline.borrow();
        if let Some(deadline) = deadline {
            self.close_sessions(deadline);
        }
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
