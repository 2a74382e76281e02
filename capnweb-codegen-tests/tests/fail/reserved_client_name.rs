#[capnweb::rpc_interface]
trait Api {
    async fn resolve(&self, name: String) -> String;
}

fn main() {}
