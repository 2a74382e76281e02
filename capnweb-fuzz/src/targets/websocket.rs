//! Our `Server` on 127.0.0.1, a raw tokio-tungstenite client sending the frames.

use capnweb_runtime::Server;
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::{Outcome, Wire, converse};
use crate::api;
use crate::oracles::{HANG_LIMIT, Oracle, Violation};
use crate::rng::Rng;

/// A running server for the WebSocket execs.
pub struct WebSocketTarget {
    url: String,
    // Kept for as long as the target lives: dropping it shuts the server down.
    _server: Server,
}

impl WebSocketTarget {
    /// Starts the server on a free port of 127.0.0.1.
    pub async fn start() -> std::io::Result<WebSocketTarget> {
        let server = Server::builder(|_| api::main_object())
            .bind("127.0.0.1:0")
            .await?;
        Ok(WebSocketTarget {
            url: format!("ws://{}/", server.local_addr()),
            _server: server,
        })
    }

    /// Runs one input over a fresh WebSocket connection. One exec in 64 sends its
    /// first frame as a binary message instead of text.
    pub async fn exec(&self, input: &[String], rng: &mut Rng) -> Outcome {
        let connect = tokio_tungstenite::connect_async(self.url.as_str());
        let ws = match tokio::time::timeout(HANG_LIMIT, connect).await {
            Ok(Ok((ws, _))) => ws,
            Ok(Err(e)) => return failed(format!("could not connect: {e}")),
            Err(_) => return failed(format!("could not connect within {HANG_LIMIT:?}")),
        };
        let mut wire = WsWire {
            ws,
            binary_first: rng.one_in(64),
        };
        converse(&mut wire, input, rng).await
    }
}

fn failed(detail: String) -> Outcome {
    Outcome {
        violations: vec![Violation::new(Oracle::Hang, detail)],
        features: Vec::new(),
    }
}

struct WsWire {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    binary_first: bool,
}

impl Wire for WsWire {
    async fn send(&mut self, frames: Vec<String>) -> bool {
        for frame in frames {
            let message = if std::mem::take(&mut self.binary_first) {
                Message::binary(frame.into_bytes())
            } else {
                Message::text(frame)
            };
            if self.ws.feed(message).await.is_err() {
                return false;
            }
        }
        self.ws.flush().await.is_ok()
    }

    async fn recv(&mut self) -> Option<String> {
        loop {
            match self.ws.next().await? {
                Ok(Message::Text(text)) => return Some(text.as_str().to_owned()),
                Ok(Message::Binary(_)) => {
                    return Some("(a binary frame from the server)".to_owned());
                }
                Ok(Message::Close(_)) | Err(_) => return None,
                Ok(_) => {}
            }
        }
    }

    async fn close(&mut self) {
        let _ = self.ws.close(None).await;
    }
}
