//! The schema-free API: no traits on either side. The server is a hand-written `RpcTarget`
//! that dispatches on method names; the client calls by name with `Stub::call`, reads
//! properties with `get`, and looks at the answers as `Value`s (JavaScript's values, special
//! ones included) or converts them with serde. Run with `cargo run --example dynamic_api`.
//!
//! Useful for proxies, scripting, debugging tools, or talking to a JavaScript server whose
//! API you would rather not describe in Rust. Pipelining and callbacks work as in the typed
//! API, which is built on this one.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use capnweb_runtime::value::Date;
use capnweb_runtime::{
    Args, CallFuture, RpcError, RpcTarget, Server, Stub, Value, from_value, to_value,
    transport::websocket,
};
use serde::{Deserialize, Serialize};

/// A key-value store holding any JavaScript value, with named sub-stores.
#[derive(Default)]
struct Store {
    entries: Mutex<BTreeMap<String, Value>>,
    buckets: Mutex<BTreeMap<String, Stub>>,
}

impl RpcTarget for Store {
    fn call(self: Arc<Self>, method: &str, args: Args) -> CallFuture {
        let answer = match method {
            // set(key: string, value: any)
            "set" => args.get::<String>(0).map(|key| {
                self.entries.lock().unwrap().insert(key, args.value(1));
                Value::Undefined
            }),
            // get(key: string): any (undefined when missing)
            "get" => args.get::<String>(0).map(|key| {
                let entries = self.entries.lock().unwrap();
                entries.get(&key).cloned().unwrap_or(Value::Undefined)
            }),
            // keys(): string[]
            "keys" => to_value(&self.entries.lock().unwrap().keys().collect::<Vec<_>>()),
            // bucket(name: string): Store, the same one for the same name
            "bucket" => args.get::<String>(0).map(|name| {
                let mut buckets = self.buckets.lock().unwrap();
                Value::Stub(
                    buckets
                        .entry(name)
                        .or_insert_with(|| Stub::new(Store::default()))
                        .clone(),
                )
            }),
            // each(callback: (key, value) => void): number, calling back for every entry
            "each" => {
                let entries = self.entries.lock().unwrap().clone();
                return Box::pin(async move {
                    let callback: Stub = args.get(0)?;
                    for (key, value) in &entries {
                        callback.invoke((key, value)).await?;
                    }
                    Ok(Value::from(entries.len() as f64))
                });
            }
            other => Err(RpcError::no_such_method(other)),
        };
        Box::pin(std::future::ready(answer))
    }

    fn get(self: Arc<Self>, property: &str) -> CallFuture {
        let answer = match property {
            "size" => Value::from(self.entries.lock().unwrap().len() as f64),
            _ => Value::Undefined,
        };
        Box::pin(std::future::ready(Ok(answer)))
    }
}

/// Any serde type converts to and from `Value`.
#[derive(Debug, Serialize, Deserialize)]
struct Settings {
    theme: String,
    font_size: u32,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = Server::builder(|_context| Stub::new(Store::default()))
        .bind("127.0.0.1:0")
        .await?;
    let session = websocket::connect(&format!("ws://{}/", server.local_addr())).await?;
    let store = session.main();

    // Arguments are a tuple of anything serializable (or a `Vec<Value>`).
    store.call("set", ("greeting", "hello")).await?;
    store
        .call("set", ("epoch", Value::Date(Date::from_millis(0.0))))
        .await?;
    let settings = Settings {
        theme: "dark".into(),
        font_size: 14,
    };
    store.call("set", ("settings", &settings)).await?;

    // Answers are `Value`s...
    for key in ["greeting", "epoch", "settings", "missing"] {
        let value = store.call("get", (key,)).await?;
        let described = match &value {
            Value::String(text) => format!("the string {text:?}"),
            Value::Date(date) => format!(
                "a Date, {} ms after 1970",
                date.millis().unwrap_or(f64::NAN)
            ),
            Value::Object(fields) => format!(
                "an object with keys {:?}",
                fields.keys().collect::<Vec<_>>()
            ),
            Value::Undefined => "undefined".to_owned(),
            other => format!("a {}", other.kind()),
        };
        println!("[client] get({key:?}) is {described}");
    }

    // ...or typed, with serde.
    let back: Settings = from_value(store.call("get", ("settings",)).await?)?;
    println!("[client] settings read back: {back:?}");
    let size: u32 = store.get("size").typed().await?;
    println!("[client] size = {size}");

    // Pipelining: `bucket` returns a capability, used before it arrives (one round trip).
    let archive = store.call("bucket", ("archive",));
    archive.call("set", ("old", 1)).await?;
    let keys: Vec<String> = archive.call("keys", ()).typed().await?;
    println!("[client] bucket(\"archive\").keys() = {keys:?}");

    // A callback: a closure becomes a function the server can call.
    let printer = Stub::from_fn(|args: Vec<Value>| async move {
        let mut args = args.into_iter();
        let key: String = from_value(args.next().unwrap_or_default())?;
        let value = args.next().unwrap_or_default();
        println!("[client] each: {key} ({})", value.kind());
        Ok(Value::Undefined)
    });
    let visited: u32 = store.call("each", (printer,)).typed().await?;
    println!("[client] each visited {visited:?} entries");

    // Misuse is a JavaScript `TypeError`, as from a JavaScript server.
    let error = store.call("delete", ("greeting",)).await.unwrap_err();
    println!("[client] delete(..): {error}");

    server.shutdown().await;
    Ok(())
}
