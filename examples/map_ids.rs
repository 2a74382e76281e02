//! `.map()` over a list of ids with a captured capability: the server looks up every user and
//! reads every name in one round trip, instead of one round trip per id. Run with
//! `cargo run --example map_ids`.
//!
//! The closure runs once, on the client, right away, with a placeholder for the element: the
//! calls it makes are recorded into a small program (capnweb's `remap`), and the server runs
//! that program for each element. `users` comes from outside the closure, so it travels with
//! the program as a capture.

use capnweb_runtime::transport::websocket;
use capnweb_runtime::{RpcError, Server, rpc_interface, rpc_target};

#[rpc_interface]
trait Api {
    async fn list_ids(&self) -> Vec<u32>;
    async fn users(&self) -> UsersClient;
}

#[rpc_interface]
trait Users {
    async fn get(&self, id: u32) -> Result<UserClient, RpcError>;
}

#[rpc_interface]
trait User {
    #[rpc(property)]
    async fn name(&self) -> String;
    async fn score(&self) -> u32;
}

struct Root;
struct Directory;
struct Person(u32);

#[rpc_target]
impl Api for Root {
    async fn list_ids(&self) -> Vec<u32> {
        println!("[server] listIds()");
        vec![3, 1, 2]
    }

    async fn users(&self) -> UsersClient {
        Directory.into()
    }
}

#[rpc_target]
impl Users for Directory {
    async fn get(&self, id: u32) -> Result<UserClient, RpcError> {
        println!("[server] users.get({id})");
        Ok(Person(id).into())
    }
}

#[rpc_target]
impl User for Person {
    async fn name(&self) -> String {
        format!("user {}", self.0)
    }

    async fn score(&self) -> u32 {
        self.0 * 10
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = Server::builder(|_context| ApiClient::new(Root).into())
        .bind("127.0.0.1:0")
        .await?;
    let session = websocket::connect(&format!("ws://{}/", server.local_addr())).await?;
    let api = ApiClient::from(session.main());

    // A capability the closure captures. It is itself a promise (not awaited): the server
    // resolves it before running the program.
    let users = api.users();

    // Each element becomes `users.get(id).name`; the list of names comes back in one answer.
    let names = api.list_ids().map(|id| users.get(id).name()).await?;
    println!("[client] names: {names:?}");

    // Tuples of promises work too; the element itself can be returned alongside.
    let rows = api
        .list_ids()
        .map(|id| {
            let user = users.get(&id);
            (id, user.name(), user.score())
        })
        .await?;
    for (id, name, score) in rows {
        println!("[client] {id}: {name} scored {score}");
    }

    drop((api, users));
    let stats = session.stats();
    println!(
        "[client] session tables: {} imports, {} exports (only the main objects)",
        stats.imports, stats.exports
    );
    server.shutdown().await;
    Ok(())
}
