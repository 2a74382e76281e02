//! The main object the fuzzed server serves: small, but with every kind of behaviour that takes
//! an input deep into the engine (capabilities in and out, callbacks called, held and dropped,
//! throws, waits on promise arguments, property reads, every special value in results). Each
//! object counts itself in [`live_objects`], which the leak oracle reads.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use capnweb_runtime::value::{Bytes, Date, JsError};
use capnweb_runtime::{Args, CallFuture, RpcError, RpcTarget, Stub, Value};

static LIVE: AtomicI64 = AtomicI64::new(0);

/// How many objects of this module (and closures they created) are alive right now.
pub fn live_objects() -> i64 {
    LIVE.load(Ordering::SeqCst)
}

/// A token held by each counted object: counts one while it lives.
struct Live;

impl Live {
    fn new() -> Live {
        LIVE.fetch_add(1, Ordering::SeqCst);
        Live
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        LIVE.fetch_sub(1, Ordering::SeqCst);
    }
}

/// What a main object keeps between calls: callbacks (`holdCallback`) and values (`record`).
#[derive(Default)]
struct Kept {
    callbacks: Vec<Stub>,
    recorded: Vec<Value>,
}

type KeptRef = Arc<Mutex<Kept>>;

/// What every live main object keeps. A main object may be handed itself (the peer passes
/// `["import", 0]` or the result of `["pipeline", 0, []]` back) and keep it: a reference
/// cycle, which Rust cannot collect, made by the application, not the runtime. So the harness
/// does what an application that keeps capabilities must do, and lets go of them once the
/// session is over ([`drop_kept`]).
static KEPT: Mutex<Vec<Weak<Mutex<Kept>>>> = Mutex::new(Vec::new());

/// Drops every callback and value kept by any main object: called once a session has ended,
/// before the leak check.
pub fn drop_kept() {
    let all: Vec<KeptRef> = {
        let mut all = KEPT.lock().unwrap();
        all.retain(|w| w.strong_count() > 0);
        all.iter().filter_map(Weak::upgrade).collect()
    };
    // Outside the registry's lock: dropping a stub may run a target's Drop.
    for kept in all {
        let taken = std::mem::take(&mut *kept.lock().unwrap());
        drop(taken);
    }
}

/// Longest a method sleeps: long enough to make it suspend, short enough for many execs.
const MAX_DELAY_MS: u64 = 5;
/// Most callbacks one object holds or one call makes.
const MAX_FANOUT: usize = 4;

fn ready(result: Result<Value, RpcError>) -> CallFuture {
    Box::pin(std::future::ready(result))
}

fn stub_arg(args: &Args, i: usize) -> Result<Stub, RpcError> {
    match args.value(i) {
        Value::Stub(stub) => Ok(stub),
        other => Err(RpcError::type_error(format!(
            "argument {i} must be a capability, got {}",
            other.kind()
        ))),
    }
}

fn count_arg(args: &Args, i: usize) -> usize {
    args.get::<f64>(i)
        .map_or(1, |n| n.clamp(0.0, MAX_FANOUT as f64) as usize)
}

/// The served main object; one per session.
pub struct FuzzApi {
    kept: KeptRef,
    _live: Live,
}

/// A new main object for one session.
pub fn main_object() -> Stub {
    let kept: KeptRef = Arc::default();
    KEPT.lock().unwrap().push(Arc::downgrade(&kept));
    Stub::new(FuzzApi {
        kept,
        _live: Live::new(),
    })
}

impl RpcTarget for FuzzApi {
    fn call(self: Arc<Self>, method: &str, args: Args) -> CallFuture {
        match method {
            "ping" => ready(Ok("pong".into())),
            "echo" => ready(Ok(args.value(0))),
            "add" => ready((|| {
                Ok(Value::from(args.get::<f64>(0)? + args.get::<f64>(1)?))
            })()),
            "users" => ready(Ok(Value::Stub(Stub::new(Users { _live: Live::new() })))),
            "makeCounter" => ready(Ok(Value::Stub(Counter::stub(
                args.get::<f64>(0).unwrap_or(0.0),
            )))),
            "makeMultiplier" => {
                let k = args.get::<f64>(0).unwrap_or(1.0);
                let live = Live::new();
                ready(Ok(Value::Stub(Stub::from_fn(move |a: Vec<Value>| {
                    let _keep = &live;
                    let n = match a.first() {
                        Some(Value::Number(n)) => *n,
                        _ => 0.0,
                    };
                    std::future::ready(Ok(Value::from(n * k)))
                }))))
            }
            "callCb" => Box::pin(async move {
                let cb = stub_arg(&args, 0)?;
                cb.invoke((args.value(1),)).await
            }),
            "notify" | "callbackSum" => Box::pin(async move {
                let cb = stub_arg(&args, 0)?;
                let mut sum = 0.0;
                for i in 0..count_arg(&args, 1) {
                    if let Value::Number(n) = cb.invoke((i as f64,)).await? {
                        sum += n;
                    }
                }
                Ok(Value::from(sum))
            }),
            "useListener" => Box::pin(async move {
                let listener = stub_arg(&args, 0)?;
                let mut acks = Vec::new();
                for i in 0..count_arg(&args, 1) {
                    acks.push(listener.call("onEvent", (i as f64,)).await?);
                }
                Ok(Value::Array(acks))
            }),
            "holdCallback" => ready((|| {
                let cb = stub_arg(&args, 0)?;
                let held = &mut self.kept.lock().unwrap().callbacks;
                if held.len() < MAX_FANOUT {
                    held.push(cb);
                }
                Ok(Value::from(held.len() as f64))
            })()),
            "callHeld" => Box::pin(async move {
                let held: Vec<Stub> = self.kept.lock().unwrap().callbacks.clone();
                let mut results = Vec::new();
                for cb in held {
                    results.push(cb.invoke((args.value(0),)).await?);
                }
                Ok(Value::Array(results))
            }),
            "dropHeld" => {
                let dropped = std::mem::take(&mut self.kept.lock().unwrap().callbacks);
                ready(Ok(Value::from(dropped.len() as f64)))
            }
            "callbackAndReturn" => ready(stub_arg(&args, 0).map(Value::Stub)),
            "wrapCallback" => ready(stub_arg(&args, 0).map(|cb| {
                let mut map = capnweb_runtime::value::Object::new();
                map.insert("cb".into(), Value::Stub(cb));
                Value::Object(map)
            })),
            "describeUser" => Box::pin(async move {
                let user = stub_arg(&args, 0)?;
                let name = user.get("name").await?;
                let email = user.get("email").await?;
                Ok(Value::Array(vec![name, email]))
            }),
            "awaitArg" => Box::pin(async move {
                tokio::task::yield_now().await;
                Ok(args.value(0))
            }),
            "delay" => Box::pin(async move {
                let ms = args
                    .get::<f64>(0)
                    .unwrap_or(0.0)
                    .clamp(0.0, MAX_DELAY_MS as f64);
                tokio::time::sleep(Duration::from_millis(ms as u64)).await;
                Ok(args.value(1))
            }),
            "fail" | "throw" => ready(Err(RpcError::new(
                "RangeError",
                format!("asked to fail: {:?}", args.get::<String>(0).ok()),
            )
            .with_property("code", "E_FUZZ"))),
            "failLater" => Box::pin(async {
                tokio::time::sleep(Duration::from_millis(1)).await;
                Err(RpcError::type_error("failed later, as asked"))
            }),
            "record" => {
                let recorded = &mut self.kept.lock().unwrap().recorded;
                if recorded.len() < 16 {
                    recorded.push(args.value(0));
                }
                ready(Ok(Value::Undefined))
            }
            "recorded" => ready(Ok(Value::Array(self.kept.lock().unwrap().recorded.clone()))),
            "returnPromise" => ready(Ok(Value::Promise(capnweb_runtime::Promise::resolved(
                args.value(0),
            )))),
            "getSpecial" => ready(Ok(special_values())),
            "getNested" => ready(Ok(nested_value())),
            other => ready(Err(RpcError::no_such_method(other))),
        }
    }

    fn get(self: Arc<Self>, property: &str) -> CallFuture {
        ready(Ok(match property {
            "name" => "fuzz".into(),
            "version" => Value::from(1.0),
            "nested" => nested_value(),
            "special" => special_values(),
            "counter" => Value::Stub(Counter::stub(0.0)),
            _ => Value::Undefined,
        }))
    }
}

/// An object holding a capability, an array and strings, for property paths into results.
fn nested_value() -> Value {
    let mut inner = capnweb_runtime::value::Object::new();
    inner.insert("list".into(), Value::Array(vec![1.0.into(), "two".into()]));
    inner.insert("counter".into(), Value::Stub(Counter::stub(7.0)));
    let mut outer = capnweb_runtime::value::Object::new();
    outer.insert("inner".into(), Value::Object(inner));
    outer.insert("flag".into(), Value::Bool(true));
    Value::Object(outer)
}

/// Every special form the encoder writes.
fn special_values() -> Value {
    Value::Array(vec![
        Value::Undefined,
        Value::Null,
        Value::Number(f64::INFINITY),
        Value::Number(f64::NEG_INFINITY),
        Value::Number(f64::NAN),
        Value::BigInt((-12345678901234567890i128).into()),
        Value::Date(Date::from_millis(1.5e12)),
        Value::Date(Date::invalid()),
        Value::Bytes(Bytes::new(b"hi".to_vec())),
        Value::Error(Box::new(JsError::new("TypeError", "as a value"))),
        Value::Url("https://example.com/x".into()),
        Value::Headers(vec![("x-a".into(), "b".into())]),
    ])
}

/// A capability returned by `users`: `get(id)` gives a [`User`].
struct Users {
    _live: Live,
}

impl RpcTarget for Users {
    fn call(self: Arc<Self>, method: &str, args: Args) -> CallFuture {
        match method {
            "get" | "find" => {
                let id = args.get::<f64>(0).unwrap_or(-1.0);
                if (1.0..=3.0).contains(&id) {
                    ready(Ok(Value::Stub(Stub::new(User {
                        id,
                        _live: Live::new(),
                    }))))
                } else {
                    ready(Err(RpcError::new("NotFoundError", format!("no user {id}"))))
                }
            }
            "list" => ready(Ok(Value::Array(vec![1.0.into(), 2.0.into(), 3.0.into()]))),
            other => ready(Err(RpcError::no_such_method(other))),
        }
    }
}

/// One user: properties `name`, `email`, `id`; methods `profile`, `friendIds`.
struct User {
    id: f64,
    _live: Live,
}

impl RpcTarget for User {
    fn call(self: Arc<Self>, method: &str, _args: Args) -> CallFuture {
        match method {
            "profile" => ready(Ok(nested_value())),
            "friendIds" => ready(Ok(Value::Array(vec![(self.id % 3.0 + 1.0).into()]))),
            other => ready(Err(RpcError::no_such_method(other))),
        }
    }

    fn get(self: Arc<Self>, property: &str) -> CallFuture {
        ready(Ok(match property {
            "name" => format!("user {}", self.id).into(),
            "email" => format!("u{}@example.com", self.id).into(),
            "id" => self.id.into(),
            _ => Value::Undefined,
        }))
    }
}

/// A counter: `increment(by)`, property `value`.
struct Counter {
    value: Mutex<f64>,
    _live: Live,
}

impl Counter {
    fn stub(start: f64) -> Stub {
        Stub::new(Counter {
            value: Mutex::new(start),
            _live: Live::new(),
        })
    }
}

impl RpcTarget for Counter {
    fn call(self: Arc<Self>, method: &str, args: Args) -> CallFuture {
        match method {
            "increment" => {
                let mut value = self.value.lock().unwrap();
                *value += args.get::<f64>(0).unwrap_or(1.0);
                ready(Ok(Value::from(*value)))
            }
            other => ready(Err(RpcError::no_such_method(other))),
        }
    }

    fn get(self: Arc<Self>, property: &str) -> CallFuture {
        ready(Ok(match property {
            "value" => Value::from(*self.value.lock().unwrap()),
            _ => Value::Undefined,
        }))
    }

    fn invoke(self: Arc<Self>, args: Args) -> CallFuture {
        self.call("increment", args)
    }
}
