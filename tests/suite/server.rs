//! A Rust WebSocket server for the test API, on 127.0.0.1, that keeps its sessions so tests can
//! check their tables.

use std::sync::{Arc, Mutex};

use capnweb_runtime::transport::websocket;
use capnweb_runtime::{Session, SessionOptions, SessionStats, Stub};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::api::TestApi;

/// A running server; stops accepting when dropped.
pub struct RustServer {
    /// The port it listens on.
    pub port: u16,
    sessions: Arc<Mutex<Vec<Session>>>,
    accept_task: JoinHandle<()>,
}

impl RustServer {
    /// Starts the server with default options.
    pub async fn start() -> RustServer {
        RustServer::start_with(SessionOptions::default()).await
    }

    /// Starts the server with `options` for every session.
    pub async fn start_with(options: SessionOptions) -> RustServer {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1");
        let port = listener.local_addr().expect("local addr").port();
        let sessions: Arc<Mutex<Vec<Session>>> = Arc::default();
        let registry = sessions.clone();
        let accept_task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let registry = registry.clone();
                let options = options.clone();
                tokio::spawn(async move {
                    let (api, slot) = TestApi::new();
                    // The slot is filled before the first message is read: a `stats()` in
                    // the client's first batch must find it.
                    let main = Some(Stub::new(api));
                    let fill_slot = |session: &Session| {
                        let _ = slot.set(session.clone());
                    };
                    if let Ok(session) =
                        websocket::accept_with_setup(stream, main, options, fill_slot).await
                    {
                        registry.lock().unwrap().push(session);
                    }
                });
            }
        });
        RustServer {
            port,
            sessions,
            accept_task,
        }
    }

    /// `ws://127.0.0.1:<port>/`
    pub fn url(&self) -> String {
        format!("ws://127.0.0.1:{}/", self.port)
    }

    /// Every session accepted so far.
    pub fn sessions(&self) -> Vec<Session> {
        self.sessions.lock().unwrap().clone()
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
}

impl RustServer {
    /// Stops accepting and closes every session, and waits until the accept loop has ended.
    pub async fn stop(mut self) {
        self.accept_task.abort();
        let _ = (&mut self.accept_task).await;
    }
}

impl Drop for RustServer {
    fn drop(&mut self) {
        self.accept_task.abort();
        for s in self.sessions() {
            s.close();
        }
    }
}

/// The table sizes of a session with nothing outstanding: only the main objects.
pub const BASELINE: SessionStats = SessionStats {
    imports: 1,
    exports: 1,
};
