//! Quickstart: a Cap'n Web server and client in one process, talking over a real WebSocket on
//! 127.0.0.1. Run with `cargo run --example quickstart`.
//!
//! The server exposes a small calculator; the client makes plain calls, a pipelined chain (one
//! round trip), and passes a callback the server calls back.

use std::sync::Arc;

use capnweb_runtime::transport::websocket;
use capnweb_runtime::{CallFuture, RpcError, RpcTarget, Stub, Value, from_value, to_value};
use tokio::net::TcpListener;

/// The server's main object.
struct Calculator;

impl RpcTarget for Calculator {
    fn call(self: Arc<Self>, method: &str, args: Vec<Value>) -> CallFuture {
        match method {
            "add" => Box::pin(async move {
                let (a, b): (f64, f64) = from_value(Value::Array(args))?;
                println!("[server] add({a}, {b})");
                to_value(&(a + b))
            }),
            "greet" => Box::pin(async move {
                let (name,): (String,) = from_value(Value::Array(args))?;
                println!("[server] greet({name:?})");
                to_value(&format!("Hello, {name}!"))
            }),
            "countdown" => Box::pin(async move {
                // Calls the client's callback once per number: capabilities travel both ways.
                let mut args = args.into_iter();
                let Some(Value::Stub(callback)) = args.next() else {
                    return Err(RpcError::type_error(
                        "countdown(callback, from) needs a callback",
                    ));
                };
                let from: u32 = from_value(args.next().unwrap_or_default())?;
                for n in (1..=from).rev() {
                    callback.invoke((n,)).await?;
                }
                to_value(&"liftoff")
            }),
            other => Box::pin(std::future::ready(Err(RpcError::no_such_method(other)))),
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("ws://{}/", listener.local_addr()?);
    tokio::spawn(websocket::serve(listener, || Stub::new(Calculator)));
    println!("[server] listening on {url}");

    let session = websocket::connect(&url, None).await?;
    let api = session.main();

    let sum: f64 = api.call("add", (2, 3)).typed().await?;
    println!("[client] add(2, 3) = {sum}");

    // Pipelining: the inner calls' results are used before they arrive; one round trip in all.
    let nested = api.call(
        "add",
        vec![
            Value::Promise(api.call("add", (1, 2))),
            Value::Promise(api.call("add", (3, 4))),
        ],
    );
    println!(
        "[client] add(add(1, 2), add(3, 4)) = {}",
        nested.typed::<f64>().await?
    );

    let greeting: String = api.call("greet", ("Ada",)).typed().await?;
    println!("[client] {greeting}");

    let callback = Stub::from_fn(|args| async move {
        println!(
            "[client] callback called with {:?}",
            args.first().cloned().unwrap_or_default()
        );
        Ok(Value::Undefined)
    });
    let done: String = api
        .call("countdown", vec![Value::Stub(callback), 3.into()])
        .typed()
        .await?;
    println!("[client] countdown finished: {done}");

    let stats = session.stats();
    println!(
        "[client] session tables: {} imports, {} exports (only the main objects)",
        stats.imports, stats.exports
    );
    Ok(())
}
