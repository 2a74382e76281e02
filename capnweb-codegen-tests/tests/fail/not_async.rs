#[capnweb::rpc_interface]
trait Api {
    fn get(&self, id: u32) -> String;
}

fn main() {}
