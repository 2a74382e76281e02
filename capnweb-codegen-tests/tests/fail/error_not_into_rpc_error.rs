/// An error type with no conversion into `RpcError`.
#[derive(Debug)]
pub struct MyError;

#[capnweb::rpc_interface]
trait Api {
    async fn load(&self) -> Result<u32, MyError>;
}

fn main() {}
