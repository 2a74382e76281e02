// `.map()` is for lists and options; a single value uses `.map_value()`.
#[capnweb::rpc_interface]
trait Api {
    async fn count(&self) -> u32;
}

fn use_it(api: ApiClient) {
    let _ = api.count().map(|n| n);
}

fn main() {}
