//! A progress reporter: the client passes an object it implements, and the server calls it
//! back while it works. Run with `cargo run --example progress_callback`.
//!
//! The callback is an ordinary `#[rpc_interface]` trait implemented with `#[rpc_target]` on
//! the client side. Passing it as an argument exports it over the same connection; the server
//! holds a `ProgressClient` and calls it like any other capability. When the server drops it,
//! the client's object is released (its `Drop` runs).

use std::sync::{Arc, Mutex};

use capnweb_runtime::transport::websocket;
use capnweb_runtime::{RpcError, Server, rpc_interface, rpc_target};
use tokio::sync::oneshot;

#[rpc_interface]
trait Importer {
    /// Imports `rows` rows, reporting progress after every batch of 25.
    async fn import(&self, rows: u32, progress: ProgressClient) -> Result<String, RpcError>;
}

/// Implemented by the client.
#[rpc_interface]
trait Progress {
    async fn update(&self, done: u32, total: u32);
}

struct Worker;

#[rpc_target]
impl Importer for Worker {
    async fn import(&self, rows: u32, progress: ProgressClient) -> Result<String, RpcError> {
        println!("[server] importing {rows} rows");
        let mut done = 0;
        while done < rows {
            done = (done + 25).min(rows);
            // Wait for each report: the client sees them in order, and a client that went
            // away stops the import with an error.
            progress.update(done, rows).await?;
        }
        Ok(format!("imported {rows} rows"))
    }
}

/// The client's reporter: prints a bar and keeps what it saw.
struct Bar {
    seen: Arc<Mutex<Vec<u32>>>,
    released: Option<oneshot::Sender<()>>,
}

#[rpc_target]
impl Progress for Bar {
    async fn update(&self, done: u32, total: u32) {
        let percent = done * 100 / total;
        let filled = (percent / 10) as usize;
        println!(
            "[client] progress [{}{}] {percent}%",
            "#".repeat(filled),
            ".".repeat(10 - filled)
        );
        self.seen.lock().unwrap().push(percent);
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        println!("[client] the server released the reporter");
        if let Some(released) = self.released.take() {
            let _ = released.send(());
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = Server::builder(|_context| ImporterClient::new(Worker).into())
        .bind("127.0.0.1:0")
        .await?;
    let session = websocket::connect(&format!("ws://{}/", server.local_addr())).await?;
    let importer = ImporterClient::from(session.main());

    let seen = Arc::new(Mutex::new(Vec::new()));
    let (released, on_release) = oneshot::channel();
    let reporter = ProgressClient::new(Bar {
        seen: seen.clone(),
        released: Some(released),
    });
    let outcome = importer.import(100, reporter).await?;
    println!("[client] {outcome}");
    println!("[client] reports received: {:?}", seen.lock().unwrap());

    // The server dropped its reference when `import` returned; the release message follows
    // the answer closely.
    tokio::time::timeout(std::time::Duration::from_secs(5), on_release).await??;
    let stats = session.stats();
    println!(
        "[client] session tables: {} imports, {} exports (only the main objects)",
        stats.imports, stats.exports
    );
    server.shutdown().await;
    Ok(())
}
