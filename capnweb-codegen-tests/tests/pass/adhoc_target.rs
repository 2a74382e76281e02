//! `#[rpc_target]` on an inherent impl: an ad-hoc target with no trait, as a TypeScript class
//! extending `RpcTarget` would be. Generic types, `#[rpc(skip)]`, properties, `invoke`,
//! `rename_all` and errors, called through the dynamic API.

use std::sync::Mutex;

use capnweb::{RpcError, Stub, Value, rpc_target};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// A calculator with a memory.
struct Calculator {
    memory: Mutex<f64>,
}

#[rpc_target]
impl Calculator {
    /// An associated function (no `self`) is not an RPC method.
    fn new() -> Self {
        Calculator {
            memory: Mutex::new(0.0),
        }
    }

    /// Skipped explicitly: a helper.
    #[rpc(skip)]
    fn helper(&self) -> f64 {
        *self.memory.lock().unwrap()
    }

    async fn add(&self, a: f64, b: f64) -> f64 {
        a + b
    }

    async fn store(&self, x: f64) {
        *self.memory.lock().unwrap() = x;
    }

    #[rpc(property)]
    async fn memory(&self) -> f64 {
        self.helper()
    }

    async fn sqrt(&self, x: f64) -> Result<f64, RpcError> {
        if x < 0.0 {
            return Err(RpcError::new("RangeError", "negative"));
        }
        Ok(x.sqrt())
    }

    #[rpc(invoke)]
    async fn apply(&self, x: f64) -> f64 {
        x * 2.0
    }
}

/// A generic ad-hoc target with snake_case wire names.
struct Cell<T> {
    value: Mutex<T>,
}

#[rpc_target(rename_all = "snake_case")]
impl<T> Cell<T>
where
    T: Clone + Serialize + DeserializeOwned + Send + 'static,
{
    async fn get_value(&self) -> T {
        self.value.lock().unwrap().clone()
    }

    async fn set_value(&self, value: T) {
        *self.value.lock().unwrap() = value;
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), RpcError> {
    let calc: Stub = Calculator::new().into();
    assert_eq!(calc.call("add", (1, 2)).typed::<f64>().await?, 3.0);
    calc.call("store", (4,)).await?;
    assert_eq!(calc.get("memory").typed::<f64>().await?, 4.0);
    assert_eq!(
        calc.call("sqrt", (-1,)).await.unwrap_err().name(),
        "RangeError"
    );
    assert_eq!(calc.invoke((21,)).typed::<f64>().await?, 42.0);
    let err = calc.call("new", ()).await.unwrap_err();
    assert_eq!(err.message(), "'new' is not a function.");
    let err = calc.call("helper", ()).await.unwrap_err();
    assert_eq!(err.message(), "'helper' is not a function.");

    let cell = Stub::new(Cell {
        value: Mutex::new(String::from("a")),
    });
    cell.call("set_value", ("b",)).await?;
    assert_eq!(cell.call("get_value", ()).typed::<String>().await?, "b");
    let err = cell.call("getValue", ()).await.unwrap_err();
    assert_eq!(err.message(), "'getValue' is not a function.");
    let err = cell.invoke(()).await.unwrap_err();
    assert_eq!(err.name(), "TypeError");
    assert_eq!(cell.get("value").await?, Value::Undefined);
    Ok(())
}
