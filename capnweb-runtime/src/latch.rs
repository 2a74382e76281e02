//! A value set once that tasks can wait for.
//!
//! What a `tokio::sync::watch` channel does for a flag or a final reason, without its heap
//! block: a watch channel allocates about 330 bytes (most of it eight notifiers), and every
//! idle session held three of them (its end, its writer's end, its lanes' closing).

use std::pin::pin;
use std::sync::OnceLock;

use tokio::sync::Notify;

pub(crate) struct Latch<T> {
    value: OnceLock<T>,
    set: Notify,
}

impl<T> Default for Latch<T> {
    fn default() -> Self {
        Latch {
            value: OnceLock::new(),
            set: Notify::new(),
        }
    }
}

impl<T> Latch<T> {
    /// Sets the value and wakes every waiter; `false` (and `value` dropped) if it was set.
    pub(crate) fn set(&self, value: T) -> bool {
        let fresh = self.value.set(value).is_ok();
        if fresh {
            self.set.notify_waiters();
        }
        fresh
    }

    /// The value, if set.
    pub(crate) fn get(&self) -> Option<&T> {
        self.value.get()
    }

    /// Waits until the value is set.
    pub(crate) async fn wait(&self) -> &T {
        loop {
            let mut notified = pin!(self.set.notified());
            // Registered before the check: a `set` between the two still wakes this waiter.
            notified.as_mut().enable();
            if let Some(value) = self.value.get() {
                return value;
            }
            notified.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Latch;
    use std::sync::Arc;

    #[tokio::test]
    async fn waiters_see_the_first_value_only() {
        let latch = Arc::new(Latch::<u32>::default());
        let waiter = tokio::spawn({
            let latch = latch.clone();
            async move { *latch.wait().await }
        });
        tokio::task::yield_now().await;
        assert_eq!(latch.get(), None);
        assert!(latch.set(7));
        assert!(!latch.set(8));
        assert_eq!(waiter.await.unwrap(), 7);
        assert_eq!(latch.wait().await, &7);
    }
}
