//! Locking that survives a panic elsewhere.

use std::sync::{Mutex, MutexGuard};

/// Locks `mutex`, taking the data as it is if a thread panicked while holding it: the engine's
/// locks guard tables whose every update is complete before user code can run, so a poisoned
/// lock holds consistent data, and refusing it would turn one contained panic into many.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}
