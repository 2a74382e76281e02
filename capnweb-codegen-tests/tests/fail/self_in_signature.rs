#[capnweb::rpc_interface]
trait Api {
    async fn copy(&self) -> Box<Self>;
}

fn main() {}
