#[capnweb::rpc_interface(rename = "camelCase")]
trait Api {
    async fn ping(&self) -> String;
}

fn main() {}
