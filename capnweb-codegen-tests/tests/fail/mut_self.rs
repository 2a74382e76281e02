#[capnweb::rpc_interface]
trait Api {
    async fn bump(&mut self) -> u32;
}

fn main() {}
