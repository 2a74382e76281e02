//! The tasks waiting for a promise to settle, local or remote.
//!
//! Each waiter's waker is kept under a token the waiting future holds, so a future dropped
//! before the settlement takes itself off: the list then says truly whether anyone is waiting
//! (a remote settlement decides by it who sends the `release` it owes). No channel per wait:
//! nearly every promise has one waiter, kept inline.

use std::task::Waker;

use smallvec::SmallVec;

#[derive(Default)]
pub(crate) struct WaitList {
    waiters: SmallVec<[(u64, Waker); 1]>,
    next_token: u64,
}

impl WaitList {
    /// Lists the waiter holding `token` with `waker` (giving it a token on its first wait), or
    /// refreshes its waker.
    pub(crate) fn register(&mut self, token: &mut Option<u64>, waker: &Waker) {
        match *token {
            Some(t) => {
                if let Some((_, listed)) = self.waiters.iter_mut().find(|(k, _)| *k == t) {
                    listed.clone_from(waker);
                }
            }
            None => {
                let t = self.next_token;
                self.next_token += 1;
                self.waiters.push((t, waker.clone()));
                *token = Some(t);
            }
        }
    }

    /// Takes the waiter holding `token` off the list.
    pub(crate) fn remove(&mut self, token: u64) {
        self.waiters.retain(|(k, _)| *k != token);
    }

    /// Whether nobody is waiting.
    pub(crate) fn is_empty(&self) -> bool {
        self.waiters.is_empty()
    }

    /// The wakers of everyone waiting (the promise settled).
    pub(crate) fn into_wakers(self) -> impl Iterator<Item = Waker> {
        self.waiters.into_iter().map(|(_, waker)| waker)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::Wake;

    use super::*;

    struct Count(AtomicUsize);

    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn a_removed_waiter_is_not_woken_and_a_refreshed_one_is_woken_once() {
        let (a, b) = (
            Arc::new(Count(AtomicUsize::new(0))),
            Arc::new(Count(AtomicUsize::new(0))),
        );
        let mut list = WaitList::default();
        let (mut ta, mut tb) = (None, None);
        list.register(&mut ta, &Waker::from(a.clone()));
        list.register(&mut tb, &Waker::from(b.clone()));
        list.register(&mut ta, &Waker::from(a.clone()));
        assert_ne!(ta, tb);
        list.remove(tb.unwrap());
        assert!(!list.is_empty());
        list.into_wakers().for_each(Waker::wake);
        assert_eq!(a.0.load(Ordering::SeqCst), 1);
        assert_eq!(b.0.load(Ordering::SeqCst), 0);
    }
}
