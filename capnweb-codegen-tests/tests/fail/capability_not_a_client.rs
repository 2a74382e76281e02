#[capnweb::rpc_interface]
trait Api {
    #[rpc(capability)]
    async fn other(&self) -> String;
}

fn main() {}
