/// Deserialize only: results must also serialize.
#[derive(serde::Deserialize)]
pub struct Report {
    pub lines: Vec<String>,
}

#[capnweb::rpc_interface]
trait Api {
    async fn report(&self) -> Report;
}

fn main() {}
