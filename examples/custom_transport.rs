//! A transport of your own: Cap'n Web messages as lines of JSON over a plain TCP stream, with
//! every frame printed as it passes. Run with `cargo run --example custom_transport`.
//!
//! A transport is three small traits from `capnweb_runtime::transport`: `Transport` splits
//! into a `MessageSender` (send a batch of messages, close) and a `MessageReceiver` (the next
//! message, `None` at a clean end). `Session::builder().start(transport)` runs the protocol
//! over it, on either side. The same shape fits a Unix socket, a QUIC stream, a message queue
//! or a browser's `postMessage` bridge.

use capnweb_runtime::transport::{CloseInfo, MessageReceiver, MessageSender, Transport};
use capnweb_runtime::{RpcError, Session, rpc_interface, rpc_target};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};

/// Newline-delimited messages over TCP. A message never contains a raw newline: it is JSON,
/// which escapes newlines inside strings.
struct Lines {
    stream: TcpStream,
    /// Printed before each frame, or `None` to stay quiet.
    label: Option<&'static str>,
}

struct LineSender {
    writer: OwnedWriteHalf,
    label: Option<&'static str>,
}

struct LineReceiver {
    reader: OwnedReadHalf,
    /// Bytes read but not yet returned as a message (the start of the next line).
    buffer: Vec<u8>,
    label: Option<&'static str>,
}

impl Transport for Lines {
    type Sender = LineSender;
    type Receiver = LineReceiver;

    fn split(self) -> (LineSender, LineReceiver) {
        let (reader, writer) = self.stream.into_split();
        let label = self.label;
        (
            LineSender { writer, label },
            LineReceiver {
                reader,
                buffer: Vec::new(),
                label,
            },
        )
    }
}

impl MessageSender for LineSender {
    async fn send(&mut self, messages: Vec<String>) -> Result<(), RpcError> {
        let mut bytes = Vec::new();
        for message in &messages {
            if let Some(label) = self.label {
                println!("[{label}] >> {message}");
            }
            bytes.extend_from_slice(message.as_bytes());
            bytes.push(b'\n');
        }
        // One write for the whole batch.
        self.writer
            .write_all(&bytes)
            .await
            .map_err(|e| RpcError::disconnected_by("writing to the TCP stream failed", e))
    }

    async fn close(&mut self, _info: CloseInfo) {
        // Plain TCP has no close code: end our direction, the peer reads end-of-stream.
        let _ = self.writer.shutdown().await;
    }
}

impl MessageReceiver for LineReceiver {
    /// Cancel-safe, as the trait requires: a `read` that is cancelled has read nothing, and
    /// whatever was read stays in `buffer` for the next call.
    async fn recv(&mut self) -> Option<Result<String, RpcError>> {
        loop {
            if let Some(end) = self.buffer.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.buffer.drain(..=end).take(end).collect();
                let message = String::from_utf8(line)
                    .map_err(|_| RpcError::protocol("a message that is not UTF-8"));
                if let (Some(label), Ok(message)) = (self.label, &message) {
                    println!("[{label}] << {message}");
                }
                return Some(message);
            }
            let mut chunk = [0; 8192];
            match self.reader.read(&mut chunk).await {
                Ok(0) if self.buffer.is_empty() => return None,
                Ok(0) => {
                    return Some(Err(RpcError::disconnected(
                        "the TCP stream ended inside a message",
                    )));
                }
                Ok(n) => self.buffer.extend_from_slice(&chunk[..n]),
                Err(e) => {
                    return Some(Err(RpcError::disconnected_by(
                        "reading the TCP stream failed",
                        e,
                    )));
                }
            }
        }
    }
}

#[rpc_interface]
trait Greeter {
    async fn greet(&self, name: String) -> String;
    async fn twice(&self) -> GreeterClient;
}

struct Plain;
struct Twice;

#[rpc_target]
impl Greeter for Plain {
    async fn greet(&self, name: String) -> String {
        format!("Hello, {name}!")
    }

    async fn twice(&self) -> GreeterClient {
        Twice.into()
    }
}

#[rpc_target]
impl Greeter for Twice {
    async fn greet(&self, name: String) -> String {
        format!("Hello, {name}! Hello, {name}!")
    }

    async fn twice(&self) -> GreeterClient {
        Twice.into()
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The server: one session per accepted connection, each with its own main object.
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let accepting = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let transport = Lines {
                stream,
                label: None,
            };
            let session = Session::builder()
                .main(GreeterClient::new(Plain))
                .start(transport);
            // Keep the session until its client goes.
            tokio::spawn(async move { session.closed().await });
        }
    });
    println!("[server] line-delimited Cap'n Web on tcp://{addr}");

    // The client, printing every frame it sends (>>) and receives (<<).
    let transport = Lines {
        stream: TcpStream::connect(addr).await?,
        label: Some("client"),
    };
    let session = Session::builder().start(transport);
    let greeter = GreeterClient::from(session.main());

    println!("[client] greet(\"Ada\")");
    println!("[client] = {}", greeter.greet("Ada").await?);

    // Pipelined over this transport as over any other: both pushes are written before the
    // first answer comes back.
    println!("[client] twice().greet(\"Grace\")");
    println!("[client] = {}", greeter.twice().greet("Grace").await?);

    session.close();
    println!("[client] closed: {}", session.closed().await);
    accepting.abort();
    Ok(())
}
