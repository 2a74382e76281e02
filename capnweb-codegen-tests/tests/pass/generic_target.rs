//! `#[rpc_target]` on a trait impl for a generic type, with a `where` clause, and a blanket
//! impl (which gets no `From` conversion, as that would conflict with `From<T> for T`).

use std::collections::HashMap;
use std::sync::Mutex;

use capnweb::{RpcError, rpc_interface, rpc_target};

#[rpc_interface]
pub trait Store {
    async fn put(&self, key: String, value: String) -> Option<String>;
    async fn get(&self, key: String) -> Option<String>;
    async fn len(&self) -> u32;
}

/// Storage generic over its map's hasher.
struct MapStore<S> {
    map: Mutex<HashMap<String, String, S>>,
}

#[rpc_target]
impl<S> Store for MapStore<S>
where
    S: std::hash::BuildHasher + Send + 'static,
{
    async fn put(&self, key: String, value: String) -> Option<String> {
        self.map.lock().unwrap().insert(key, value)
    }

    async fn get(&self, key: String) -> Option<String> {
        self.map.lock().unwrap().get(&key).cloned()
    }

    async fn len(&self) -> u32 {
        self.map.lock().unwrap().len() as u32
    }
}

pub trait Empty: Send + Sync + 'static {}

struct Nothing;
impl Empty for Nothing {}

#[rpc_target]
impl<T: Empty> Store for T {
    async fn put(&self, _key: String, _value: String) -> Option<String> {
        None
    }

    async fn get(&self, _key: String) -> Option<String> {
        None
    }

    async fn len(&self) -> u32 {
        0
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), RpcError> {
    let store: StoreClient = MapStore {
        map: Mutex::new(HashMap::with_hasher(std::hash::RandomState::new())),
    }
    .into();
    assert_eq!(store.put("a", "1").await?, None);
    assert_eq!(store.put("a", "2").await?, Some("1".into()));
    assert_eq!(store.get("a").await?, Some("2".into()));
    assert_eq!(store.len().await?, 1);
    let empty = StoreClient::new(Nothing);
    assert_eq!(empty.len().await?, 0);
    Ok(())
}
