//! The capability reference abstraction every stub and promise is built on.

use std::sync::Arc;

/// What a stub or promise points at.
#[derive(Clone)]
pub(crate) enum Hook {
    /// A placeholder until the engine lands.
    Error(Arc<crate::error::RpcError>),
}

impl Hook {
    pub(crate) fn same_as(&self, other: &Hook) -> bool {
        match (self, other) {
            (Hook::Error(a), Hook::Error(b)) => Arc::ptr_eq(a, b),
        }
    }
}

impl std::fmt::Debug for Hook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Hook::Error(e) => write!(f, "error: {e}"),
        }
    }
}
