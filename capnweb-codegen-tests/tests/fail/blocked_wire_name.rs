#[capnweb::rpc_interface]
trait Api {
    async fn to_string(&self) -> String;
}

fn main() {}
