#[capnweb::rpc_interface]
trait Api {
    async fn consume(self) -> u32;
}

fn main() {}
