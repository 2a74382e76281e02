//! The shared test API (tests/node/api.mjs) on the typed layer: `#[rpc_interface]` traits that
//! both the typed Rust server implements and the typed Rust clients call (against this server
//! and against the TypeScript one). The dynamic version is `api.rs`; both follow api.mjs.
//!
//! Wire names are the default camelCase (`list_user_ids` -> `listUserIds`), so the TypeScript
//! client calls this server exactly as it calls its own.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use capnweb_runtime::stream::{RpcSink, RpcStream};
use capnweb_runtime::transport::memory;
use capnweb_runtime::value::{Blob, Date};
use capnweb_runtime::{RpcError, Server, Session, Stub, Value, rpc_interface, rpc_target};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};

// ---------------------------------------------------------------------------------------------
// Data

/// `User.profile()`: `{id, bio, joined: Date, tags}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    /// The user's id.
    pub id: u32,
    /// A short biography.
    pub bio: String,
    /// When the user joined (a JavaScript `Date` on the wire).
    pub joined: Date,
    /// Free-form tags.
    pub tags: Vec<String>,
}

/// What `useListener` sends to `Listener.onEvent`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// 1, 2, ...
    pub seq: u32,
    /// `"event <seq>"`.
    pub text: String,
}

/// `stats()`: the sizes of the serving session's tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// Entries in the import table.
    pub imports: u32,
    /// Entries in the export table.
    pub exports: u32,
}

/// What a clean session reports: only the main objects.
pub const IDLE: Stats = Stats {
    imports: 1,
    exports: 1,
};

// ---------------------------------------------------------------------------------------------
// Interfaces

/// A chunk of `readChunks`.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
pub struct Seq {
    pub seq: u32,
}

/// The main object of a session.
#[rpc_interface]
pub trait TestApi {
    /// `a + b`.
    async fn add(&self, a: f64, b: f64) -> f64;
    /// `"pong"`.
    async fn ping(&self) -> String;
    /// Its argument, unchanged (no argument: `undefined`).
    async fn echo(&self, x: Value) -> Value;
    /// The user directory.
    async fn users(&self) -> UsersClient;
    /// `[1, 2, 3]`.
    async fn list_user_ids(&self) -> Vec<u32>;
    /// `"<name> <<email>>"` of any object with `name` and `email` properties.
    async fn describe_user(&self, user: UserClient) -> Result<String, RpcError>;
    /// A function `x => x * n`, passed by reference.
    async fn make_multiplier(&self, n: f64) -> NumberFnClient;
    /// `f(1) + .. + f(n)`, calling one after another.
    async fn callback_sum(&self, f: NumberFnClient, n: u32) -> Result<f64, RpcError>;
    /// `listener.onEvent(..)` for 1..=n, then `listener.done(n)`; every answer in order.
    async fn use_listener(&self, listener: ListenerClient, n: u32)
    -> Result<Vec<String>, RpcError>;
    /// Calls `f(i)` for 1..=n without awaiting (fire and forget); returns n.
    async fn notify(&self, f: NumberFnClient, n: u32) -> u32;
    /// Keeps `cb` for `callHeld`.
    async fn hold_callback(&self, cb: NumberFnClient) -> bool;
    /// `held(x)`.
    async fn call_held(&self, x: f64) -> Result<f64, RpcError>;
    /// Drops the held callback.
    async fn drop_held(&self) -> bool;
    /// `cb` itself, handed back.
    async fn callback_and_return(&self, cb: NumberFnClient) -> NumberFnClient;
    /// Always fails, in the way `kind` names.
    async fn fail(&self, kind: String) -> Result<(), RpcError>;
    /// Fails after `ms` milliseconds.
    async fn fail_later(&self, ms: u64) -> Result<(), RpcError>;
    /// A counter starting at `start` (default 0) whose drop is counted under `key`.
    async fn make_counter(&self, key: String, start: Option<f64>) -> CounterClient;
    /// How many counters made with `key` have been dropped.
    async fn dispose_count(&self, key: String) -> u32;
    /// Never answers.
    async fn hang(&self);
    /// The serving session's table sizes.
    async fn stats(&self) -> Result<Stats, RpcError>;
    /// `v` after `ms` milliseconds.
    async fn delay(&self, ms: u64, v: Value) -> Value;
    /// Appends `v` to this session's list; the new length.
    async fn record(&self, v: Value) -> u32;
    /// This session's list.
    async fn recorded(&self) -> Vec<Value>;
    /// A stream of `{seq: 1}` .. `{seq: n}`.
    async fn read_chunks(&self, n: u32) -> RpcStream<Seq>;
    /// The sum of the numbers `stream` yields.
    async fn sum_stream(&self, stream: RpcStream<f64>) -> Result<f64, RpcError>;
    /// Writes `"chunk 1"` .. `"chunk <n>"` into `writable` and closes it; `n`.
    async fn write_chunks(&self, writable: RpcSink<String>, n: u32) -> Result<u32, RpcError>;
    /// A 201 response whose body streams `text`.
    async fn make_response(&self, text: String) -> Value;
    /// `"<method> <url>: <body text>"` of a request.
    async fn describe_request(&self, request: Value) -> Result<Value, RpcError>;
    /// A blob of `text`.
    async fn make_blob(&self, text: String, content_type: String) -> Blob;
    /// `"<type>: <text>"` of a blob.
    async fn describe_blob(&self, blob: Blob) -> String;
}

/// The user directory.
#[rpc_interface]
pub trait Users {
    /// User 1, 2 or 3; otherwise a `NotFoundError` with `code: "E_NOT_FOUND"`.
    async fn get(&self, id: u32) -> Result<UserClient, RpcError>;
    /// The user with exactly this name, or `None` (`null`).
    async fn find(&self, name: String) -> Option<UserClient>;
}

/// One user. `name` and `email` are properties (JavaScript getters), not methods.
#[rpc_interface]
pub trait User {
    /// The full name.
    #[rpc(property)]
    async fn name(&self) -> String;
    /// The email address.
    #[rpc(property)]
    async fn email(&self) -> String;
    /// An instance field in the JavaScript version, which capnweb refuses to expose: reading
    /// it rejects with a `TypeError`.
    #[rpc(property)]
    async fn secret(&self) -> Result<String, RpcError>;
    /// The profile (by value).
    async fn profile(&self) -> Profile;
    /// The ids of this user's friends.
    async fn friend_ids(&self) -> Vec<u32>;
}

/// A counter whose drop the server counts.
#[rpc_interface]
pub trait Counter {
    /// Adds `n` (default 1); the new value.
    async fn increment(&self, n: Option<f64>) -> f64;
    /// The current value.
    #[rpc(property)]
    async fn value(&self) -> f64;
}

/// A function of a number, called as a function (`["pipeline", id, [], [x]]`), as a
/// JavaScript `x => ...` is.
#[rpc_interface]
pub trait NumberFn {
    /// Calls the function.
    #[rpc(invoke)]
    async fn call(&self, x: f64) -> f64;
}

/// The callback object `useListener` drives.
#[rpc_interface]
pub trait Listener {
    /// One event; the answer is collected.
    async fn on_event(&self, event: Event) -> String;
    /// The end, with the number of events.
    async fn done(&self, count: u32) -> String;
}

// ---------------------------------------------------------------------------------------------
// The server

/// How many times counters with each key were dropped (typed server only).
static DROPS: OnceLock<Mutex<HashMap<String, u32>>> = OnceLock::new();

fn drops() -> std::sync::MutexGuard<'static, HashMap<String, u32>> {
    DROPS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner())
}

fn not_found(message: String) -> RpcError {
    RpcError::new("NotFoundError", message).with_property("code", "E_NOT_FOUND")
}

/// The main object; one per session.
pub struct TypedApi {
    session: Arc<OnceLock<Session>>,
    recorded: Mutex<Vec<Value>>,
    held: Mutex<Option<NumberFnClient>>,
}

impl TypedApi {
    /// A fresh main object and the slot to put its session in (for `stats()`).
    pub fn new() -> (TypedApi, Arc<OnceLock<Session>>) {
        let session = Arc::new(OnceLock::new());
        let api = TypedApi {
            session: session.clone(),
            recorded: Mutex::default(),
            held: Mutex::default(),
        };
        (api, session)
    }
}

#[rpc_target]
impl TestApi for TypedApi {
    async fn add(&self, a: f64, b: f64) -> f64 {
        a + b
    }

    async fn ping(&self) -> String {
        "pong".into()
    }

    async fn echo(&self, x: Value) -> Value {
        x
    }

    async fn users(&self) -> UsersClient {
        Directory.into()
    }

    async fn list_user_ids(&self) -> Vec<u32> {
        PEOPLE.iter().map(|p| p.id).collect()
    }

    async fn describe_user(&self, user: UserClient) -> Result<String, RpcError> {
        // Both reads are pipelined on the argument: one round trip if it is remote.
        let (name, email) = (user.name(), user.email());
        Ok(format!("{} <{}>", name.await?, email.await?))
    }

    async fn make_multiplier(&self, n: f64) -> NumberFnClient {
        NumberFnClient::new(Times(n))
    }

    async fn callback_sum(&self, f: NumberFnClient, n: u32) -> Result<f64, RpcError> {
        let mut sum = 0.0;
        for i in 1..=n {
            sum += f.call(i).await?;
        }
        Ok(sum)
    }

    async fn use_listener(
        &self,
        listener: ListenerClient,
        n: u32,
    ) -> Result<Vec<String>, RpcError> {
        let mut answers = Vec::new();
        for seq in 1..=n {
            let event = Event {
                seq,
                text: format!("event {seq}"),
            };
            answers.push(listener.on_event(event).await?);
        }
        answers.push(listener.done(n).await?);
        Ok(answers)
    }

    async fn notify(&self, f: NumberFnClient, n: u32) -> u32 {
        for i in 1..=n {
            // Fire and forget: dropping the promise releases it without a pull.
            drop(f.call(i));
        }
        n
    }

    async fn hold_callback(&self, cb: NumberFnClient) -> bool {
        *self.held.lock().unwrap() = Some(cb);
        true
    }

    async fn call_held(&self, x: f64) -> Result<f64, RpcError> {
        let held = self.held.lock().unwrap().clone();
        let held = held.ok_or_else(|| RpcError::new("Error", "no callback is held"))?;
        held.call(x).await
    }

    async fn drop_held(&self) -> bool {
        let held = self.held.lock().unwrap().take();
        drop(held);
        true
    }

    async fn callback_and_return(&self, cb: NumberFnClient) -> NumberFnClient {
        cb
    }

    async fn fail(&self, kind: String) -> Result<(), RpcError> {
        Err(match kind.as_str() {
            "not-found" => not_found("the thing was not found".into()),
            "type" => RpcError::type_error("wrong type, as requested"),
            "range" => RpcError::new("RangeError", "out of range, as requested"),
            "string" => RpcError::Thrown(Box::new(Value::String("a thrown string".into()))),
            other => RpcError::new("Error", format!("unknown failure kind: {other}")),
        })
    }

    async fn fail_later(&self, ms: u64) -> Result<(), RpcError> {
        tokio::time::sleep(Duration::from_millis(ms)).await;
        Err(RpcError::new("Error", format!("failed after {ms} ms")))
    }

    async fn make_counter(&self, key: String, start: Option<f64>) -> CounterClient {
        CounterClient::new(TrackedCounter {
            key,
            value: Mutex::new(start.unwrap_or(0.0)),
        })
    }

    async fn dispose_count(&self, key: String) -> u32 {
        drops().get(&key).copied().unwrap_or(0)
    }

    async fn hang(&self) {
        std::future::pending::<()>().await
    }

    async fn stats(&self) -> Result<Stats, RpcError> {
        let session = self
            .session
            .get()
            .ok_or_else(|| RpcError::new("Error", "no session"))?;
        let stats = session.stats();
        Ok(Stats {
            imports: stats.imports as u32,
            exports: stats.exports as u32,
        })
    }

    async fn delay(&self, ms: u64, v: Value) -> Value {
        tokio::time::sleep(Duration::from_millis(ms)).await;
        v
    }

    async fn record(&self, v: Value) -> u32 {
        let mut list = self.recorded.lock().unwrap();
        list.push(v);
        list.len() as u32
    }

    async fn recorded(&self) -> Vec<Value> {
        self.recorded.lock().unwrap().clone()
    }

    async fn read_chunks(&self, n: u32) -> RpcStream<Seq> {
        RpcStream::new(futures_util::stream::iter(1..=n).map(|seq| Seq { seq }))
    }

    async fn make_response(&self, text: String) -> Value {
        crate::api::response_with_body(text)
    }

    async fn describe_request(&self, request: Value) -> Result<Value, RpcError> {
        crate::api::describe_request(Some(request)).await
    }

    async fn make_blob(&self, text: String, content_type: String) -> Blob {
        Blob {
            content_type,
            bytes: text.into_bytes(),
        }
    }

    async fn describe_blob(&self, blob: Blob) -> String {
        crate::api::describe_blob(&blob)
    }

    async fn write_chunks(&self, writable: RpcSink<String>, n: u32) -> Result<u32, RpcError> {
        for i in 1..=n {
            writable.write(format!("chunk {i}")).await?;
        }
        writable.close().await?;
        Ok(n)
    }

    async fn sum_stream(&self, mut stream: RpcStream<f64>) -> Result<f64, RpcError> {
        let mut sum = 0.0;
        while let Some(chunk) = stream.next().await {
            sum += chunk?;
        }
        Ok(sum)
    }
}

/// One of the three users.
struct Person {
    id: u32,
    name: &'static str,
    email: &'static str,
    bio: &'static str,
    joined: f64,
    tags: &'static [&'static str],
    friends: &'static [u32],
}

const PEOPLE: [Person; 3] = [
    Person {
        id: 1,
        name: "Ada Lovelace",
        email: "ada@example.com",
        bio: "First programmer",
        joined: 1579089600000.0,
        tags: &["math", "engines"],
        friends: &[2, 3],
    },
    Person {
        id: 2,
        name: "Alan Turing",
        email: "alan@example.com",
        bio: "Codebreaker",
        joined: 1600000000000.0,
        tags: &["logic"],
        friends: &[1],
    },
    Person {
        id: 3,
        name: "Grace Hopper",
        email: "grace@example.com",
        bio: "Compiler pioneer",
        joined: 1670607900000.0,
        tags: &["cobol", "navy"],
        friends: &[1, 2],
    },
];

struct Directory;

#[rpc_target]
impl Users for Directory {
    async fn get(&self, id: u32) -> Result<UserClient, RpcError> {
        let person = PEOPLE.iter().find(|p| p.id == id);
        let person = person.ok_or_else(|| not_found(format!("no user with id {id}")))?;
        Ok(Account(person).into())
    }

    async fn find(&self, name: String) -> Option<UserClient> {
        let person = PEOPLE.iter().find(|p| p.name == name)?;
        Some(Account(person).into())
    }
}

struct Account(&'static Person);

const INSTANCE_PROPERTY_ERROR: &str = "Attempted to access property 'secret', which is an instance property of the RpcTarget. To avoid leaking private internals, instance properties cannot be accessed over RPC. If you want to make this property available over RPC, define it as a method or getter on the class, instead of an instance property.";

#[rpc_target]
impl User for Account {
    async fn name(&self) -> String {
        self.0.name.into()
    }

    async fn email(&self) -> String {
        self.0.email.into()
    }

    async fn secret(&self) -> Result<String, RpcError> {
        Err(RpcError::type_error(INSTANCE_PROPERTY_ERROR))
    }

    async fn profile(&self) -> Profile {
        let p = self.0;
        Profile {
            id: p.id,
            bio: p.bio.into(),
            joined: Date(Some(p.joined)),
            tags: p.tags.iter().map(|t| t.to_string()).collect(),
        }
    }

    async fn friend_ids(&self) -> Vec<u32> {
        self.0.friends.to_vec()
    }
}

struct TrackedCounter {
    key: String,
    value: Mutex<f64>,
}

#[rpc_target]
impl Counter for TrackedCounter {
    async fn increment(&self, n: Option<f64>) -> f64 {
        let mut v = self.value.lock().unwrap();
        *v += n.unwrap_or(1.0);
        *v
    }

    async fn value(&self) -> f64 {
        *self.value.lock().unwrap()
    }
}

impl Drop for TrackedCounter {
    fn drop(&mut self) {
        *drops().entry(self.key.clone()).or_default() += 1;
    }
}

/// `makeMultiplier(n)`: `x => x * n`.
pub struct Times(pub f64);

#[rpc_target]
impl NumberFn for Times {
    async fn call(&self, x: f64) -> f64 {
        x * self.0
    }
}

// ---------------------------------------------------------------------------------------------
// Serving it

/// A typed main object, as the main stub of a session whose handle it gets for `stats()`.
pub fn typed_main() -> (Stub, Arc<OnceLock<Session>>) {
    let (api, slot) = TypedApi::new();
    (TestApiClient::new(api).into(), slot)
}

/// A typed Rust WebSocket server on 127.0.0.1 that keeps its sessions; shuts down when dropped.
pub struct TypedServer {
    port: u16,
    sessions: Arc<Mutex<Vec<Session>>>,
    _server: Server,
}

impl TypedServer {
    /// Starts the server.
    pub async fn start() -> TypedServer {
        let sessions: Arc<Mutex<Vec<Session>>> = Arc::default();
        let registry = sessions.clone();
        let server = Server::builder(move |context| {
            let (main, slot) = typed_main();
            let registry = registry.clone();
            // Filled before the first message is read: a `stats()` in the client's first
            // batch must find it.
            context.on_session(move |session| {
                let _ = slot.set(session.clone());
                registry.lock().unwrap().push(session.clone());
            });
            main
        })
        .bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1");
        TypedServer {
            port: server.local_addr().port(),
            sessions,
            _server: server,
        }
    }

    /// `ws://127.0.0.1:<port>/`
    pub fn url(&self) -> String {
        format!("ws://127.0.0.1:{}/", self.port)
    }

    /// Waits (bounded) until every accepted session has ended; returns their count.
    pub async fn wait_all_closed(&self) -> usize {
        let sessions = self.sessions.lock().unwrap().clone();
        for s in &sessions {
            tokio::time::timeout(Duration::from_secs(5), s.closed())
                .await
                .expect("server session did not end within 5 s of its client leaving");
        }
        sessions.len()
    }
}

/// A client session and a typed server session joined in memory.
pub fn typed_memory_pair() -> (Session, Session) {
    let (a, b) = memory::pair();
    let (main, slot) = typed_main();
    let server = Session::new(b, Some(main));
    let _ = slot.set(server.clone());
    (Session::new(a, None), server)
}
