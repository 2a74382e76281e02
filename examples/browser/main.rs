//! The browser example: a Rust server and a TypeScript page that calls it with the types
//! generated from the Rust interfaces (`api.d.ts`).
//!
//! ```sh
//! (cd tests/node && npm ci)      # once: capnweb, esbuild and typescript
//! cargo run --example browser    # then open http://127.0.0.1:8080/
//! ```
//!
//! The page runs its scenarios over WebSocket and HTTP batch, shows the results and posts them
//! back; the server prints them. `cargo run --example browser -- 127.0.0.1:0 --once` serves on
//! any free port and exits after the first results.

// `declarations` is for `ts_types.rs`.
#[allow(dead_code)]
mod api;
mod server;

use std::sync::atomic::Ordering;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:8080".into());
    let once = args.next().as_deref() == Some("--once");
    let client_js = server::bundle()?;
    let (router, service, shared, mut results) = server::app(client_js);
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("open http://{}/ in a browser", listener.local_addr()?);
    let serving = tokio::spawn(async move { axum::serve(listener, router).await });
    while let Some(body) = results.recv().await {
        println!("the page reports: {body}");
        println!(
            "user objects still held for callers: {}",
            shared.live_users.load(Ordering::SeqCst)
        );
        if once {
            break;
        }
    }
    service.shutdown().await;
    serving.abort();
    Ok(())
}
