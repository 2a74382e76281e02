#[capnweb::rpc_target]
struct Server;

fn main() {}
