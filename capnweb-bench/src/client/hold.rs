//! Scenario g's client: opens and holds idle WebSocket connections on command, so the parent
//! can read the server's memory in between.
//!
//! Commands on stdin, one per line: `open <n>` opens n more connections (64 handshakes at a
//! time) and answers `OPEN <held> <failed> [first error]`; `close` drops them all and answers
//! `CLOSED`. EOF ends the process.

use futures_util::{StreamExt, stream};
use tokio::io::{AsyncBufReadExt, BufReader};

use super::Context;

/// Handshakes in progress at once.
const CONCURRENCY: usize = 64;

/// Runs the command loop against `url`.
pub async fn run(url: &str) -> Result<(), String> {
    let mut held = Vec::new();
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    while let Some(line) = lines.next_line().await.ctx("stdin")? {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["open", n] => {
                let n: usize = n.parse().ctx("open")?;
                let results: Vec<_> = stream::iter(0..n)
                    .map(|_| tokio_tungstenite::connect_async_with_config(url, None, true))
                    .buffer_unordered(CONCURRENCY)
                    .collect()
                    .await;
                let mut failed = 0;
                let mut first_error = String::new();
                for result in results {
                    match result {
                        Ok((ws, _)) => held.push(ws),
                        Err(e) => {
                            if failed == 0 {
                                first_error = e.to_string();
                            }
                            failed += 1;
                        }
                    }
                }
                println!("OPEN {} {failed} {first_error}", held.len());
            }
            ["close"] => {
                held.clear();
                println!("CLOSED");
            }
            _ => return Err(format!("hold: unknown command {line:?}")),
        }
    }
    Ok(())
}
