#[capnweb::rpc_interface]
trait Api {
    async fn add(&self, a: f64, b: f64) -> f64;
    async fn name(&self) -> String;
}

async fn use_it(api: ApiClient) {
    // A promise of a `String` where an `f64` is expected.
    let _ = api.add(api.name(), 1.0).await;
}

fn main() {}
