//! Quickstart: a typed Cap'n Web server and client in one process, talking over a real
//! WebSocket on 127.0.0.1. Run with `cargo run --example quickstart`.
//!
//! The server is a small calculator described by a trait. The client makes plain calls, a
//! pipelined chain (one round trip), and passes a callback that the server calls back.

use capnweb_runtime::transport::websocket;
use capnweb_runtime::{RpcError, Server, rpc_interface, rpc_target};

/// What the server offers. Wire names are camelCase (`countdown`, `greet`), so a TypeScript
/// client calls this server exactly like a TypeScript one.
#[rpc_interface]
pub trait Calculator {
    /// `a + b`.
    async fn add(&self, a: f64, b: f64) -> f64;
    /// A greeting.
    async fn greet(&self, name: String) -> String;
    /// Calls `listener.tick(n)` for n = from..=1, then says so.
    async fn countdown(&self, from: u32, listener: ListenerClient) -> Result<String, RpcError>;
}

/// A callback object: the client implements it and passes it to the server.
#[rpc_interface]
pub trait Listener {
    /// One tick of the countdown.
    async fn tick(&self, n: u32);
}

struct Calc;

#[rpc_target]
impl Calculator for Calc {
    async fn add(&self, a: f64, b: f64) -> f64 {
        println!("[server] add({a}, {b})");
        a + b
    }

    async fn greet(&self, name: String) -> String {
        println!("[server] greet({name:?})");
        format!("Hello, {name}!")
    }

    async fn countdown(&self, from: u32, listener: ListenerClient) -> Result<String, RpcError> {
        for n in (1..=from).rev() {
            // A call back into the client, over the same connection.
            listener.tick(n).await?;
        }
        Ok("liftoff".into())
    }
}

struct Printer;

#[rpc_target]
impl Listener for Printer {
    async fn tick(&self, n: u32) {
        println!("[client] tick {n}");
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Every session gets a fresh `Calc` as its main object. Port 0: the system picks one.
    let server = Server::builder(|_context| CalculatorClient::new(Calc).into())
        .bind("127.0.0.1:0")
        .await?;
    let url = format!("ws://{}/", server.local_addr());
    println!("[server] listening on {url}");

    let session = websocket::connect(&url).await?;
    let api = CalculatorClient::from(session.main());

    println!("[client] add(2, 3) = {}", api.add(2, 3).await?);

    // Pipelining: the inner calls' results are passed on before they arrive; the three calls
    // cost one round trip.
    let total = api.add(api.add(1, 2), api.add(3, 4));
    println!("[client] add(add(1, 2), add(3, 4)) = {}", total.await?);

    println!("[client] {}", api.greet("Ada").await?);

    // A callback: a local object becomes a capability the server can call.
    let done = api.countdown(3, ListenerClient::new(Printer)).await?;
    println!("[client] countdown finished: {done}");

    let stats = session.stats();
    println!(
        "[client] session tables: {} imports, {} exports (only the main objects)",
        stats.imports, stats.exports
    );

    // Graceful: calls in flight finish, the client's session gets a close frame.
    server.shutdown().await;
    println!("[client] session ended: {}", session.closed().await);
    Ok(())
}
