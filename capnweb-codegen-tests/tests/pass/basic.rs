//! The everyday shape: an interface, an implementation, a typed client over a local target.

use capnweb::{RpcError, rpc_interface, rpc_target};

/// A calculator.
#[rpc_interface]
pub trait Calculator {
    /// Adds two numbers.
    async fn add(&self, a: f64, b: f64) -> f64;
    /// Divides, refusing zero.
    async fn divide(&self, a: f64, b: f64) -> Result<f64, RpcError>;
    /// A second calculator.
    async fn twin(&self) -> CalculatorClient;
}

/// An interface with no methods (a marker capability) is fine too.
#[rpc_interface]
pub trait Marker {}

struct Calc;

#[rpc_target]
impl Marker for Calc {}

#[rpc_target]
impl Calculator for Calc {
    async fn add(&self, a: f64, b: f64) -> f64 {
        a + b
    }

    async fn divide(&self, a: f64, b: f64) -> Result<f64, RpcError> {
        if b == 0.0 {
            return Err(RpcError::new("RangeError", "division by zero"));
        }
        Ok(a / b)
    }

    async fn twin(&self) -> CalculatorClient {
        Calc.into()
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), RpcError> {
    let calc = CalculatorClient::new(Calc);
    // A promise passed where an `f64` is expected: pipelined.
    let sum = calc.add(calc.add(1, 2), 3.5);
    assert_eq!(sum.await?, 6.5);
    let err = calc.divide(1, 0).await.unwrap_err();
    assert_eq!(err.name(), "RangeError");
    // A capability result is usable at once.
    assert_eq!(calc.twin().twin().add(2, 2).await?, 4.0);
    let twin = calc.twin().resolve().await?;
    assert_eq!(twin.divide(9, 3).await?, 3.0);
    // The dynamic layer sees the camelCase wire names.
    let untyped: f64 = calc.stub().call("add", (1, 1)).typed().await?;
    assert_eq!(untyped, 2.0);
    let marker: MarkerClient = Calc.into();
    let err = marker.stub().call("add", (1, 1)).await.unwrap_err();
    assert_eq!(err.message(), "'add' is not a function.");
    Ok(())
}
