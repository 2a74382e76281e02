use std::rc::Rc;

#[capnweb::rpc_interface]
trait Api {
    async fn ping(&self) -> String;
}

struct Server;

async fn tick() {}

#[capnweb::rpc_target]
impl Api for Server {
    async fn ping(&self) -> String {
        let local = Rc::new(1);
        tick().await;
        format!("pong {local}")
    }
}

fn main() {}
