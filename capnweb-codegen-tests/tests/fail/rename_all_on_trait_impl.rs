#[capnweb::rpc_interface]
trait Api {
    async fn ping(&self) -> String;
}

struct Server;

#[capnweb::rpc_target(rename_all = "snake_case")]
impl Api for Server {
    async fn ping(&self) -> String {
        "pong".into()
    }
}

fn main() {}
