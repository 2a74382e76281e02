/// Not a serde type.
pub struct Opaque;

#[capnweb::rpc_interface]
trait Api {
    async fn take(&self, id: u32, value: Opaque) -> u32;
}

fn main() {}
