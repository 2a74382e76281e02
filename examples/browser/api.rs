//! The browser example's API: what the Rust server offers and the page calls. The page's
//! TypeScript types (`api.d.ts`) are generated from these traits and types (`ts_types.rs`).

use capnweb_runtime::value::Date;
use capnweb_runtime::{RpcError, rpc_interface};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// The server's main object.
#[rpc_interface(typescript)]
pub trait Api {
    /// `a + b`.
    async fn add(&self, a: i32, b: i32) -> i32;
    /// A greeting; `punctuation` defaults to `"!"`.
    async fn greet(&self, name: String, punctuation: Option<String>) -> String;
    /// The server's version.
    #[rpc(property)]
    async fn version(&self) -> String;
    /// The user with `id`; rejects with a `NotFoundError` (code `NOT_FOUND`) if there is none.
    async fn user(&self, id: u32) -> Result<UserClient, RpcError>;
    /// Every user's id.
    async fn user_ids(&self) -> Vec<u32>;
    /// Runs a job of `steps` steps, reporting each one to `progress` (an object the caller
    /// implements) and waiting for it to be acknowledged.
    async fn run_job(&self, steps: u32, progress: ProgressClient) -> Result<JobReport, RpcError>;
    /// How many user objects the server holds for its callers right now.
    async fn live_users(&self) -> u32;
}

/// One user, a capability: its methods act on that user.
#[rpc_interface(typescript)]
pub trait User {
    /// The user's name.
    #[rpc(property)]
    async fn name(&self) -> String;
    /// The user's profile.
    async fn profile(&self) -> Profile;
    /// Renames the user; rejects with a `RangeError` on an empty name.
    async fn rename(&self, name: String) -> Result<(), RpcError>;
}

/// Progress reports, implemented by the caller of `runJob`.
#[rpc_interface(typescript)]
pub trait Progress {
    /// Step `step` of `total` is done.
    async fn report(&self, step: u32, total: u32, note: String) -> String;
}

/// What a user shows about themselves.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Profile {
    pub display_name: String,
    pub role: Role,
    /// Not set for everyone.
    pub email: Option<String>,
    /// Reputation; large values travel as bigints.
    pub karma: i64,
    pub joined: Date,
    /// Kept on the server.
    #[serde(skip)]
    pub password_hash: String,
}

/// What a user may do.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Role {
    Admin,
    Member { since: u32 },
}

/// The outcome of `runJob`.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct JobReport {
    pub steps_done: u32,
    /// What the progress object answered to each report.
    pub acknowledgements: Vec<String>,
}

/// The `.d.ts` text for this API (`cargo run --example ts_types` prints it).
pub fn declarations() -> String {
    capnweb_runtime::typescript::Declarations::new()
        .interface::<ApiClient>()
        .interface::<UserClient>()
        .interface::<ProgressClient>()
        .render()
}
