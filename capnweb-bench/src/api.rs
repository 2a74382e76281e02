//! The benchmark API, typed with `#[rpc_interface]` (what users of the runtime write), and our
//! server's implementation of it. `tests/node/bench/server.mjs` serves the same API with npm
//! capnweb: same wire names, same results.

use capnweb_runtime::value::Bytes;
use capnweb_runtime::{RpcError, RpcStream, rpc_interface, rpc_target};
use futures_util::StreamExt;

/// The main object of every benchmark session.
#[rpc_interface]
pub trait BenchApi {
    /// `a + b` (scenarios a, b, e, f).
    async fn add(&self, a: i64, b: i64) -> i64;
    /// Starts a chain whose total is `n` (scenario c).
    async fn next(&self, n: i64) -> ChainClient;
    /// Returns its argument (scenario d).
    async fn echo(&self, value: serde_json::Value) -> serde_json::Value;
    /// `[1, 2, ..., n]` (scenario h).
    async fn ids(&self, n: u32) -> Vec<u32>;
    /// The user directory, captured by the mapper of scenario h.
    async fn users(&self) -> UsersClient;
    /// Reads `stream` (byte chunks) to its end; the number of bytes read (scenario i).
    async fn consume(&self, stream: RpcStream<Bytes>) -> Result<u64, RpcError>;
}

/// One link of a chain (scenario c): `next` returns a new link carrying the running total.
#[rpc_interface]
pub trait Chain {
    /// A new link whose total is this one's plus `n`.
    async fn next(&self, n: i64) -> ChainClient;
    /// The running total.
    async fn total(&self) -> i64;
}

/// The user directory of scenario h.
#[rpc_interface]
pub trait Users {
    /// The name of user `id`: `"user-<id>"`.
    async fn get(&self, id: u32) -> String;
}

/// Our server's main object.
pub struct Api;

#[rpc_target]
impl BenchApi for Api {
    async fn add(&self, a: i64, b: i64) -> i64 {
        a + b
    }

    async fn next(&self, n: i64) -> ChainClient {
        Link { total: n }.into()
    }

    async fn echo(&self, value: serde_json::Value) -> serde_json::Value {
        value
    }

    async fn ids(&self, n: u32) -> Vec<u32> {
        (1..=n).collect()
    }

    async fn users(&self) -> UsersClient {
        Directory.into()
    }

    async fn consume(&self, mut stream: RpcStream<Bytes>) -> Result<u64, RpcError> {
        let mut total = 0;
        while let Some(chunk) = stream.next().await {
            total += chunk?.data.len() as u64;
        }
        Ok(total)
    }
}

/// A chain link.
struct Link {
    total: i64,
}

#[rpc_target]
impl Chain for Link {
    async fn next(&self, n: i64) -> ChainClient {
        Link {
            total: self.total + n,
        }
        .into()
    }

    async fn total(&self) -> i64 {
        self.total
    }
}

/// The user directory.
struct Directory;

#[rpc_target]
impl Users for Directory {
    async fn get(&self, id: u32) -> String {
        format!("user-{id}")
    }
}
