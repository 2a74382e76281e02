//! A hand-written peer that sends exact message texts to our server over each of our
//! transports (in memory, WebSocket, HTTP batch), reports what the server answered, and checks
//! that the server session left nothing behind: its main object dropped, every task it started
//! ended, while the server itself is still running.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use capnweb_runtime::transport::{MessageReceiver, MessageSender, Transport, memory, websocket};
use capnweb_runtime::{
    Args, CallFuture, RpcError, RpcTarget, Server, Session, SessionOptions, Stub,
};
use capnweb_runtime::{Value, http::SessionKind};
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

use crate::http_server::raw_request;
use crate::support::{alive_tasks, assert_tasks_at_most_within, eventually};

/// The transport a hand-written peer uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Raw {
    Memory,
    WebSocket,
    HttpBatch,
}

/// Every transport of ours.
pub const ALL: &[Raw] = &[Raw::Memory, Raw::WebSocket, Raw::HttpBatch];

/// What the server did with the messages.
#[derive(Debug)]
pub struct Outcome {
    /// The error message of the `abort` the server sent (for a batch: the body of its `400`).
    pub abort: Option<String>,
    /// Every other message the server sent, in order.
    pub replies: Vec<String>,
}

impl Outcome {
    /// Asserts that the server aborted with a message containing `needle`.
    #[track_caller]
    pub fn assert_aborted_with(&self, needle: &str, what: &str) {
        let abort = self
            .abort
            .as_deref()
            .unwrap_or_else(|| panic!("{what}: no abort; the server answered {:?}", self.replies));
        assert!(
            abort.contains(needle),
            "{what}: abort {abort:?} should contain {needle:?}"
        );
    }
}

/// The server's main object: `echo(x)`, `callCb(cb, x)` (calls `cb(x)`), `notify(cb, n)`
/// (calls `cb(1..=n)` without waiting), `hang()`, `makeStubs(n)` (an array of `n` new objects). Counts how many exist.
struct Probe {
    alive: Arc<AtomicUsize>,
}

impl Probe {
    fn stub(alive: &Arc<AtomicUsize>) -> Stub {
        alive.fetch_add(1, Ordering::SeqCst);
        Stub::new(Probe {
            alive: alive.clone(),
        })
    }
}

impl Drop for Probe {
    fn drop(&mut self) {
        self.alive.fetch_sub(1, Ordering::SeqCst);
    }
}

struct Leaf;

impl RpcTarget for Leaf {
    fn call(self: Arc<Self>, method: &str, _args: Args) -> CallFuture {
        Box::pin(std::future::ready(Err(RpcError::no_such_method(method))))
    }
}

fn arg_stub(args: &[Value], i: usize) -> Result<Stub, RpcError> {
    match args.get(i) {
        Some(Value::Stub(s)) => Ok(s.clone()),
        _ => Err(RpcError::type_error("expected a stub")),
    }
}

impl RpcTarget for Probe {
    fn call(self: Arc<Self>, method: &str, args: Args) -> CallFuture {
        let args = args.into_values();
        match method {
            "echo" => Box::pin(std::future::ready(Ok(args
                .into_iter()
                .next()
                .unwrap_or(Value::Undefined)))),
            "callCb" => Box::pin(async move {
                let cb = arg_stub(&args, 0)?;
                let x = args.get(1).cloned().unwrap_or(Value::Undefined);
                cb.invoke((x,)).await
            }),
            "notify" => Box::pin(std::future::ready((|| {
                let cb = arg_stub(&args, 0)?;
                let n = match args.get(1) {
                    Some(Value::Number(n)) => *n as u32,
                    _ => 0,
                };
                for i in 1..=n {
                    drop(cb.invoke((i,)));
                }
                Ok(Value::Number(f64::from(n)))
            })())),
            "hang" => Box::pin(std::future::pending()),
            "makeStubs" => {
                let n = match args.first() {
                    Some(Value::Number(n)) => *n as usize,
                    _ => 0,
                };
                let stubs = (0..n).map(|_| Value::Stub(Stub::new(Leaf))).collect();
                Box::pin(std::future::ready(Ok(Value::Array(stubs))))
            }
            other => Box::pin(std::future::ready(Err(RpcError::no_such_method(other)))),
        }
    }
}

/// How many `push` messages are in `messages` (the next one the peer sends takes this + 1).
fn pushes(messages: &[&str]) -> usize {
    messages
        .iter()
        .filter(|m| m.starts_with("[\"push\""))
        .count()
}

/// A call whose answer tells the peer that everything before it was applied.
fn sentinel(messages: &[&str]) -> [String; 2] {
    let id = pushes(messages) + 1;
    [
        r#"["push",["pipeline",0,["echo"],["sentinel"]]]"#.to_owned(),
        format!(r#"["pull",{id}]"#),
    ]
}

fn is_sentinel_answer(message: &str) -> bool {
    message.starts_with("[\"resolve\"") && message.ends_with(",\"sentinel\"]")
}

/// What a WebSocket server (npm capnweb's, as the reference) sends in answer to `messages`,
/// up to its answer to the sentinel call that follows them (not included).
pub async fn node_replies(url: &str, messages: &[&str]) -> Vec<String> {
    let (mut ws, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("connect");
    let tail = sentinel(messages);
    for m in messages
        .iter()
        .copied()
        .chain(tail.iter().map(String::as_str))
    {
        ws.send(Message::text(m)).await.expect("send");
    }
    let mut replies = Vec::new();
    loop {
        let next = tokio::time::timeout(LIMIT, ws.next())
            .await
            .expect("no answer within 5 s");
        match next {
            Some(Ok(Message::Text(t))) if is_sentinel_answer(t.as_str()) => break,
            Some(Ok(Message::Text(t))) => replies.push(t.as_str().to_owned()),
            Some(Ok(_)) => {}
            other => panic!("the connection ended: {other:?}"),
        }
    }
    let _ = ws.close(None).await;
    replies
}

/// The error message inside `["abort", ["error", name, message, ...]]`.
fn abort_message(text: &str) -> Option<String> {
    let parsed: serde_json::Value = serde_json::from_str(text).ok()?;
    (parsed[0] == "abort").then(|| parsed[1][2].as_str().unwrap_or_default().to_owned())
}

const LIMIT: Duration = Duration::from_secs(5);

/// Sends `messages` (then a sentinel call) to a fresh server session over `over`, collects
/// what the server sends until it aborts or answers the sentinel, closes, and checks that the
/// server session left nothing behind. For a WebSocket server, a well-behaved session on the
/// same server works before and after.
pub async fn run(over: Raw, options: SessionOptions, messages: &[&str]) -> Outcome {
    let alive = Arc::new(AtomicUsize::new(0));
    let tasks_before = alive_tasks();
    let sentinel = sentinel(messages);
    let all: Vec<String> = messages
        .iter()
        .map(|m| (*m).to_owned())
        .chain(sentinel)
        .collect();
    let outcome = match over {
        Raw::Memory => {
            let (peer, ours) = memory::pair();
            let server = Session::builder()
                .main(Probe::stub(&alive))
                .options(options)
                .start(ours);
            let (mut tx, mut rx) = peer.split();
            for m in &all {
                // The server may have closed already: what it sent is still read below.
                let _ = tx.send(vec![m.clone()]).await;
            }
            let mut outcome = Outcome {
                abort: None,
                replies: Vec::new(),
            };
            loop {
                let next = tokio::time::timeout(LIMIT, rx.recv())
                    .await
                    .expect("the server neither answered nor aborted within 5 s");
                match next {
                    Some(Ok(m)) => {
                        if let Some(abort) = abort_message(&m) {
                            outcome.abort = Some(abort);
                        } else if is_sentinel_answer(&m) {
                            break;
                        } else {
                            outcome.replies.push(m);
                        }
                    }
                    _ => break,
                }
            }
            drop((tx, rx));
            tokio::time::timeout(LIMIT, server.closed())
                .await
                .expect("the server session did not end once its peer left");
            // Held until here so the handle cannot be what ends the session.
            drop(server);
            outcome
        }
        Raw::WebSocket => {
            let served: Arc<std::sync::Mutex<Vec<Session>>> = Arc::default();
            let registry = served.clone();
            let counter = alive.clone();
            let server = Server::builder(move |context| {
                let registry = registry.clone();
                context.on_session(move |s| registry.lock().unwrap().push(s.clone()));
                Probe::stub(&counter)
            })
            .session_options(options)
            .bind("127.0.0.1:0")
            .await
            .expect("bind");
            let url = format!("ws://127.0.0.1:{}/", server.local_addr().port());
            let good = websocket::connect(&url).await.expect("connect");
            let echo = |s: &'static str| good.main().call("echo", (s,)).typed::<String>();
            assert_eq!(echo("before").await.unwrap(), "before");
            let idle = alive_tasks();

            let (mut ws, _) = tokio_tungstenite::connect_async(&url)
                .await
                .expect("connect");
            for m in &all {
                if ws.send(Message::text(m.clone())).await.is_err() {
                    break;
                }
            }
            let mut outcome = Outcome {
                abort: None,
                replies: Vec::new(),
            };
            loop {
                let next = tokio::time::timeout(LIMIT, ws.next())
                    .await
                    .expect("the server neither answered nor aborted within 5 s");
                match next {
                    Some(Ok(Message::Text(t))) => {
                        if let Some(abort) = abort_message(&t) {
                            outcome.abort = Some(abort);
                        } else if is_sentinel_answer(&t) {
                            break;
                        } else {
                            outcome.replies.push(t.as_str().to_owned());
                        }
                    }
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                    Some(Ok(_)) => {}
                }
            }
            let _ = ws.close(None).await;
            drop(ws);
            let hostile = served.lock().unwrap()[1].clone();
            tokio::time::timeout(LIMIT, hostile.closed())
                .await
                .expect("the server session did not end once its peer left");
            drop(hostile);
            // Only the good session's main object is left, and no task the hostile one started.
            eventually("the hostile session's main object is dropped", || {
                alive.load(Ordering::SeqCst) == 1
            })
            .await;
            assert_tasks_at_most_within(idle, LIMIT, "after the hostile session ended").await;
            assert_eq!(echo("after").await.unwrap(), "after");
            served.lock().unwrap().clear();
            drop(good);
            server.shutdown().await;
            outcome
        }
        Raw::HttpBatch => {
            let counter = alive.clone();
            let server = Server::builder(move |context| {
                assert_eq!(context.kind(), SessionKind::HttpBatch);
                Probe::stub(&counter)
            })
            .session_options(options)
            .bind("127.0.0.1:0")
            .await
            .expect("bind");
            let port = server.local_addr().port();
            let idle = alive_tasks();
            let body = all.join("\n");
            let response = raw_request(port, "POST", &[], body.as_bytes()).await;
            let outcome = match response.status {
                200 => Outcome {
                    abort: None,
                    replies: response
                        .body
                        .split('\n')
                        .filter(|m| !m.is_empty() && !is_sentinel_answer(m))
                        .map(str::to_owned)
                        .collect(),
                },
                400 => Outcome {
                    abort: Some(response.body),
                    replies: Vec::new(),
                },
                other => panic!("unexpected status {other}: {}", response.body),
            };
            eventually("the batch's main object is dropped", || {
                alive.load(Ordering::SeqCst) == 0
            })
            .await;
            assert_tasks_at_most_within(idle, LIMIT, "after the batch").await;
            server.shutdown().await;
            outcome
        }
    };
    assert_eq!(
        alive.load(Ordering::SeqCst),
        0,
        "{over:?}: main objects left"
    );
    assert_tasks_at_most_within(tasks_before, LIMIT, &format!("{over:?}: after the run")).await;
    outcome
}
