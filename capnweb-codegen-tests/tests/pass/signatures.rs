//! Many signature shapes in one interface: every kind of argument and result, doc comments,
//! `#[cfg]` methods, raw identifiers, `Result` returns, capability arguments and results,
//! default bodies, overrides. Served and called over a local target, and checked on the wire
//! names through the dynamic API.

use std::collections::BTreeMap;

use capnweb::{RpcError, RpcPromise, Stub, Value, rpc_interface, rpc_target};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Point {
    x: i32,
    y: i32,
}

/// A data type whose name happens to end in `Client`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HttpClient {
    url: String,
}

#[derive(Debug)]
pub struct AppError(String);

impl From<AppError> for RpcError {
    fn from(e: AppError) -> Self {
        RpcError::new("AppError", e.0).with_property("code", 42)
    }
}

type AppResult<T> = Result<T, RpcError>;
type Other = ShapesClient;

/// Doc comments on the trait and on methods are kept (and copied to the client).
#[rpc_interface]
pub trait Shapes {
    /// No arguments, no result.
    async fn nothing(&self);
    /// A unit result, written out.
    async fn unit(&self) -> ();
    /// Every primitive.
    #[allow(clippy::too_many_arguments)]
    async fn many(
        &self,
        a: u8,
        b: u16,
        c: u32,
        d: u64,
        e: i16,
        f: i32,
        g: i64,
        h: f32,
        i: f64,
        j: bool,
        k: String,
    ) -> String;
    /// `Option` in and out (a missing argument reads as `None`).
    async fn optional(&self, a: Option<u32>) -> Option<u32>;
    /// Collections and user types.
    async fn collections(
        &self,
        points: Vec<Point>,
        pair: (u32, String),
        map: BTreeMap<String, u32>,
    ) -> Vec<Point>;
    /// A custom error type that converts into `RpcError`.
    async fn custom_error(&self, fail: bool) -> Result<u32, AppError>;
    /// A `Result` alias with one parameter.
    async fn alias_result(&self) -> AppResult<u32>;
    /// Schema-free values.
    async fn dynamic(&self, v: Value) -> Value;
    /// An untyped capability in and out.
    async fn stub_arg(&self, s: Stub) -> Stub;
    /// Raw identifiers lose their `r#` on the wire.
    async fn r#type(&self, r#match: u32) -> u32;
    /// An explicit wire name.
    #[rpc(name = "custom_Name")]
    async fn renamed(&self) -> u32;
    /// Compiled out: its types need not even exist.
    #[cfg(any())]
    async fn compiled_out(&self, x: NotEvenAType) -> u32;
    /// Compiled in.
    #[cfg(all())]
    async fn compiled_in(&self) -> u32;
    /// A property.
    #[rpc(property)]
    async fn size(&self) -> u32;
    /// A default body.
    async fn default_body(&self, x: u32) -> u32 {
        x + 1
    }
    /// Data, although the type's name ends in `Client`.
    #[rpc(data)]
    async fn http(&self) -> HttpClient;
    /// A capability inside a `Result`.
    async fn cap_result(&self, fail: bool) -> Result<ShapesClient, AppError>;
    /// A capability, although the type's name does not say so.
    #[rpc(capability)]
    async fn cap_override(&self) -> Other;
    /// A capability argument.
    async fn cap_arg(&self, other: ShapesClient) -> u32;
}

struct Impl;

#[rpc_target]
impl Shapes for Impl {
    async fn nothing(&self) {}
    async fn unit(&self) {}
    async fn many(
        &self,
        a: u8,
        b: u16,
        c: u32,
        d: u64,
        e: i16,
        f: i32,
        g: i64,
        h: f32,
        i: f64,
        j: bool,
        k: String,
    ) -> String {
        format!("{a} {b} {c} {d} {e} {f} {g} {h} {i} {j} {k}")
    }
    async fn optional(&self, a: Option<u32>) -> Option<u32> {
        a.map(|a| a * 2)
    }
    async fn collections(
        &self,
        mut points: Vec<Point>,
        pair: (u32, String),
        map: BTreeMap<String, u32>,
    ) -> Vec<Point> {
        points.push(Point {
            x: pair.0 as i32,
            y: map.get(&pair.1).copied().unwrap_or(0) as i32,
        });
        points
    }
    async fn custom_error(&self, fail: bool) -> Result<u32, AppError> {
        if fail {
            return Err(AppError("it failed".into()));
        }
        Ok(1)
    }
    async fn alias_result(&self) -> AppResult<u32> {
        Ok(2)
    }
    async fn dynamic(&self, v: Value) -> Value {
        v
    }
    async fn stub_arg(&self, s: Stub) -> Stub {
        s
    }
    async fn r#type(&self, r#match: u32) -> u32 {
        r#match
    }
    async fn renamed(&self) -> u32 {
        3
    }
    async fn compiled_in(&self) -> u32 {
        4
    }
    async fn size(&self) -> u32 {
        5
    }
    async fn http(&self) -> HttpClient {
        HttpClient {
            url: "https://example.com".into(),
        }
    }
    async fn cap_result(&self, fail: bool) -> Result<ShapesClient, AppError> {
        if fail {
            return Err(AppError("no capability".into()));
        }
        Ok(Impl.into())
    }
    async fn cap_override(&self) -> Other {
        Impl.into()
    }
    async fn cap_arg(&self, other: ShapesClient) -> u32 {
        other.size().await.unwrap_or(0) + 1
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), RpcError> {
    let s = ShapesClient::new(Impl);
    s.nothing().await?;
    s.unit().await?;
    // Integer and float literals fit every numeric parameter.
    let many = s.many(1, 2, 3, 4, -5, -6, -7, 8.5, 9.5, true, "k").await?;
    assert_eq!(many, "1 2 3 4 -5 -6 -7 8.5 9.5 true k");
    assert_eq!(s.optional(Some(21)).await?, Some(42));
    assert_eq!(s.optional(None).await?, None);
    let points = s
        .collections(
            vec![Point { x: 1, y: 2 }],
            (3, "four".to_owned()),
            BTreeMap::from([("four".to_owned(), 4)]),
        )
        .await?;
    assert_eq!(points, [Point { x: 1, y: 2 }, Point { x: 3, y: 4 }]);
    let err = s.custom_error(true).await.unwrap_err();
    let js = err.as_js_error().unwrap();
    assert_eq!(
        (js.name.as_str(), js.message.as_str()),
        ("AppError", "it failed")
    );
    assert_eq!(js.props.get("code"), Some(&Value::Number(42.0)));
    assert_eq!(s.custom_error(false).await?, 1);
    assert_eq!(s.alias_result().await?, 2);
    assert_eq!(s.dynamic(Value::from("v")).await?, Value::from("v"));
    let echoed = s.stub_arg(s.stub().clone());
    assert_eq!(ShapesClient::from(echoed).size().await?, 5);
    assert_eq!(s.r#type(6).await?, 6);
    assert_eq!(s.renamed().await?, 3);
    assert_eq!(s.compiled_in().await?, 4);
    assert_eq!(s.size().await?, 5);
    assert_eq!(s.default_body(6).await?, 7);
    assert_eq!(s.http().await?.url, "https://example.com");
    assert_eq!(s.cap_result(false).size().await?, 5);
    assert_eq!(
        s.cap_result(true).resolve().await.unwrap_err().name(),
        "AppError"
    );
    assert_eq!(s.cap_override().cap_override().size().await?, 5);
    assert_eq!(s.cap_arg(s.clone()).await?, 6);
    assert_eq!(s.cap_arg(s.cap_override()).await?, 6);
    // A promise is accepted where its value type is expected, by value or by reference.
    let n: RpcPromise<u32> = s.size();
    assert_eq!(s.r#type(&n).await?, 5);
    assert_eq!(s.optional(s.optional(Some(1))).await?, Some(4));

    // The wire names, as a JavaScript peer sees them.
    let stub = s.stub();
    assert_eq!(stub.call("type", (7,)).typed::<u32>().await?, 7);
    assert_eq!(stub.call("custom_Name", ()).typed::<u32>().await?, 3);
    assert_eq!(stub.call("compiledIn", ()).typed::<u32>().await?, 4);
    assert_eq!(stub.call("defaultBody", (1,)).typed::<u32>().await?, 2);
    assert_eq!(stub.get("size").typed::<u32>().await?, 5);
    assert_eq!(stub.get("unknown").await?, Value::Undefined);
    assert_eq!(stub.call("nothing", ()).await?, Value::Undefined);
    // JavaScript-style errors for calls that do not fit.
    let err = stub.call("compiledOut", ()).await.unwrap_err();
    assert_eq!(err.message(), "'compiledOut' is not a function.");
    let err = stub.call("size", ()).await.unwrap_err();
    assert_eq!(err.message(), "'size' is not a function.");
    let err = stub.call("optional", (1, 2)).await.unwrap_err();
    assert_eq!(
        (err.name(), err.message()),
        (
            "TypeError",
            "optional() takes 1 argument, but 2 were given".to_owned()
        )
    );
    let err = stub.call("type", ("seven",)).await.unwrap_err();
    assert_eq!(err.name(), "TypeError");
    assert!(
        err.message().starts_with("type(): argument 1 (`match`): "),
        "{err}"
    );
    let err = stub.call("type", ()).await.unwrap_err();
    assert!(
        err.message().starts_with("type(): argument 1 (`match`): "),
        "{err}"
    );
    Ok(())
}
