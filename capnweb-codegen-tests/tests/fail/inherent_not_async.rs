struct Calculator;

#[capnweb::rpc_target]
impl Calculator {
    async fn add(&self, a: f64, b: f64) -> f64 {
        a + b
    }

    fn double(&self, x: f64) -> f64 {
        x * 2.0
    }
}

fn main() {}
