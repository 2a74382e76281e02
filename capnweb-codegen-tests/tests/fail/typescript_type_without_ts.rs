#[derive(serde::Serialize, serde::Deserialize)]
struct Point {
    x: f64,
}

#[capnweb::rpc_interface(typescript)]
trait Plot {
    async fn add(&self, point: Point) -> u32;
}

fn main() {}
