//! Errors a client can act on: the server fails with a custom error name and properties such
//! as `code`, and the client matches on the code. Run with `cargo run --example error_codes`.
//!
//! The server side is an ordinary Rust error enum with `From<BankError> for RpcError`; methods
//! return `Result<T, BankError>`. On the wire an error is its name, message and own
//! properties, as JavaScript's are. Match on a property such as `code` rather than on the name:
//! a TypeScript client sees a custom name as plain `Error` (capnweb rebuilds only the built-in
//! classes), but the properties arrive intact for every client.

use capnweb_runtime::transport::websocket;
use capnweb_runtime::{RpcError, Server, Value, from_value, rpc_interface, rpc_target};
use serde::Deserialize;

#[rpc_interface]
trait Bank {
    /// Takes `amount` from `account`; answers the new balance.
    async fn withdraw(&self, account: String, amount: f64) -> Result<f64, BankError>;
}

/// What can go wrong, as the server's code sees it.
enum BankError {
    NoSuchAccount(String),
    InsufficientFunds { balance: f64 },
}

impl From<BankError> for RpcError {
    fn from(error: BankError) -> RpcError {
        match error {
            BankError::NoSuchAccount(account) => {
                RpcError::new("NotFoundError", format!("no account {account:?}"))
                    .with_property("code", "NO_SUCH_ACCOUNT")
            }
            BankError::InsufficientFunds { balance } => {
                RpcError::new("InsufficientFundsError", "not enough money")
                    .with_property("code", "INSUFFICIENT_FUNDS")
                    .with_property("balance", balance)
            }
        }
    }
}

struct Vault;

#[rpc_target]
impl Bank for Vault {
    async fn withdraw(&self, account: String, amount: f64) -> Result<f64, BankError> {
        let balance = match account.as_str() {
            "alice" => 50.0,
            _ => return Err(BankError::NoSuchAccount(account)),
        };
        if amount > balance {
            return Err(BankError::InsufficientFunds { balance });
        }
        Ok(balance - amount)
    }
}

/// The `code` property of an application error, if it has one.
fn code(error: &RpcError) -> Option<&str> {
    error.property("code")?.as_str()
}

/// The failures this client knows how to handle, read from the error's properties: `code`
/// picks the variant, the other properties fill its fields.
#[derive(Debug, Deserialize)]
#[serde(tag = "code", rename_all = "SCREAMING_SNAKE_CASE")]
enum Failure {
    InsufficientFunds { balance: f64 },
    NoSuchAccount,
}

impl Failure {
    fn of(error: &RpcError) -> Option<Failure> {
        let properties = error.as_js_error()?.props.clone();
        from_value(Value::Object(properties)).ok()
    }
}

/// What the client does about each failure.
fn explain(error: &RpcError) -> String {
    match Failure::of(error) {
        Some(Failure::InsufficientFunds { balance }) => {
            format!("declined: the balance is only {balance}")
        }
        Some(Failure::NoSuchAccount) => "no such account: check the number".into(),
        // Not an application error this client knows: the connection, a timeout, ...
        None => format!("failed: {error}"),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = Server::builder(|_context| BankClient::new(Vault).into())
        .bind("127.0.0.1:0")
        .await?;
    let session = websocket::connect(&format!("ws://{}/", server.local_addr())).await?;
    let bank = BankClient::from(session.main());

    println!(
        "[client] withdraw 20 from alice: balance {}",
        bank.withdraw("alice", 20).await?
    );
    for (account, amount) in [("alice", 80.0), ("mallory", 5.0)] {
        let error = bank.withdraw(account, amount).await.unwrap_err();
        println!("[client] withdraw {amount} from {account}: {error}");
        println!(
            "[client]   name {:?}, code {:?}",
            error.name(),
            code(&error)
        );
        println!("[client]   -> {}", explain(&error));
    }

    server.shutdown().await;
    Ok(())
}
