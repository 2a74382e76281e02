// The placeholder has the element's type: a `u32` id cannot be passed as a `String`.
#[capnweb::rpc_interface]
trait Api {
    async fn ids(&self) -> Vec<u32>;
    async fn find(&self, name: String) -> Option<u32>;
}

fn use_it(api: ApiClient) {
    let _ = api.ids().map(|id| api.find(id));
}

fn main() {}
