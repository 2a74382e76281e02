#[capnweb::rpc_interface]
trait Api {
    #[rpc(property)]
    async fn name(&self, lang: String) -> String;
}

fn main() {}
