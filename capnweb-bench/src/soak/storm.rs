//! `capnweb-bench soak-storm <url> <n>`: the disconnect storm's client. Opens `n` sessions,
//! each holding a capability from `cap()`, a pending `hang()` call and a callback the server
//! keeps (`keep(cb)`), prints `READY <n>` and then waits for the parent to kill it, which drops
//! every connection at once.

use futures_util::{StreamExt, stream};

use crate::client::Context;
use crate::soak::api::{CallbackClient, Echoer, SoakApiClient, TokenClient};
use capnweb_runtime::transport::websocket;

/// Sessions being set up at once.
const CONCURRENCY: usize = 64;

/// What one storm session holds until the process dies.
struct Held {
    _session: capnweb_runtime::Session,
    _token: TokenClient,
}

async fn one(url: String) -> Result<Held, String> {
    let session = websocket::connect(&url).await.ctx("connect")?;
    let api = SoakApiClient::from(session.main());
    let token = api.cap().resolve().await.ctx("cap")?;
    token.touch().await.ctx("touch")?;
    let answer = api.keep(CallbackClient::new(Echoer)).await.ctx("keep")?;
    crate::client::check("keep", answer, 7)?;
    tokio::spawn(async move {
        let _ = api.hang().await;
    });
    Ok(Held {
        _session: session,
        _token: token,
    })
}

/// Runs the storm client; returns only on error or when stdin closes.
pub fn main(args: &[String]) -> Result<(), String> {
    let [url, n] = args else {
        return Err("soak-storm: expected <url> <n>".into());
    };
    let n: usize = n.parse().ctx("soak-storm: n")?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async move {
        let held: Vec<Held> = stream::iter(0..n)
            .map(|_| one(url.clone()))
            .buffer_unordered(CONCURRENCY)
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect::<Result<_, _>>()?;
        println!("READY {}", held.len());
        // Hold everything until the parent kills this process (or closes stdin).
        let mut line = String::new();
        let _ = tokio::task::spawn_blocking(move || std::io::stdin().read_line(&mut line)).await;
        drop(held);
        Ok(())
    })
}
