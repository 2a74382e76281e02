//! Two ways to authenticate a client. Run with `cargo run --example auth`.
//!
//! 1. **By header**: the server admits only requests with a valid bearer token
//!    (`ServerBuilder::admit`; anyone else gets `401` and no session), and its main-object
//!    factory hands each client the account its token opens (`SessionContext::headers`). Fits
//!    server-to-server clients and HTTP batches, which can set headers.
//! 2. **In-band**: the main object is a gate with `authenticate(token)`, which returns the
//!    account capability only when the token is good. A browser cannot set headers on a
//!    WebSocket, so this is the pattern for browser clients. Holding the capability *is* the
//!    authorization: no method checks a session flag, and the call that authenticates can be
//!    pipelined with the first call on the account (one round trip).

use capnweb_runtime::http::{Refusal, SessionContext};
use capnweb_runtime::transport::websocket::{self, Connector};
use capnweb_runtime::{RpcClient, RpcError, Server, Stub, rpc_interface, rpc_target};
use http::header::{HeaderValue, WWW_AUTHENTICATE};

#[rpc_interface]
trait Account {
    async fn whoami(&self) -> String;
    async fn close_account(&self) -> String;
}

#[rpc_interface]
trait Gate {
    /// The caller's account, if `token` is valid.
    async fn authenticate(&self, token: String) -> Result<AccountClient, RpcError>;
}

struct Holder {
    user: String,
}

#[rpc_target]
impl Account for Holder {
    async fn whoami(&self) -> String {
        self.user.clone()
    }

    async fn close_account(&self) -> String {
        format!("{}'s account is closed", self.user)
    }
}

/// The server's token table: (token, user, may the user close the account).
const TOKENS: [(&str, &str, bool); 2] = [("t-alice", "alice", true), ("t-bob", "bob", false)];

fn unauthorized() -> RpcError {
    RpcError::new("Unauthorized", "a valid token is required").with_property("code", "UNAUTHORIZED")
}

/// The account a token opens, with only the methods that token allows.
fn account_for(token: &str) -> Result<AccountClient, RpcError> {
    let (_, user, full) = TOKENS
        .iter()
        .find(|(t, ..)| *t == token)
        .ok_or_else(unauthorized)?;
    let account = AccountClient::new(Holder {
        user: user.to_string(),
    });
    Ok(if *full {
        account
    } else {
        // A narrower view: whoever holds it can call `whoami` and nothing else.
        account.restrict(&["whoami"])
    })
}

/// The bearer token of the request that opens a session, if it sent one.
fn bearer_token(context: &SessionContext) -> Option<&str> {
    context
        .headers()
        .get("authorization")?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
}

struct Door;

#[rpc_target]
impl Gate for Door {
    async fn authenticate(&self, token: String) -> Result<AccountClient, RpcError> {
        println!("[server] authenticate({token:?})");
        account_for(&token)
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // 1. By header.
    let by_header = Server::builder(|context| match bearer_token(context).map(account_for) {
        Some(Ok(account)) => account.into_stub(),
        // Not reached: `admit` turned these away.
        _ => Stub::broken(unauthorized()),
    })
    .admit(|context| match bearer_token(context).map(account_for) {
        Some(Ok(_)) => Ok(()),
        _ => Err(Refusal::unauthorized("a valid bearer token is required")
            .header(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"))),
    })
    .bind("127.0.0.1:0")
    .await?;
    let url = format!("ws://{}/", by_header.local_addr());

    let session = Connector::new(&url)
        .bearer_token("t-alice")
        .connect()
        .await?;
    let account = AccountClient::from(session.main());
    println!(
        "[client] with a bearer token: whoami = {}",
        account.whoami().await?
    );

    let refused = websocket::connect(&url).await.unwrap_err();
    println!("[client] without a token: {refused}");
    by_header.shutdown().await;

    // 2. In-band.
    let gated = Server::builder(|_context| GateClient::new(Door).into())
        .bind("127.0.0.1:0")
        .await?;
    let session = websocket::connect(&format!("ws://{}/", gated.local_addr())).await?;
    let gate = GateClient::from(session.main());

    // Pipelined: `whoami` goes out with `authenticate`, before the account exists.
    let alice = gate.authenticate("t-alice");
    println!(
        "[client] authenticate(t-alice).whoami() = {}",
        alice.whoami().await?
    );
    println!("[client] alice: {}", alice.close_account().await?);

    let bob = gate.authenticate("t-bob");
    println!(
        "[client] authenticate(t-bob).whoami() = {}",
        bob.whoami().await?
    );
    let refused = bob.close_account().await.unwrap_err();
    println!("[client] bob may not close his account: {refused}");

    let wrong = gate.authenticate("guess").whoami().await.unwrap_err();
    println!("[client] authenticate(guess): {wrong}");

    gated.shutdown().await;
    Ok(())
}
