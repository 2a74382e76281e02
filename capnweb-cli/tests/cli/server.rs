//! Our server for the CLI tests: a small introspecting API (a capability-returning method,
//! special values, an error with a custom name and properties), shaped like the npm test
//! API's `users().get(id)` so the same expressions work against both.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use capnweb_runtime::http::SessionKind;
use capnweb_runtime::value::{BigInt, Bytes, Date, Object};
use capnweb_runtime::{
    RpcError, Server, ServerBuilder, Session, SessionStats, Value, rpc_interface, rpc_target,
};

/// The directory of the command-line tests.
#[rpc_interface(introspect)]
pub trait Directory {
    /// The users, as a capability.
    async fn users(&self) -> UsersClient;
    /// Returns `value` unchanged.
    async fn echo(&self, value: Value) -> Value;
    /// Fails with `NotFoundError` (property `code`) for "not-found", else `RangeError`.
    async fn fail(&self, kind: String) -> Result<u32, RpcError>;
}

/// Users by id.
#[rpc_interface(introspect)]
pub trait Users {
    /// The user with `id` (1 to 3).
    async fn get(&self, id: u32) -> Result<UserClient, RpcError>;
}

/// One user.
#[rpc_interface(introspect)]
pub trait User {
    /// The user's name.
    #[rpc(property)]
    async fn name(&self) -> String;
    /// Id, join date, avatar bytes and balance (a bigint).
    async fn profile(&self) -> Value;
}

/// What the server saw, for the tests' checks.
#[derive(Default)]
pub struct Seen {
    /// `User` objects dropped while their session was still open (released by the client).
    pub users_released: AtomicUsize,
    /// `User` objects dropped in all.
    pub users_dropped: AtomicUsize,
    /// HTTP batches served.
    pub batches: AtomicUsize,
    /// Every WebSocket session.
    pub sessions: Mutex<Vec<Session>>,
    /// The `x-client` header of each session's request (WebSocket handshake or batch POST).
    pub client_headers: Mutex<Vec<String>>,
}

struct Main {
    seen: Arc<Seen>,
    session: Arc<OnceLock<Session>>,
}

struct UsersImpl {
    seen: Arc<Seen>,
    session: Arc<OnceLock<Session>>,
}

struct Person {
    id: u32,
    seen: Arc<Seen>,
    session: Arc<OnceLock<Session>>,
}

impl Drop for Person {
    fn drop(&mut self) {
        self.seen.users_dropped.fetch_add(1, Ordering::SeqCst);
        // Ending a session marks it broken before it drops what it exported.
        if self
            .session
            .get()
            .is_some_and(|s| s.broken_reason().is_none())
        {
            self.seen.users_released.fetch_add(1, Ordering::SeqCst);
        }
    }
}

const NAMES: [&str; 3] = ["Ada Lovelace", "Alan Turing", "Grace Hopper"];

#[rpc_target]
impl Directory for Main {
    async fn users(&self) -> UsersClient {
        UsersClient::new(UsersImpl {
            seen: self.seen.clone(),
            session: self.session.clone(),
        })
    }

    async fn echo(&self, value: Value) -> Value {
        value
    }

    async fn fail(&self, kind: String) -> Result<u32, RpcError> {
        Err(match kind.as_str() {
            "not-found" => RpcError::new("NotFoundError", "the thing was not found")
                .with_property("code", "E_NOT_FOUND")
                .with_property("retry", false),
            _ => RpcError::new("RangeError", format!("unknown failure kind: {kind}")),
        })
    }
}

#[rpc_target]
impl Users for UsersImpl {
    async fn get(&self, id: u32) -> Result<UserClient, RpcError> {
        if !(1..=3).contains(&id) {
            return Err(
                RpcError::new("NotFoundError", format!("no user with id {id}"))
                    .with_property("code", "E_NOT_FOUND"),
            );
        }
        Ok(UserClient::new(Person {
            id,
            seen: self.seen.clone(),
            session: self.session.clone(),
        }))
    }
}

#[rpc_target]
impl User for Person {
    async fn name(&self) -> String {
        NAMES[self.id as usize - 1].to_owned()
    }

    async fn profile(&self) -> Value {
        let mut profile = Object::new();
        profile.insert("id".into(), Value::from(self.id));
        profile.insert(
            "joined".into(),
            Value::Date(Date::from_millis(1_579_089_600_000.0)),
        );
        profile.insert("avatar".into(), Value::Bytes(Bytes::new(b"hi".to_vec())));
        profile.insert(
            "balance".into(),
            Value::BigInt(BigInt::from(12_345_678_901_234_567_890_u64)),
        );
        Value::Object(profile)
    }
}

/// A running server on 127.0.0.1.
pub struct TestServer {
    /// `127.0.0.1:<port>`
    pub address: String,
    /// What it saw.
    pub seen: Arc<Seen>,
    server: Server,
}

impl TestServer {
    /// Starts it.
    pub async fn start() -> TestServer {
        TestServer::start_with(|builder| builder).await
    }

    /// Starts it serving TLS with `identity`.
    pub async fn start_tls(
        identity: Arc<capnweb_runtime::tls::rustls::ServerConfig>,
    ) -> TestServer {
        TestServer::start_with(|builder| builder.tls(identity)).await
    }

    async fn start_with(configure: impl FnOnce(ServerBuilder) -> ServerBuilder) -> TestServer {
        let seen = Arc::new(Seen::default());
        let registry = seen.clone();
        let builder = Server::builder(move |context| {
            let session = Arc::new(OnceLock::new());
            if let Some(value) = context.headers().get("x-client") {
                let value = value.to_str().unwrap_or("").to_owned();
                registry.client_headers.lock().unwrap().push(value);
            }
            match context.kind() {
                SessionKind::WebSocket => {
                    let (slot, registry) = (session.clone(), registry.clone());
                    context.on_session(move |s| {
                        let _ = slot.set(s.clone());
                        registry.sessions.lock().unwrap().push(s.clone());
                    });
                }
                _ => {
                    registry.batches.fetch_add(1, Ordering::SeqCst);
                }
            }
            DirectoryClient::new(Main {
                seen: registry.clone(),
                session,
            })
            .into()
        });
        let server = configure(builder)
            .bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1");
        TestServer {
            address: server.local_addr().to_string(),
            seen,
            server,
        }
    }

    /// `ws://127.0.0.1:<port>/`
    pub fn ws_url(&self) -> String {
        format!("ws://{}/", self.address)
    }

    /// `http://127.0.0.1:<port>/rpc`
    pub fn batch_url(&self) -> String {
        format!("http://{}/rpc", self.address)
    }

    /// The one WebSocket session it has served (panics unless exactly one).
    pub fn only_session(&self) -> Session {
        let sessions = self.seen.sessions.lock().unwrap();
        assert_eq!(sessions.len(), 1, "expected one WebSocket session");
        sessions[0].clone()
    }

    /// Waits (bounded) until every WebSocket session it served has ended.
    pub async fn wait_sessions_ended(&self) {
        let sessions = self.seen.sessions.lock().unwrap().clone();
        for session in sessions {
            tokio::time::timeout(std::time::Duration::from_secs(5), session.closed())
                .await
                .expect("a server session did not end within 5 s of its client leaving");
        }
    }

    /// Shuts it down.
    pub async fn stop(self) {
        self.server.shutdown().await;
    }
}

/// The tables of a session holding only the main objects.
pub const BASELINE: SessionStats = SessionStats {
    imports: 1,
    exports: 1,
};
