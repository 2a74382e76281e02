#[capnweb::rpc_interface(rename_all = "camel")]
trait Api {
    async fn ping(&self) -> String;
}

fn main() {}
