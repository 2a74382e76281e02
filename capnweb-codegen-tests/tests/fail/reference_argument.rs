#[capnweb::rpc_interface]
trait Api {
    async fn greet(&self, name: &str) -> String;
}

fn main() {}
