use std::rc::Rc;

struct Adhoc;

async fn tick() {}

#[capnweb::rpc_target]
impl Adhoc {
    async fn ping(&self) -> String {
        let local = Rc::new(1);
        tick().await;
        format!("pong {local}")
    }
}

fn main() {}
