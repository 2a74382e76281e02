//! Dynamic, untyped capability references ([`Stub`]) and promises ([`Promise`]).

use crate::hook::Hook;

/// A capability: a reference to an object that may be local, remote, or still a promise.
///
/// `Clone` duplicates the reference; dropping the last clone releases it on the wire.
#[derive(Clone)]
pub struct Stub {
    pub(crate) hook: Hook,
}

/// An untyped promise for a value: the result of a call or property read that may not have
/// arrived yet. Calls and property reads on it are pipelined.
#[derive(Clone)]
pub struct Promise {
    pub(crate) hook: Hook,
}

impl Stub {
    pub(crate) fn from_hook(hook: Hook) -> Self {
        Stub { hook }
    }

    /// True if both references point at the same underlying object or promise.
    pub fn same_target(&self, other: &Stub) -> bool {
        self.hook.same_as(&other.hook)
    }
}

impl Promise {
    pub(crate) fn from_hook(hook: Hook) -> Self {
        Promise { hook }
    }

    /// True if both promises point at the same underlying call or value.
    pub fn same_target(&self, other: &Promise) -> bool {
        self.hook.same_as(&other.hook)
    }
}

impl std::fmt::Debug for Stub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Stub({:?})", self.hook)
    }
}

impl std::fmt::Debug for Promise {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Promise({:?})", self.hook)
    }
}
