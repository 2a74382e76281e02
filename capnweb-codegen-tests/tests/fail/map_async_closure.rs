// A mapper runs once, now, to record calls: it cannot be async.
#[capnweb::rpc_interface]
trait Api {
    async fn ids(&self) -> Vec<u32>;
    async fn name_of(&self, id: u32) -> String;
}

fn use_it(api: ApiClient) {
    let _ = api.ids().map(|id| async move { api.name_of(id).await });
}

fn main() {}
