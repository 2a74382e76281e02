#[capnweb::rpc_interface]
trait Api {
    async fn echo<T>(&self, value: T) -> T;
}

fn main() {}
