//! The program shown in the README's "A taste" (everything below this comment, verbatim; the
//! suite's `readme` test keeps the two equal). Run with `cargo run --example readme`.

use capnweb_runtime::{RpcError, Server, rpc_interface, rpc_target, transport::websocket};

#[rpc_interface] // wire names are camelCase: `getUser`, `listIds`
trait Users {
    async fn get_user(&self, id: u32) -> Result<UserClient, RpcError>; // a capability result
    async fn list_ids(&self) -> Vec<u32>; // a data result
}

#[rpc_interface]
trait User {
    #[rpc(property)] // read as `user.name` from TypeScript
    async fn name(&self) -> String;
}

struct Directory;
struct Person(u32);

#[rpc_target]
impl Users for Directory {
    async fn get_user(&self, id: u32) -> Result<UserClient, RpcError> {
        match id {
            1..=3 => Ok(Person(id).into()),
            _ => Err(RpcError::new("NotFoundError", format!("no user {id}"))),
        }
    }
    async fn list_ids(&self) -> Vec<u32> {
        vec![1, 2, 3]
    }
}

#[rpc_target]
impl User for Person {
    async fn name(&self) -> String {
        format!("user {}", self.0)
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Server: WebSocket and HTTP batch on one port, a fresh main object per session.
    let server = Server::builder(|_context| UsersClient::new(Directory).into())
        .bind("127.0.0.1:0")
        .await?;

    // Client: typed calls, pipelined.
    let session = websocket::connect(&format!("ws://{}/", server.local_addr())).await?;
    let users = UsersClient::from(session.main());
    let name = users.get_user(1).name().await?; // one round trip
    let names = users.list_ids().map(|id| users.get_user(id).name()).await?; // one round trip
    println!("{name}; {names:?}");

    server.shutdown().await; // graceful: calls in flight finish, clients get a close frame
    Ok(())
}
