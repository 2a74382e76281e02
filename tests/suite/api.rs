//! The shared test API (see tests/node/api.mjs for the same API in JavaScript), implemented on
//! the dynamic `RpcTarget` layer: the server the Node client scenarios run against.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use capnweb_runtime::stream::ReadableStream;
use capnweb_runtime::value::{Date, Object};
use capnweb_runtime::{
    Args, CallFuture, RpcError, RpcTarget, Session, Stub, Value, from_value, to_value,
};
use futures_util::{SinkExt, StreamExt};
use serde::de::DeserializeOwned;

/// How many times tracked objects (counters) with each key were dropped.
static DROPS: OnceLock<Mutex<HashMap<String, u32>>> = OnceLock::new();

fn drops() -> std::sync::MutexGuard<'static, HashMap<String, u32>> {
    DROPS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner())
}

/// How many times a counter made with `key` has been dropped.
pub fn drop_count(key: &str) -> u32 {
    drops().get(key).copied().unwrap_or(0)
}

/// How many counters with each key were created.
static CREATED: OnceLock<Mutex<HashMap<String, u32>>> = OnceLock::new();

/// How many counters were created with `key` (a call cut off by a disconnect creates none).
pub fn created_count(key: &str) -> u32 {
    let created = CREATED
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    created.get(key).copied().unwrap_or(0)
}

fn note_created(key: &str) {
    let mut created = CREATED
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    *created.entry(key.to_owned()).or_default() += 1;
}

fn arg<T: DeserializeOwned>(args: &[Value], i: usize) -> Result<T, RpcError> {
    from_value(args.get(i).cloned().unwrap_or(Value::Undefined))
}

fn stub_arg(args: &[Value], i: usize) -> Result<Stub, RpcError> {
    match args.get(i) {
        Some(Value::Stub(s)) => Ok(s.clone()),
        other => Err(RpcError::type_error(format!(
            "argument {i} must be a capability, got {other:?}"
        ))),
    }
}

fn ready(result: Result<Value, RpcError>) -> CallFuture {
    Box::pin(std::future::ready(result))
}

fn ok<T: serde::Serialize>(v: T) -> Result<Value, RpcError> {
    to_value(&v)
}

/// The main object of the test API. One per session.
pub struct TestApi {
    /// The session serving this object, for `stats()`.
    pub session: Arc<OnceLock<Session>>,
    recorded: Mutex<Vec<Value>>,
    held: Mutex<Option<Stub>>,
}

impl TestApi {
    /// A fresh main object; fill `session` once the session exists.
    pub fn new() -> (TestApi, Arc<OnceLock<Session>>) {
        let session = Arc::new(OnceLock::new());
        (
            TestApi {
                session: session.clone(),
                recorded: Mutex::default(),
                held: Mutex::default(),
            },
            session,
        )
    }
}

impl RpcTarget for TestApi {
    fn call(self: Arc<Self>, method: &str, args: Args) -> CallFuture {
        let args = args.into_values();
        match method {
            "add" => ready((|| {
                Ok(Value::Number(arg::<f64>(&args, 0)? + arg::<f64>(&args, 1)?))
            })()),
            "ping" => ready(ok("pong")),
            "readChunks" => ready((|| {
                let n: u32 = arg(&args, 0)?;
                let chunks = futures_util::stream::iter(1..=n).map(|seq| {
                    let mut object = capnweb_runtime::value::Object::new();
                    object.insert("seq".into(), Value::from(seq));
                    Ok(Value::Object(object))
                });
                Ok(Value::ReadableStream(ReadableStream::new(chunks)))
            })()),
            "failingStream" => ready(Ok(Value::ReadableStream(ReadableStream::new(
                futures_util::stream::iter([
                    Ok(Value::from("a")),
                    Err(RpcError::new("RangeError", "broken")),
                ]),
            )))),
            "makeResponse" => ready(arg(&args, 0).map(response_with_body)),
            "describeRequest" => Box::pin(describe_request(args.into_iter().next())),
            "makeBlob" => ready((|| {
                Ok(Value::Blob(capnweb_runtime::value::Blob {
                    bytes: arg::<String>(&args, 0)?.into_bytes(),
                    content_type: arg(&args, 1)?,
                }))
            })()),
            "describeBlob" => ready(match args.first() {
                Some(Value::Blob(blob)) => Ok(Value::String(describe_blob(blob))),
                _ => Err(RpcError::type_error("describeBlob expects a Blob")),
            }),
            "writeChunks" => Box::pin(async move {
                let n: u32 = arg(&args, 1)?;
                let Some(Value::WritableStream(stream)) = args.into_iter().next() else {
                    return Err(RpcError::type_error("writeChunks expects a WritableStream"));
                };
                // Through the `Sink` adapter: `send` writes, `close` closes.
                let mut sink = stream.into_sink();
                for i in 1..=n {
                    sink.send(Value::from(format!("chunk {i}"))).await?;
                }
                sink.close().await?;
                Ok(Value::from(n))
            }),
            "sumStream" => Box::pin(async move {
                let Some(Value::ReadableStream(mut stream)) = args.into_iter().next() else {
                    return Err(RpcError::type_error("sumStream expects a ReadableStream"));
                };
                let mut sum = 0.0;
                while let Some(chunk) = stream.next().await {
                    sum += capnweb_runtime::from_value::<f64>(chunk?)?;
                }
                Ok(Value::Number(sum))
            }),
            "echo" => ready(Ok(args.into_iter().next().unwrap_or(Value::Undefined))),
            "users" => ready(Ok(Value::Stub(Stub::new(Users)))),
            "listUserIds" => ready(ok([1, 2, 3])),
            "describeUser" => Box::pin(async move {
                let user = stub_arg(&args, 0)?;
                let name: String = user.get("name").typed().await?;
                let email: String = user.get("email").typed().await?;
                ok(format!("{name} <{email}>"))
            }),
            "makeMultiplier" => ready((|| {
                let n: f64 = arg(&args, 0)?;
                Ok(Value::Stub(Stub::from_fn(move |args| {
                    let x = arg::<f64>(&args, 0);
                    async move { Ok(Value::Number(x? * n)) }
                })))
            })()),
            "callbackSum" => Box::pin(async move {
                let f = stub_arg(&args, 0)?;
                let n: u32 = arg(&args, 1)?;
                let mut sum = 0.0;
                for i in 1..=n {
                    sum += f.invoke((i,)).typed::<f64>().await?;
                }
                ok(sum)
            }),
            "useListener" => Box::pin(async move {
                let listener = stub_arg(&args, 0)?;
                let n: u32 = arg(&args, 1)?;
                let mut acks = Vec::new();
                for i in 1..=n {
                    let event = serde_json::json!({"seq": i, "text": format!("event {i}")});
                    acks.push(listener.call("onEvent", (event,)).await?);
                }
                acks.push(listener.call("done", (n,)).await?);
                Ok(Value::Array(acks))
            }),
            "notify" => ready((|| {
                let f = stub_arg(&args, 0)?;
                let n: u32 = arg(&args, 1)?;
                for i in 1..=n {
                    // Fire and forget: dropping the promise releases it without a pull.
                    drop(f.invoke((i,)));
                }
                ok(n)
            })()),
            "fail" => ready(Err(
                match arg::<String>(&args, 0).unwrap_or_default().as_str() {
                    "not-found" => RpcError::new("NotFoundError", "the thing was not found")
                        .with_property("code", "E_NOT_FOUND"),
                    "type" => RpcError::type_error("wrong type, as requested"),
                    "range" => RpcError::new("RangeError", "out of range, as requested"),
                    "string" => RpcError::Thrown(Box::new(Value::String("a thrown string".into()))),
                    other => RpcError::new("Error", format!("unknown failure kind: {other}")),
                },
            )),
            "failLater" => Box::pin(async move {
                let ms: u64 = arg(&args, 0)?;
                tokio::time::sleep(Duration::from_millis(ms)).await;
                Err(RpcError::new("Error", format!("failed after {ms} ms")))
            }),
            "makeCounter" => ready((|| {
                let key: String = arg(&args, 0)?;
                let start: f64 = arg::<Option<f64>>(&args, 1)?.unwrap_or(0.0);
                note_created(&key);
                Ok(Value::Stub(Stub::new(Counter {
                    key,
                    value: Mutex::new(start),
                })))
            })()),
            "disposeCount" => ready((|| ok(drop_count(&arg::<String>(&args, 0)?)))()),
            "delay" => Box::pin(async move {
                let ms: u64 = arg(&args, 0)?;
                tokio::time::sleep(Duration::from_millis(ms)).await;
                Ok(args.into_iter().nth(1).unwrap_or(Value::Undefined))
            }),
            "record" => {
                let mut list = self.recorded.lock().unwrap();
                list.push(args.into_iter().next().unwrap_or(Value::Undefined));
                ready(ok(list.len()))
            }
            "recorded" => ready(Ok(Value::Array(self.recorded.lock().unwrap().clone()))),
            "holdCallback" => ready((|| {
                *self.held.lock().unwrap() = Some(stub_arg(&args, 0)?);
                ok(true)
            })()),
            "callHeld" => Box::pin(async move {
                let held = self.held.lock().unwrap().clone();
                let held = held.ok_or_else(|| RpcError::new("Error", "no callback is held"))?;
                held.invoke(args).await
            }),
            "dropHeld" => ready({
                let held = self.held.lock().unwrap().take();
                drop(held);
                ok(true)
            }),
            "hang" => Box::pin(std::future::pending()),
            // A bug in a method, before and after its first suspension.
            "panicNow" => panic!("panicNow was asked to panic"),
            "panicLater" => Box::pin(async move {
                tokio::time::sleep(Duration::from_millis(5)).await;
                panic!("panicLater was asked to panic");
            }),
            "stats" => ready(match self.session.get() {
                Some(session) => {
                    let stats = session.stats();
                    let mut map = Object::new();
                    map.insert("imports".into(), Value::Number(stats.imports as f64));
                    map.insert("exports".into(), Value::Number(stats.exports as f64));
                    Ok(Value::Object(map))
                }
                None => Err(RpcError::new("Error", "no session")),
            }),
            "callbackAndReturn" => ready(stub_arg(&args, 0).map(Value::Stub)),
            "wrapCallback" => ready(stub_arg(&args, 0).map(|cb| {
                let mut map = Object::new();
                map.insert("cb".into(), Value::Stub(cb));
                Value::Object(map)
            })),
            other => ready(Err(RpcError::no_such_method(other))),
        }
    }
}

struct Users;

/// One of the three users of the test API.
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

impl RpcTarget for Users {
    fn call(self: Arc<Self>, method: &str, args: Args) -> CallFuture {
        match method {
            "get" => ready((|| {
                let id: f64 = args.get(0)?;
                match PEOPLE.iter().position(|p| f64::from(p.id) == id) {
                    Some(i) => Ok(Value::Stub(Stub::new(User(i)))),
                    None => Err(
                        RpcError::new("NotFoundError", format!("no user with id {id}"))
                            .with_property("code", "E_NOT_FOUND"),
                    ),
                }
            })()),
            "find" => ready((|| {
                let name: String = args.get(0)?;
                Ok(match PEOPLE.iter().position(|p| p.name == name) {
                    Some(i) => Value::Stub(Stub::new(User(i))),
                    None => Value::Null,
                })
            })()),
            other => ready(Err(RpcError::no_such_method(other))),
        }
    }
}

struct User(usize);

impl RpcTarget for User {
    fn call(self: Arc<Self>, method: &str, _args: Args) -> CallFuture {
        let p = &PEOPLE[self.0];
        match method {
            "profile" => ready((|| {
                let mut map = Object::new();
                map.insert("id".into(), Value::Number(f64::from(p.id)));
                map.insert("bio".into(), Value::String(p.bio.into()));
                map.insert("joined".into(), Value::Date(Date(Some(p.joined))));
                map.insert("tags".into(), to_value(p.tags)?);
                Ok(Value::Object(map))
            })()),
            "friendIds" => ready(ok(p.friends)),
            other => ready(Err(RpcError::no_such_method(other))),
        }
    }

    fn get(self: Arc<Self>, property: &str) -> CallFuture {
        let p = &PEOPLE[self.0];
        ready(match property {
            "name" => Ok(Value::String(p.name.into())),
            "email" => Ok(Value::String(p.email.into())),
            // The JS User keeps `secret` as an instance field, which capnweb refuses to expose.
            "secret" => Err(RpcError::type_error(INSTANCE_PROPERTY_ERROR)),
            _ => Ok(Value::Undefined),
        })
    }
}

const INSTANCE_PROPERTY_ERROR: &str = "Attempted to access property 'secret', which is an instance property of the RpcTarget. To avoid leaking private internals, instance properties cannot be accessed over RPC. If you want to make this property available over RPC, define it as a method or getter on the class, instead of an instance property.";

struct Counter {
    key: String,
    value: Mutex<f64>,
}

impl RpcTarget for Counter {
    fn call(self: Arc<Self>, method: &str, args: Args) -> CallFuture {
        match method {
            "increment" => ready((|| {
                let by: Option<f64> = args.get(0)?;
                let mut v = self.value.lock().unwrap();
                *v += by.unwrap_or(1.0);
                Ok(Value::Number(*v))
            })()),
            other => ready(Err(RpcError::no_such_method(other))),
        }
    }

    fn get(self: Arc<Self>, property: &str) -> CallFuture {
        ready(Ok(match property {
            "value" => Value::Number(*self.value.lock().unwrap()),
            _ => Value::Undefined,
        }))
    }
}

impl Drop for Counter {
    fn drop(&mut self) {
        *drops().entry(self.key.clone()).or_default() += 1;
    }
}

/// `makeResponse(text)`: a 201 response whose body is a stream of `text`'s bytes.
pub fn response_with_body(text: String) -> Value {
    let chunk = Value::Bytes(capnweb_runtime::value::Bytes {
        data: text.into_bytes(),
        kind: capnweb_runtime::value::BytesKind::Uint8Array,
    });
    let body = ReadableStream::new(futures_util::stream::iter([Ok(chunk)]));
    let mut init = Object::new();
    init.insert("status".into(), Value::from(201));
    Value::Response(Box::new(capnweb_runtime::value::ResponseValue {
        body: Value::ReadableStream(body),
        init,
    }))
}

/// `describeRequest(request)`: `"<method> <url>: <body text>"`, the body read as a stream.
pub async fn describe_request(request: Option<Value>) -> Result<Value, RpcError> {
    let Some(Value::Request(request)) = request else {
        return Err(RpcError::type_error("describeRequest expects a Request"));
    };
    let method = match request.init.get("method") {
        Some(Value::String(m)) => m.clone(),
        _ => "GET".to_owned(),
    };
    let mut text = Vec::new();
    if let Some(Value::ReadableStream(body)) = request.init.get("body") {
        let mut body = body.clone();
        while let Some(chunk) = body.next().await {
            if let Value::Bytes(b) = chunk? {
                text.extend_from_slice(&b.data);
            }
        }
    }
    Ok(Value::String(format!(
        "{method} {}: {}",
        request.url,
        String::from_utf8_lossy(&text)
    )))
}

/// `describeBlob(blob)`: `"<type>: <text>"`.
pub fn describe_blob(blob: &capnweb_runtime::value::Blob) -> String {
    format!(
        "{}: {}",
        blob.content_type,
        String::from_utf8_lossy(&blob.bytes)
    )
}
