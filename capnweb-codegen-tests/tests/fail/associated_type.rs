#[capnweb::rpc_interface]
trait Api {
    type Item;
    async fn ping(&self) -> String;
}

fn main() {}
