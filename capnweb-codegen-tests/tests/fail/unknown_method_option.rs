#[capnweb::rpc_interface]
trait Api {
    #[rpc(nmae = "ping")]
    async fn ping(&self) -> String;
}

fn main() {}
