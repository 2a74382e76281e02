//! `#[rpc_interface(introspect)]`: the reserved member `$meta` describes the interface
//! (members, kinds, parameter names and types, results, doc comments) to any client, ours
//! or a TypeScript one; without the option it does not exist.

use capnweb_runtime::{RpcError, Server, Stub, Value, rpc_interface, rpc_target};

/// The shop's catalogue.
#[rpc_interface(introspect)]
trait Catalogue {
    /// The price of `item` in cents.
    async fn price(&self, item: String, quantity: Option<u32>) -> Result<u64, RpcError>;
    /// How many items there are.
    #[rpc(property)]
    async fn size(&self) -> u32;
}

#[rpc_interface]
trait Private {
    async fn secret(&self) -> String;
}

struct Shop;

#[rpc_target]
impl Catalogue for Shop {
    async fn price(&self, _item: String, quantity: Option<u32>) -> Result<u64, RpcError> {
        Ok(250 * u64::from(quantity.unwrap_or(1)))
    }

    async fn size(&self) -> u32 {
        3
    }
}

#[rpc_target]
impl Private for Shop {
    async fn secret(&self) -> String {
        "hidden".into()
    }
}

fn expected() -> serde_json::Value {
    serde_json::json!({
        "interface": "Catalogue",
        "doc": "The shop's catalogue.",
        "members": [
            {
                "name": "price",
                "kind": "method",
                "params": [
                    {"name": "item", "type": "String"},
                    {"name": "quantity", "type": "Option<u32>"}
                ],
                "result": "Result<u64, RpcError>",
                "doc": "The price of `item` in cents."
            },
            {
                "name": "size",
                "kind": "property",
                "params": [],
                "result": "u32",
                "doc": "How many items there are."
            }
        ]
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_and_typescript_clients_read_the_description() {
    let before = crate::support::alive_tasks();
    let server = Server::builder(|_| CatalogueClient::new(Shop).into())
        .bind("127.0.0.1:0")
        .await
        .unwrap();
    let url = format!("ws://{}/", server.local_addr());

    let session = capnweb_runtime::transport::websocket::connect(&url)
        .await
        .unwrap();
    let described = session.main().call("$meta", ()).await.unwrap();
    let text = capnweb_runtime::serialize(&described).unwrap();
    let ours: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(unescape_arrays(ours), expected());
    // The interface still works as before.
    let price = session.main().call("price", ("apple", 2)).await.unwrap();
    assert_eq!(price, Value::from(500));
    crate::support::assert_no_leaks(&[&session]).await;
    session.close();

    let printed =
        tokio::task::spawn_blocking(move || crate::node::run_script("describe.mjs", &[&url]))
            .await
            .unwrap();
    let typescript: serde_json::Value = serde_json::from_str(printed.trim()).unwrap();
    assert_eq!(typescript, expected(), "what a TypeScript client reads");
    server.shutdown().await;
    drop(session);
    crate::support::assert_tasks_at_most(before).await;
}

#[tokio::test]
async fn without_the_option_there_is_no_description() {
    let private = Stub::from(PrivateClient::new(Shop));
    let error = private.call("$meta", ()).await.unwrap_err();
    assert_eq!(error.name(), "TypeError", "{error:?}");
}

/// capnweb's serialization escapes arrays as `[[...]]`; the plain JSON form for comparing.
fn unescape_arrays(value: serde_json::Value) -> serde_json::Value {
    use serde_json::Value as J;
    match value {
        J::Array(items) if items.len() == 1 && items[0].is_array() => {
            let J::Array(inner) = items.into_iter().next().unwrap() else {
                unreachable!()
            };
            J::Array(inner.into_iter().map(unescape_arrays).collect())
        }
        J::Object(map) => J::Object(
            map.into_iter()
                .map(|(k, v)| (k, unescape_arrays(v)))
                .collect(),
        ),
        other => other,
    }
}
