#[capnweb::rpc_interface]
trait Api {
    async fn get_user(&self, id: u32) -> String;
    #[rpc(name = "getUser")]
    async fn fetch_user(&self, id: u32) -> String;
}

fn main() {}
