//! The HTTP batch client: calls, pipelined calls and promises passed as arguments collected
//! into one POST, for clients that make a few calls and leave (no connection to keep open).
//! Run with `cargo run --example http_batch`.
//!
//! A batch is a short-lived session: the request goes out when the first result is awaited
//! (after everything the awaiting task queued before it), every result arrives in the one
//! response, and then the session is over. A call made after that fails with
//! `RpcError::BatchEnded`; make a new batch instead (the client's connection pool is shared).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use capnweb_runtime::http::{BatchClient, SessionKind};
use capnweb_runtime::{RpcError, Server, rpc_interface, rpc_target};

#[rpc_interface]
trait Api {
    async fn add(&self, a: f64, b: f64) -> f64;
    async fn greet(&self, name: String) -> String;
    async fn user(&self, id: u32) -> UserClient;
}

#[rpc_interface]
trait User {
    #[rpc(property)]
    async fn name(&self) -> String;
}

struct Calc;
struct Person(u32);

#[rpc_target]
impl Api for Calc {
    async fn add(&self, a: f64, b: f64) -> f64 {
        println!("[server]   add({a}, {b})");
        a + b
    }

    async fn greet(&self, name: String) -> String {
        println!("[server]   greet({name:?})");
        format!("Hello, {name}!")
    }

    async fn user(&self, id: u32) -> UserClient {
        println!("[server]   user({id})");
        Person(id).into()
    }
}

#[rpc_target]
impl User for Person {
    async fn name(&self) -> String {
        format!("user {}", self.0)
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let batches = Arc::new(AtomicUsize::new(0));
    let counted = batches.clone();
    // The same server serves WebSocket sessions and batches; each batch gets its own main
    // object, made for that one request.
    let server = Server::builder(move |context| {
        if context.kind() == SessionKind::HttpBatch {
            let n = counted.fetch_add(1, Ordering::SeqCst) + 1;
            println!("[server] POST #{n}");
        }
        ApiClient::new(Calc).into()
    })
    .bind("127.0.0.1:0")
    .await?;

    let client = BatchClient::new(&format!("http://{}/rpc", server.local_addr()))?;
    let batch = client.session();
    let api = ApiClient::from(batch.main());

    // Nothing is sent until the join below awaits: four calls and a property read, including
    // `add(add(1, 2), 3)` (the inner result is passed on by the server), go out in one POST.
    let (sum, greeting, name) = tokio::join!(
        api.add(api.add(1, 2), 3),
        api.greet("Ada"),
        api.user(7).name(),
    );
    println!("[client] add(add(1, 2), 3) = {}", sum?);
    println!("[client] greet = {}", greeting?);
    println!("[client] user(7).name = {}", name?);
    println!(
        "[client] requests so far: {}",
        batches.load(Ordering::SeqCst)
    );

    // The batch is over.
    match api.add(1, 1).await {
        Err(RpcError::BatchEnded(why)) => println!("[client] a call after the batch: {why}"),
        other => return Err(format!("expected BatchEnded, got {other:?}").into()),
    }

    // A new batch for the next calls.
    let api = ApiClient::from(client.session().main());
    println!(
        "[client] next batch: add(20, 22) = {}",
        api.add(20, 22).await?
    );
    println!(
        "[client] requests so far: {}",
        batches.load(Ordering::SeqCst)
    );

    server.shutdown().await;
    Ok(())
}
