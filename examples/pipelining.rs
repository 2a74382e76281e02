//! Promise pipelining: `users.get(id).profile().name()` is three calls in one round trip, and
//! one unresolved promise can be used twice (a forked pipeline). Run with
//! `cargo run --example pipelining`.
//!
//! Every call returns at once with a promise; calls on a promise go out right behind the call
//! that makes it, and the server feeds each result to the next call itself. The client waits
//! once, for the end of the chain.

use capnweb_runtime::transport::websocket;
use capnweb_runtime::{RpcError, Server, rpc_interface, rpc_target};

#[rpc_interface]
trait Users {
    /// A user by id: a capability, so the client can call it before it arrives.
    async fn get(&self, id: u32) -> Result<UserClient, RpcError>;
}

#[rpc_interface]
trait User {
    async fn profile(&self) -> ProfileClient;
}

#[rpc_interface]
trait Profile {
    #[rpc(property)]
    async fn name(&self) -> String;
    #[rpc(property)]
    async fn email(&self) -> String;
}

struct Directory;
struct Person(u32);
struct Card(u32);

const NAMES: [&str; 3] = ["Ada", "Grace", "Edsger"];

#[rpc_target]
impl Users for Directory {
    async fn get(&self, id: u32) -> Result<UserClient, RpcError> {
        println!("[server] users.get({id})");
        match id {
            1..=3 => Ok(Person(id).into()),
            _ => Err(RpcError::new("NotFoundError", format!("no user {id}"))),
        }
    }
}

#[rpc_target]
impl User for Person {
    async fn profile(&self) -> ProfileClient {
        println!("[server] user {}: profile()", self.0);
        Card(self.0).into()
    }
}

#[rpc_target]
impl Profile for Card {
    async fn name(&self) -> String {
        println!("[server] profile {}: name", self.0);
        NAMES[self.0 as usize - 1].to_owned()
    }

    async fn email(&self) -> String {
        println!("[server] profile {}: email", self.0);
        format!("{}@example.com", NAMES[self.0 as usize - 1].to_lowercase())
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = Server::builder(|_context| UsersClient::new(Directory).into())
        .bind("127.0.0.1:0")
        .await?;
    let session = websocket::connect(&format!("ws://{}/", server.local_addr())).await?;
    let users = UsersClient::from(session.main());

    // A chain: `get` and `profile` return capabilities at once (promises of them), `name` is
    // read from the profile the server has not made yet. One round trip.
    let name = users.get(1).profile().name().await?;
    println!("[client] users.get(1).profile().name() = {name:?}");

    // A fork: one unresolved profile, two reads on it. `users.get(2)` and `.profile()` run
    // once on the server; both reads wait for that one profile. Still one round trip.
    let profile = users.get(2).profile();
    let (name, email) = tokio::join!(profile.name(), profile.email());
    println!("[client] forked: name = {:?}, email = {:?}", name?, email?);

    // A failure anywhere in the chain rejects everything pipelined on it, with the original
    // error.
    let missing = users.get(99).profile().name().await.unwrap_err();
    println!("[client] users.get(99).profile().name() failed: {missing}");

    drop((users, profile));
    let stats = session.stats();
    println!(
        "[client] session tables: {} imports, {} exports (only the main objects)",
        stats.imports, stats.exports
    );
    server.shutdown().await;
    Ok(())
}
