//! Capabilities with less authority than the one they wrap: a view that allows only some
//! methods ([`Stub::restrict`]), and one that can be revoked now or at a deadline
//! ([`revocable`]). Both are local objects that forward to what they wrap, so they work the
//! same whatever the wrapped capability is (local, remote, a promise) and wherever the view
//! is sent; the peer cannot reach past them.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use crate::error::RpcError;
use crate::stub::Stub;
use crate::target::{CallFuture, RpcTarget};
use crate::wire::Args;

/// Forwards the calls and property reads in `allowed`; refuses the rest.
struct Restricted {
    inner: Stub,
    allowed: HashSet<String>,
}

fn refused(member: &str) -> CallFuture {
    Box::pin(std::future::ready(Err(RpcError::type_error(format!(
        "'{member}' is not allowed on this capability"
    )))))
}

impl RpcTarget for Restricted {
    fn call(self: Arc<Self>, method: &str, args: Args) -> CallFuture {
        if !self.allowed.contains(method) {
            return refused(method);
        }
        let result = self.inner.call(method, args);
        Box::pin(async move { result.await })
    }

    fn get(self: Arc<Self>, property: &str) -> CallFuture {
        if !self.allowed.contains(property) {
            return refused(property);
        }
        let result = self.inner.get(property);
        Box::pin(async move { result.await })
    }

    fn invoke(self: Arc<Self>, _args: Args) -> CallFuture {
        refused("(the capability itself, as a function)")
    }
}

impl Stub {
    /// A view of this capability that allows only the calls and property reads named in
    /// `members` (wire names, e.g. `"getProfile"`); anything else rejects with a `TypeError`
    /// before it reaches the target, whoever holds the view (send it to a peer, and the peer
    /// is held to it too). Dropping the view releases this capability.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use capnweb_runtime::{Args, CallFuture, RpcTarget, Stub, Value};
    ///
    /// struct Users;
    ///
    /// impl RpcTarget for Users {
    ///     fn call(self: Arc<Self>, method: &str, _args: Args) -> CallFuture {
    ///         let answer = Value::from(format!("{method} ran"));
    ///         Box::pin(async move { Ok(answer) })
    ///     }
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let read_only = Stub::new(Users).restrict(["getProfile"]);
    /// assert!(read_only.call("getProfile", ()).await.is_ok());
    /// let refused = read_only.call("deleteUser", ()).await.unwrap_err();
    /// assert_eq!(refused.name(), "TypeError");
    /// # }
    /// ```
    pub fn restrict<I, S>(&self, members: I) -> Stub
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Stub::new(Restricted {
            inner: self.clone(),
            allowed: members.into_iter().map(Into::into).collect(),
        })
    }
}

/// What a revocable view wraps, until it is revoked.
type Slot = Mutex<Option<Stub>>;

/// Forwards everything to what it wraps until revoked; then everything fails.
struct Revocable {
    slot: Arc<Slot>,
}

impl Revocable {
    fn inner(&self) -> Result<Stub, RpcError> {
        self.slot
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .ok_or_else(|| RpcError::new("Error", "this capability has been revoked"))
    }
}

impl RpcTarget for Revocable {
    fn call(self: Arc<Self>, method: &str, args: Args) -> CallFuture {
        let result = self.inner().map(|inner| inner.call(method, args));
        Box::pin(async move { result?.await })
    }

    fn get(self: Arc<Self>, property: &str) -> CallFuture {
        let result = self.inner().map(|inner| inner.get(property));
        Box::pin(async move { result?.await })
    }

    fn invoke(self: Arc<Self>, args: Args) -> CallFuture {
        let result = self.inner().map(|inner| inner.invoke(args));
        Box::pin(async move { result?.await })
    }
}

/// A revocable view of `capability` and the handle that revokes it. Until then the view
/// forwards everything; after [`Revoker::revoke`] every call on it fails with "this
/// capability has been revoked" and `capability` is released (a local object sees `Drop`
/// once nothing else holds it), wherever the view was sent.
///
/// ```
/// use capnweb_runtime::{Stub, Value, revocable};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let service = Stub::from_fn(|_| async { Ok(Value::from("ok")) });
/// let (lease, revoker) = revocable(&service);
/// assert!(lease.invoke(()).await.is_ok());
/// revoker.revoke();
/// assert!(lease.invoke(()).await.is_err());
/// # }
/// ```
pub fn revocable(capability: &Stub) -> (Stub, Revoker) {
    let slot = Arc::new(Mutex::new(Some(capability.clone())));
    let revoker = Revoker {
        slot: Arc::downgrade(&slot),
    };
    (Stub::new(Revocable { slot }), revoker)
}

/// Revokes the view [`revocable`] made. Dropping it does not revoke; the view then lives as
/// long as its holders keep it.
#[derive(Clone, Debug)]
pub struct Revoker {
    /// Weak: once every holder released the view, what it wrapped goes with it.
    slot: Weak<Slot>,
}

impl Revoker {
    /// Revokes the view now: later calls fail, and the wrapped capability is released.
    pub fn revoke(&self) {
        if let Some(slot) = self.slot.upgrade() {
            let released = slot.lock().unwrap_or_else(|e| e.into_inner()).take();
            drop(released);
        }
    }

    /// Revokes the view once `lifetime` has passed (an expiry), on a task of its own. Needs a
    /// tokio runtime.
    pub fn revoke_after(&self, lifetime: Duration) {
        let revoker = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(lifetime).await;
            revoker.revoke();
        });
    }

    /// Whether the view has been revoked (or is gone).
    pub fn is_revoked(&self) -> bool {
        self.slot
            .upgrade()
            .is_none_or(|slot| slot.lock().unwrap_or_else(|e| e.into_inner()).is_none())
    }
}
