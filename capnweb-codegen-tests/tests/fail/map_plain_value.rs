// A plain value computed in the mapper would be the same for every element.
#[capnweb::rpc_interface]
trait Api {
    async fn ids(&self) -> Vec<u32>;
}

fn use_it(api: ApiClient) {
    let _ = api.ids().map(|_id| 42u32);
}

fn main() {}
