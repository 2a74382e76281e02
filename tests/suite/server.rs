//! A Rust WebSocket server for the test API, on 127.0.0.1, that keeps its sessions so tests can
//! check their tables.

use capnweb_runtime::{Session, SessionOptions, SessionStats};

use crate::http_server::HttpServer;

/// A running server; shuts down when dropped.
pub struct RustServer {
    /// The port it listens on.
    pub port: u16,
    server: HttpServer,
}

impl RustServer {
    /// Starts the server with default options.
    pub async fn start() -> RustServer {
        RustServer::start_with(SessionOptions::default()).await
    }

    /// Starts the server with `options` for every session.
    pub async fn start_with(options: SessionOptions) -> RustServer {
        let server = HttpServer::start_with(|builder| builder.session_options(options)).await;
        RustServer {
            port: server.port,
            server,
        }
    }

    /// `ws://127.0.0.1:<port>/`
    pub fn url(&self) -> String {
        format!("ws://127.0.0.1:{}/", self.port)
    }

    /// Every session accepted so far.
    pub fn sessions(&self) -> Vec<Session> {
        self.server.served.sessions()
    }

    /// Waits (bounded) until every accepted session has ended, then returns their count.
    pub async fn wait_all_closed(&self) -> usize {
        let sessions = self.sessions();
        for s in &sessions {
            tokio::time::timeout(std::time::Duration::from_secs(5), s.closed())
                .await
                .expect("server session did not end within 5 s of its client leaving");
        }
        sessions.len()
    }

    /// Shuts the server down gracefully and waits until every task it started has ended.
    pub async fn stop(self) {
        self.server.stop().await;
    }
}

/// The table sizes of a session with nothing outstanding: only the main objects.
pub const BASELINE: SessionStats = SessionStats {
    imports: 1,
    exports: 1,
};
