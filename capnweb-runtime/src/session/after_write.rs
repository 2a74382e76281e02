//! Dropping large values after the reader's next write instead of before it.
//!
//! A call the reader delivers runs inline, and what it leaves behind (the result it returned,
//! already serialized; the argument text it was read from; the received message) would be freed
//! before the reader writes the answer. For a large value that is tens of microseconds of
//! `free` (a tree of a thousand allocations, and glibc consolidates its bins whenever a chunk of
//! 64 KiB or more is freed) spent while the peer waits. Values handed to [`drop_after_write`]
//! on the reader's thread wait in a per-thread list that the reader empties right after it
//! writes (and whenever it stops), so that time overlaps with the peer's work instead.

use std::cell::RefCell;

/// Below this size (of the value's wire text) dropping costs less than deferring it.
const DEFER_DROP_MIN_LEN: usize = 4096;

thread_local! {
    /// Values waiting for the reader on this thread to finish its write.
    static WAITING: RefCell<Vec<Box<dyn Send>>> = const { RefCell::new(Vec::new()) };
}

/// Drops `value`, whose wire text is `wire_len` bytes long: after the current reader's next
/// write if it is large and this thread is applying a received message for a session's
/// reader; at once otherwise.
pub(crate) fn drop_after_write<T: Send + 'static>(value: T, wire_len: usize) {
    if wire_len >= DEFER_DROP_MIN_LEN && super::io::reader_is_applying() {
        WAITING.with_borrow_mut(|waiting| waiting.push(Box::new(value)));
    } else {
        drop(value);
    }
}

/// Drops everything waiting on this thread (the reader calls it after each write).
pub(crate) fn drop_waiting() {
    // Taken out first: a value's `Drop` may itself hand something over.
    let waiting = WAITING.with_borrow_mut(std::mem::take);
    drop(waiting);
}

/// Empties the list when dropped, however the reader's loop ends.
pub(crate) struct DropWaitingOnExit;

impl Drop for DropWaitingOnExit {
    fn drop(&mut self) {
        drop_waiting();
    }
}
