// The placeholder cannot be awaited inside the mapper: return the promise instead.
#[capnweb::rpc_interface]
trait Api {
    async fn ids(&self) -> Vec<u32>;
}

fn use_it(api: ApiClient) {
    let _ = api.ids().map(|id| {
        let value = id.await;
        value
    });
}

fn main() {}
