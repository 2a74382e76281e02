//! Capabilities both ways over a real session (the in-memory transport): a client passes a
//! callback object to the server, the server calls it back, and hands capabilities back.

use std::sync::Mutex;

use capnweb::transport::memory;
use capnweb::{RpcError, Session, SessionStats, rpc_interface, rpc_target};

/// Told about progress.
#[rpc_interface]
pub trait Progress {
    async fn update(&self, percent: u32) -> bool;
}

/// Does work, reporting to a `Progress` it is given.
#[rpc_interface]
pub trait Worker {
    async fn run(&self, steps: u32, progress: ProgressClient) -> Result<u32, RpcError>;
    /// Hands the callback back (the caller gets its own object).
    async fn echo(&self, progress: ProgressClient) -> ProgressClient;
    /// A worker for a sub-task.
    async fn child(&self) -> WorkerClient;
}

struct Job;

#[rpc_target]
impl Worker for Job {
    async fn run(&self, steps: u32, progress: ProgressClient) -> Result<u32, RpcError> {
        for step in 1..=steps {
            progress.update(step * 100 / steps).await?;
        }
        Ok(steps)
    }

    async fn echo(&self, progress: ProgressClient) -> ProgressClient {
        progress
    }

    async fn child(&self) -> WorkerClient {
        Job.into()
    }
}

#[derive(Default)]
struct Log {
    seen: Mutex<Vec<u32>>,
}

#[rpc_target]
impl Progress for Log {
    async fn update(&self, percent: u32) -> bool {
        self.seen.lock().unwrap().push(percent);
        true
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), RpcError> {
    let (a, b) = memory::pair();
    let server = Session::new(b, Some(WorkerClient::new(Job).into()));
    let client = Session::new(a, None);
    let worker = WorkerClient::from(client.main());

    let log = std::sync::Arc::new(Log::default());
    let progress = ProgressClient::new(ArcLog(log.clone()));
    assert_eq!(worker.run(4, &progress).await?, 4);
    assert_eq!(*log.seen.lock().unwrap(), [25, 50, 75, 100]);
    // Through a pipelined capability, and our own object handed back.
    assert_eq!(worker.child().child().run(1, progress.clone()).await?, 1);
    assert!(worker.echo(&progress).update(7).await?);
    assert_eq!(log.seen.lock().unwrap().last(), Some(&7));

    // Leak check: once every handle is dropped, both tables hold only the main objects.
    drop((worker, progress));
    let idle = SessionStats {
        imports: 1,
        exports: 1,
    };
    for _ in 0..300 {
        if client.stats() == idle && server.stats() == idle {
            return Ok(());
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("leak: {:?} / {:?}", client.stats(), server.stats());
}

/// Shares the log with the test.
struct ArcLog(std::sync::Arc<Log>);

#[rpc_target]
impl Progress for ArcLog {
    async fn update(&self, percent: u32) -> bool {
        self.0.update(percent).await
    }
}
