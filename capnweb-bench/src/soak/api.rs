//! The soak server's API (`serve ours-soak`): what the soak items need beyond the benchmark
//! API, with every object it hands out counted, so the parent can tell when a storm of
//! disconnects has left nothing behind (`stats` on the server's stdin; see [`live`]).

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use capnweb_runtime::{rpc_interface, rpc_target};

/// Main objects alive: one per session.
static MAINS: AtomicUsize = AtomicUsize::new(0);
/// Capabilities from [`SoakApi::cap`] alive.
static CAPS: AtomicUsize = AtomicUsize::new(0);
/// Callbacks kept by [`SoakApi::keep`] alive.
static CALLBACKS: AtomicUsize = AtomicUsize::new(0);
/// [`SoakApi::hang`] calls still pending.
static HANGS: AtomicUsize = AtomicUsize::new(0);

/// `[sessions, capabilities, callbacks, pending hangs]` alive now.
pub fn live() -> [usize; 4] {
    [&MAINS, &CAPS, &CALLBACKS, &HANGS].map(|c| c.load(Ordering::SeqCst))
}

/// Counts one live object in a counter for as long as it exists.
struct Live(&'static AtomicUsize);

impl Live {
    fn new(counter: &'static AtomicUsize) -> Live {
        counter.fetch_add(1, Ordering::SeqCst);
        Live(counter)
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The main object of every soak session.
#[rpc_interface]
pub trait SoakApi {
    /// `a + b`.
    async fn add(&self, a: i64, b: i64) -> i64;
    /// Returns its argument.
    async fn echo(&self, value: serde_json::Value) -> serde_json::Value;
    /// A new capability, counted while the server side of it exists.
    async fn cap(&self) -> TokenClient;
    /// Keeps `callback` (held by the session's main object until the session ends) and calls
    /// it once.
    async fn keep(&self, callback: CallbackClient) -> i64;
    /// Never answers.
    async fn hang(&self) -> i64;
}

/// A capability handed out by [`SoakApi::cap`].
#[rpc_interface]
pub trait Token {
    /// Always 1.
    async fn touch(&self) -> i64;
}

/// A client-side callback the server keeps.
#[rpc_interface]
pub trait Callback {
    /// Returns `n`.
    async fn call(&self, n: i64) -> i64;
}

/// The soak server's main object (one per session).
pub struct SoakMain {
    _live: Live,
    kept: Mutex<Vec<(CallbackClient, Live)>>,
}

impl SoakMain {
    /// A new main object, counted as a live session.
    pub fn new() -> SoakMain {
        SoakMain {
            _live: Live::new(&MAINS),
            kept: Mutex::new(Vec::new()),
        }
    }
}

struct TokenImpl {
    _live: Live,
}

#[rpc_target]
impl Token for TokenImpl {
    async fn touch(&self) -> i64 {
        1
    }
}

#[rpc_target]
impl SoakApi for SoakMain {
    async fn add(&self, a: i64, b: i64) -> i64 {
        a + b
    }

    async fn echo(&self, value: serde_json::Value) -> serde_json::Value {
        value
    }

    async fn cap(&self) -> TokenClient {
        TokenImpl {
            _live: Live::new(&CAPS),
        }
        .into()
    }

    async fn keep(&self, callback: CallbackClient) -> i64 {
        let answer = callback.call(7).await.unwrap_or(-1);
        if let Ok(mut kept) = self.kept.lock() {
            kept.push((callback, Live::new(&CALLBACKS)));
        }
        answer
    }

    async fn hang(&self) -> i64 {
        let _pending = Live::new(&HANGS);
        std::future::pending::<()>().await;
        0
    }
}

/// The callback the storm's clients export: answers `n`.
pub struct Echoer;

#[rpc_target]
impl Callback for Echoer {
    async fn call(&self, n: i64) -> i64 {
        n
    }
}
