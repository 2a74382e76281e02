#[capnweb::rpc_interface]
trait Callback {
    #[rpc(invoke)]
    async fn call(&self, x: u32) -> u32;
    #[rpc(invoke)]
    async fn call_again(&self, x: u32) -> u32;
}

fn main() {}
