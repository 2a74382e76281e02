//! A real browser against the Rust server: headless Chromium loads the browser example's page
//! (npm capnweb 0.12.0 bundled by esbuild, typed with the generated `api.d.ts`), which runs its
//! scenarios over WebSocket and HTTP batch and posts what it saw to the server. The test checks
//! every result, that the page's releases reached the server, saves a screenshot of the page
//! (`target/browser-screenshot.png`) and ends with the leak check.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::Ordering;
use std::time::Duration;

use base64::Engine;
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio_tungstenite::tungstenite::Message;

use crate::browser_example::server;
use crate::node::ensure_node_modules;
use crate::support::{alive_tasks, assert_no_leaks, assert_tasks_at_most, eventually};

/// The most the page may take to run every scenario and post the results.
const PAGE_TIMEOUT: Duration = Duration::from_secs(30);

/// What the page posts for each scenario.
#[derive(Debug, Deserialize)]
struct Outcome {
    transport: String,
    scenario: String,
    got: Value,
    ok: bool,
}

/// What each scenario must have seen, in the order the page runs them.
fn expected() -> Vec<(&'static str, &'static str, Value)> {
    let linus = json!({
        "name": "Linus",
        "profile": {
            "displayName": "Linus",
            "role": "member since 2003",
            "email": null,
            // 2^60: beyond 2^53, so it travelled as a bigint.
            "karma": "1152921504606846976n",
            "joined": 1_700_000_000_003_u64,
        }
    });
    let names = json!(["Ada", "Grace", "Linus"]);
    vec![
        (
            "websocket",
            "call",
            json!([5, "Hello, Ada!", "Hello, Grace?"]),
        ),
        ("websocket", "property", json!("1.0")),
        ("websocket", "pipelining", linus.clone()),
        (
            "websocket",
            "callback",
            json!({
                "stepsDone": 3,
                "acknowledgements": ["ack 1/3", "ack 2/3", "ack 3/3"],
                "notes": ["step 1", "step 2", "step 3"],
            }),
        ),
        ("websocket", "map", names.clone()),
        (
            "websocket",
            "errors",
            json!([
                ["Error", "no user 99", "NOT_FOUND"],
                ["RangeError", "a name cannot be empty", true],
            ]),
        ),
        (
            "websocket",
            "release",
            json!({"name": "Grace", "liveUsers": 0}),
        ),
        ("batch", "call", json!(5)),
        ("batch", "property", json!("1.0")),
        ("batch", "pipelining", linus),
        ("batch", "map", names),
        (
            "batch",
            "errors",
            json!(["Error", "no user 99", "NOT_FOUND"]),
        ),
    ]
}

/// Headless Chromium with a fresh profile and its DevTools endpoint.
struct Chromium {
    child: Child,
    devtools: String,
    _profile: TempDir,
}

impl Chromium {
    async fn launch(url: &str) -> Chromium {
        let profile = TempDir::new("chromium-profile");
        let mut child = Command::new("chromium")
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--remote-debugging-port=0",
                "--window-size=1100,800",
            ])
            .arg(format!("--user-data-dir={}", profile.0.display()))
            .arg(url)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start `chromium`: {e}. The browser test needs Debian's chromium \
                     package (`apt-get install -y chromium`; .ci/run installs it)"
                )
            });
        // Chromium prints `DevTools listening on ws://...` once it is up; the rest of its
        // stderr is drained so that it never blocks on a full pipe.
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let devtools = tokio::time::timeout(Duration::from_secs(20), async {
            while let Some(line) = lines.next_line().await.unwrap() {
                if let Some(url) = line.strip_prefix("DevTools listening on ") {
                    return url.trim().to_owned();
                }
            }
            panic!("chromium exited without a DevTools endpoint");
        })
        .await
        .expect("chromium did not start within 20 s");
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Chromium {
            child,
            devtools,
            _profile: profile,
        }
    }

    /// A PNG of the page at `url_prefix`, through the DevTools protocol.
    async fn screenshot(&self, url_prefix: &str) -> Vec<u8> {
        let (mut ws, _) = tokio_tungstenite::connect_async(self.devtools.as_str())
            .await
            .expect("connect to chromium's DevTools");
        let mut next_id = 0;
        let mut command = async |session: Option<&str>, method: &str, params: Value| -> Value {
            next_id += 1;
            let mut message = json!({"id": next_id, "method": method, "params": params});
            if let Some(session) = session {
                message["sessionId"] = json!(session);
            }
            ws.send(Message::text(message.to_string())).await.unwrap();
            // Events come in between; the answer carries our id.
            for _ in 0..1000 {
                let frame = ws.next().await.expect("DevTools closed").unwrap();
                let Message::Text(text) = frame else { continue };
                let reply: Value = serde_json::from_str(&text).unwrap();
                if reply["id"] == json!(next_id) {
                    assert!(reply.get("error").is_none(), "{method} failed: {reply}");
                    return reply["result"].clone();
                }
            }
            panic!("no answer to {method}");
        };
        let targets = command(None, "Target.getTargets", json!({})).await;
        let page = targets["targetInfos"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["type"] == "page" && t["url"].as_str().unwrap().starts_with(url_prefix))
            .unwrap_or_else(|| panic!("no page at {url_prefix} among {targets}"))
            .clone();
        let attached = command(
            None,
            "Target.attachToTarget",
            json!({"targetId": page["targetId"], "flatten": true}),
        )
        .await;
        let session = attached["sessionId"].as_str().unwrap().to_owned();
        let shot = command(
            Some(&session),
            "Page.captureScreenshot",
            json!({"format": "png"}),
        )
        .await;
        base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().unwrap())
            .unwrap()
    }
}

/// A directory removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir =
            Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Where the screenshot is kept: the target directory (the parent of `CARGO_TARGET_TMPDIR`).
fn screenshot_path() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap()
        .join("browser-screenshot.png")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_runs_the_typed_page_against_the_rust_server() {
    ensure_node_modules();
    let client_js = tokio::task::spawn_blocking(server::bundle)
        .await
        .unwrap()
        .unwrap_or_else(|e| panic!("bundling the page: {e}"));
    let tasks_before = alive_tasks();

    let (router, service, shared, mut results) = server::app(client_js);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .await
    });

    let mut chromium = Chromium::launch(&format!("{origin}/")).await;
    let posted = tokio::time::timeout(PAGE_TIMEOUT, results.recv())
        .await
        .expect("the page did not post its results in time")
        .unwrap();
    let outcomes: Vec<Outcome> =
        serde_json::from_str(&posted).unwrap_or_else(|e| panic!("the page posted {posted}: {e}"));

    let expected = expected();
    let seen: Vec<(&str, &str)> = outcomes
        .iter()
        .map(|o| (o.transport.as_str(), o.scenario.as_str()))
        .collect();
    let wanted: Vec<(&str, &str)> = expected.iter().map(|(t, s, _)| (*t, *s)).collect();
    assert_eq!(seen, wanted, "the page ran other scenarios than expected");
    for (outcome, (_, _, want)) in outcomes.iter().zip(&expected) {
        assert_eq!(
            &outcome.got, want,
            "{} {}: the page saw something else",
            outcome.transport, outcome.scenario
        );
        assert!(outcome.ok, "{outcome:?}: the page's own check failed");
    }

    // Release: every user object the page (and its batch) obtained has been dropped, and the
    // page's WebSocket session, still open, holds only the main objects.
    eventually("the server dropped every user object", || {
        shared.live_users.load(Ordering::SeqCst) == 0
    })
    .await;
    let sessions = shared.sessions.lock().unwrap().clone();
    assert_eq!(sessions.len(), 1, "the page opened one WebSocket session");
    assert_no_leaks(&[&sessions[0]]).await;

    let png = chromium.screenshot(&origin).await;
    assert!(png.starts_with(b"\x89PNG"), "the screenshot is not a PNG");
    std::fs::write(screenshot_path(), &png).unwrap();

    // Closing the browser ends the page's session; then the server stops with nothing left.
    chromium.child.kill().await.unwrap();
    tokio::time::timeout(Duration::from_secs(5), sessions[0].closed())
        .await
        .expect("the page's session did not end with the browser");
    drop(sessions);
    service.shutdown().await;
    stop.send(()).unwrap();
    serving.await.unwrap().unwrap();
    assert_tasks_at_most(tasks_before).await;
}
