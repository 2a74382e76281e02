//! Counting work in flight and waiting until none is left: the settlements a session owes (an
//! HTTP batch answers, and a closing server closes a session, once there are none) and the
//! tasks a server runs (its shutdown returns once there are none).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::Notify;

/// A count of work in flight; each piece holds an [`Active`] guard for as long as it runs.
#[derive(Default)]
pub(crate) struct ActiveCount {
    count: AtomicUsize,
    idle: Notify,
}

/// One piece of work in flight; dropping it (also when its task is dropped unfinished) ends it.
pub(crate) struct Active(Arc<ActiveCount>);

impl ActiveCount {
    /// Counts one more piece of work until the guard is dropped.
    pub(crate) fn enter(self: &Arc<Self>) -> Active {
        self.count.fetch_add(1, Ordering::AcqRel);
        Active(self.clone())
    }

    /// Work in flight right now.
    pub(crate) fn get(&self) -> usize {
        self.count.load(Ordering::Acquire)
    }

    /// Waits until no work is in flight.
    pub(crate) async fn idle(&self) {
        loop {
            // Register for the notification before looking, so a drop to 0 in between is seen.
            let notified = self.idle.notified();
            let mut notified = std::pin::pin!(notified);
            notified.as_mut().enable();
            if self.get() == 0 {
                return;
            }
            notified.await;
        }
    }
}

impl Drop for Active {
    fn drop(&mut self) {
        if self.0.count.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}
