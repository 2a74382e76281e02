#[capnweb::rpc_interface]
trait Api {
    async fn make(id: u32) -> u32;
}

fn main() {}
