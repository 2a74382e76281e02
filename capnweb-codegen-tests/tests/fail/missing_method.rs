#[capnweb::rpc_interface]
trait Api {
    async fn ping(&self) -> String;
    async fn add(&self, a: f64, b: f64) -> f64;
}

struct Server;

#[capnweb::rpc_target]
impl Api for Server {
    async fn ping(&self) -> String {
        "pong".into()
    }
}

fn main() {}
