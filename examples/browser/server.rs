//! The browser example's server: the API (`api.rs`) served at `/rpc` (WebSocket and HTTP
//! batch), the page at `/` with its script bundled by esbuild at `/client.js`, and `/results`,
//! where the page posts what its scenarios saw.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use axum::http::header::CONTENT_TYPE;
use axum::response::Html;
use axum::routing::{get, post};
use capnweb_runtime::http::{RpcService, SessionKind};
use capnweb_runtime::value::Date;
use capnweb_runtime::{RpcError, Server, Session, rpc_target};
use tokio::sync::mpsc;

use super::api::{Api, ApiClient, JobReport, Profile, ProgressClient, Role, User, UserClient};

/// What the server shares with whoever runs it (the example's `main`, the suite's test).
pub struct Shared {
    /// User objects alive for callers: goes back to 0 when the page has released them.
    pub live_users: Arc<AtomicU32>,
    /// Every WebSocket session served so far.
    pub sessions: Mutex<Vec<Session>>,
    results: mpsc::UnboundedSender<String>,
}

/// The router (RPC, page, script, results), its RPC service (to shut down), what it shares,
/// and the receiver of the JSON bodies the page posts to `/results`.
pub fn app(
    client_js: String,
) -> (
    axum::Router,
    RpcService,
    Arc<Shared>,
    mpsc::UnboundedReceiver<String>,
) {
    let (results, results_rx) = mpsc::unbounded_channel();
    let shared = Arc::new(Shared {
        live_users: Arc::new(AtomicU32::new(0)),
        sessions: Mutex::new(Vec::new()),
        results,
    });
    let for_sessions = shared.clone();
    let service = Server::builder(move |context| {
        if context.kind() == SessionKind::WebSocket {
            let shared = for_sessions.clone();
            context
                .on_session(move |session| shared.sessions.lock().unwrap().push(session.clone()));
        }
        ApiClient::new(ApiImpl {
            live_users: for_sessions.live_users.clone(),
        })
        .stub()
        .clone()
    })
    .into_service();
    let for_results = shared.clone();
    let router = service
        .clone()
        .router("/rpc")
        .route("/", get(|| async { Html(include_str!("index.html")) }))
        .route(
            "/client.js",
            get(move || async move { ([(CONTENT_TYPE, "text/javascript")], client_js) }),
        )
        .route(
            "/results",
            post(move |body: String| async move {
                let _ = for_results.results.send(body);
                "ok"
            }),
        );
    (router, service, shared, results_rx)
}

/// The directory of this example.
pub fn example_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join("browser")
}

/// Bundles `client.ts` with npm capnweb 0.12.0 into one script, with the esbuild installed in
/// `tests/node` (`npm ci` there).
pub fn bundle() -> Result<String, String> {
    let node = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("node");
    let esbuild = node.join("node_modules").join(".bin").join("esbuild");
    if !esbuild.is_file() {
        return Err(format!(
            "{} is missing: run `npm ci` in {} first",
            esbuild.display(),
            node.display()
        ));
    }
    let output = Command::new(&esbuild)
        .arg(example_dir().join("client.ts"))
        .args([
            "--bundle",
            "--format=esm",
            "--target=es2022",
            "--log-level=warning",
        ])
        // `capnweb` is found in tests/node's packages.
        .env("NODE_PATH", node.join("node_modules"))
        .output()
        .map_err(|e| format!("cannot run {}: {e}", esbuild.display()))?;
    if !output.status.success() {
        return Err(format!(
            "esbuild failed: {}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    String::from_utf8(output.stdout).map_err(|e| format!("esbuild wrote non-UTF-8: {e}"))
}

const USERS: &[(u32, &str)] = &[(1, "Ada"), (2, "Grace"), (3, "Linus")];

struct ApiImpl {
    live_users: Arc<AtomicU32>,
}

#[rpc_target]
impl Api for ApiImpl {
    async fn add(&self, a: i32, b: i32) -> i32 {
        a + b
    }

    async fn greet(&self, name: String, punctuation: Option<String>) -> String {
        format!("Hello, {name}{}", punctuation.as_deref().unwrap_or("!"))
    }

    async fn version(&self) -> String {
        "1.0".into()
    }

    async fn user(&self, id: u32) -> Result<UserClient, RpcError> {
        let (id, name) = USERS
            .iter()
            .find(|(known, _)| *known == id)
            .ok_or_else(|| {
                // capnweb gives the browser an `Error` for a name it does not know; the
                // `code` property travels with it.
                RpcError::new("NotFoundError", format!("no user {id}"))
                    .with_property("code", "NOT_FOUND")
            })?;
        self.live_users.fetch_add(1, Ordering::SeqCst);
        Ok(UserClient::new(UserImpl {
            id: *id,
            name: Mutex::new((*name).to_owned()),
            live_users: self.live_users.clone(),
        }))
    }

    async fn user_ids(&self) -> Vec<u32> {
        USERS.iter().map(|(id, _)| *id).collect()
    }

    async fn run_job(&self, steps: u32, progress: ProgressClient) -> Result<JobReport, RpcError> {
        let mut acknowledgements = Vec::new();
        for step in 1..=steps {
            // A call into the page, over the page's own connection.
            let ack = progress.report(step, steps, format!("step {step}")).await?;
            acknowledgements.push(ack);
        }
        Ok(JobReport {
            steps_done: steps,
            acknowledgements,
        })
    }

    async fn live_users(&self) -> u32 {
        self.live_users.load(Ordering::SeqCst)
    }
}

struct UserImpl {
    id: u32,
    name: Mutex<String>,
    live_users: Arc<AtomicU32>,
}

impl Drop for UserImpl {
    fn drop(&mut self) {
        self.live_users.fetch_sub(1, Ordering::SeqCst);
    }
}

#[rpc_target]
impl User for UserImpl {
    async fn name(&self) -> String {
        self.name.lock().unwrap().clone()
    }

    async fn profile(&self) -> Profile {
        let name = self.name.lock().unwrap().clone();
        Profile {
            email: (self.id == 1).then(|| "ada@example.com".to_owned()),
            role: match self.id {
                1 => Role::Admin,
                id => Role::Member { since: 2000 + id },
            },
            // Linus's karma is beyond 2^53: it travels as a bigint.
            karma: if self.id == 3 { 1 << 60 } else { 42 },
            joined: Date(Some(1_700_000_000_000.0 + f64::from(self.id))),
            display_name: name,
            password_hash: "never sent".into(),
        }
    }

    async fn rename(&self, name: String) -> Result<(), RpcError> {
        if name.is_empty() {
            return Err(RpcError::new("RangeError", "a name cannot be empty"));
        }
        *self.name.lock().unwrap() = name;
        Ok(())
    }
}
