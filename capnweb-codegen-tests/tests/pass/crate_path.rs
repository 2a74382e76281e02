//! The runtime found through an explicit `crate = "..."` path (here through a re-export, as a
//! framework that wraps capnweb would do). Every other case finds it on its own, under the
//! renamed dependency `capnweb` of this test crate.

mod framework {
    pub use ::capnweb as rpc;
}

#[capnweb::rpc_interface(crate = "crate::framework::rpc")]
pub trait Greeter {
    async fn greet(&self, name: String) -> String;
}

struct Polite;

#[capnweb::rpc_target(crate = "crate::framework::rpc")]
impl Greeter for Polite {
    async fn greet(&self, name: String) -> String {
        format!("Hello, {name}!")
    }
}

struct Adhoc;

#[capnweb::rpc_target(crate = "crate::framework::rpc")]
impl Adhoc {
    async fn ping(&self) -> String {
        "pong".into()
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let greeter = GreeterClient::new(Polite);
    assert_eq!(greeter.greet("Ada").await.unwrap(), "Hello, Ada!");
    let adhoc = framework::rpc::Stub::from(Adhoc);
    assert_eq!(
        adhoc.call("ping", ()).typed::<String>().await.unwrap(),
        "pong"
    );
}
