#[capnweb::rpc_interface]
trait Api {
    async fn ping(&self) -> String;
}

struct Server;

#[capnweb::rpc_target]
impl Api for Server {
    #[rpc(name = "pong")]
    async fn ping(&self) -> String {
        "pong".into()
    }
}

fn main() {}
