//! HTTP batch: the input's frames (and the sentinel) as one POST body of newline-joined lines,
//! sent by hand over TCP to our `Server`.

use std::time::Duration;

use capnweb_runtime::Server;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{Outcome, allocated_ids, features_of, sentinel_frames};
use crate::api;
use crate::oracles::{HANG_LIMIT, Oracle, Violation, check_frame, shorten};

/// How long the server lets a batch drain: a batch whose call waits on the client (a callback,
/// a promise it never settles) can never drain, and gets `500` after this.
const BATCH_TIMEOUT: Duration = Duration::from_millis(250);

/// A running server for the batch execs.
pub struct BatchTarget {
    addr: std::net::SocketAddr,
    _server: Server,
}

impl BatchTarget {
    /// Starts the server on a free port of 127.0.0.1.
    pub async fn start() -> std::io::Result<BatchTarget> {
        let server = Server::builder(|_| api::main_object())
            .batch_timeout(BATCH_TIMEOUT)
            .bind("127.0.0.1:0")
            .await?;
        Ok(BatchTarget {
            addr: server.local_addr(),
            _server: server,
        })
    }

    /// Posts one input as a batch and checks the answer.
    pub async fn exec(&self, input: &[String]) -> Outcome {
        let mut body = input.join("\n");
        // The server splits on newlines, so count IDs on the lines it will see.
        let lines: Vec<String> = body.split('\n').map(str::to_owned).collect();
        let sentinel = sentinel_frames(allocated_ids(&lines));
        let sentinel_id = allocated_ids(&lines) + 1;
        if !body.is_empty() {
            body.push('\n');
        }
        body.push_str(&sentinel.join("\n"));
        let limit = HANG_LIMIT + BATCH_TIMEOUT;
        let mut outcome = Outcome::default();
        let (status, reply) = match tokio::time::timeout(limit, self.post(&body)).await {
            Ok(Ok(answer)) => answer,
            Ok(Err(e)) => {
                outcome.violations.push(Violation::new(
                    Oracle::Hang,
                    format!("the batch request failed: {e}"),
                ));
                return outcome;
            }
            Err(_) => {
                outcome.violations.push(Violation::new(
                    Oracle::Hang,
                    format!("no answer to the batch within {limit:?}"),
                ));
                return outcome;
            }
        };
        outcome.features.push(format!("status {status}"));
        if status != 200 {
            // The body is the abort reason (400), or says why the batch failed (413, 500).
            let reason: String = reply
                .chars()
                .filter(|c| !c.is_ascii_digit())
                .take(80)
                .collect();
            outcome.features.push(format!("{status} {reason}"));
            if !matches!(status, 400 | 413 | 500) {
                outcome.violations.push(Violation::new(
                    Oracle::BadOutput,
                    format!("unexpected status {status}: {}", shorten(&reply)),
                ));
            }
            return outcome;
        }
        let mut answered = false;
        for line in reply.split('\n').filter(|l| !l.is_empty()) {
            if let Err(v) = check_frame(line) {
                outcome.violations.push(v);
            }
            features_of(line, &mut outcome.features);
            answered |= line.starts_with(&format!("[\"resolve\",{sentinel_id},"))
                || line.starts_with(&format!("[\"reject\",{sentinel_id},"));
        }
        if !answered {
            outcome.violations.push(Violation::new(
                Oracle::Hang,
                format!(
                    "the batch answered 200 without answering the sentinel (ID {sentinel_id}): {}",
                    shorten(&reply)
                ),
            ));
        }
        outcome
    }

    /// POSTs `body` with `Connection: close` and reads the whole answer: (status, body).
    async fn post(&self, body: &str) -> std::io::Result<(u16, String)> {
        let mut stream = TcpStream::connect(self.addr).await?;
        let head = format!(
            "POST /rpc HTTP/1.1\r\nHost: {}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            self.addr,
            body.len()
        );
        stream.write_all(head.as_bytes()).await?;
        stream.write_all(body.as_bytes()).await?;
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await?;
        let text = String::from_utf8_lossy(&raw);
        let bad = || std::io::Error::other(format!("not an HTTP answer: {}", shorten(&text)));
        let (head, body) = text.split_once("\r\n\r\n").ok_or_else(bad)?;
        let status = head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(bad)?;
        Ok((status, body.to_owned()))
    }
}
