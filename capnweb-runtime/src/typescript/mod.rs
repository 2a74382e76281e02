//! TypeScript declarations (`.d.ts`) for `#[rpc_interface(typescript)]` interfaces, so that a
//! TypeScript client of a Rust server type-checks its calls with capnweb's own types.
//!
//! Argument and result types are described by [ts-rs](https://docs.rs/ts-rs) (`#[derive(TS)]`
//! next to `Serialize`/`Deserialize`; it follows serde's `rename_all`, `tag`, `skip`, ...).
//! Each interface becomes a TypeScript interface that extends capnweb's `RpcTarget`, so that:
//!
//! - `newWebSocketRpcSession<Api>(url)` / `newHttpBatchRpcSession<Api>(url)` give an
//!   `RpcStub<Api>` whose calls return `RpcPromise`s (pipelining, `.map()`),
//! - a result typed as another interface (a `...Client` in Rust) is a stub of that interface,
//! - a callback interface the client implements is a class
//!   `class P extends RpcTarget implements Progress { ... }`.
//!
//! Members: a method is `name(params): Promise<T>` (`void` for `()`), a `#[rpc(property)]` is
//! `readonly name: T`, an `#[rpc(invoke)]` is a call signature. An `Option<T>` parameter is
//! optional (`name?: T`) when only optional parameters follow it, else `name: T | undefined`.
//! Errors are rejections, so `Result<T, E>` is `Promise<T>`.
//!
//! Numbers are written as this crate puts them on the wire: integers up to 32 bits (and
//! `usize`, `f32`, `f64`) are `number`; `i64`, `u64`, `i128` and `u128` are `number | bigint`,
//! because a value within ±(2^53 - 1) travels as a number and a larger one as a bigint (a
//! `usize` above 2^53 would too, but ts-rs calls it `number`). [`BigInt`](crate::value::BigInt)
//! is `bigint`, [`Date`](crate::value::Date) is `Date`, [`Bytes`](crate::value::Bytes) is
//! `Uint8Array` (a `Vec<u8>` is a `number[]`, as serde writes it), [`RpcError`](crate::RpcError)
//! is `Error`, and [`Value`](crate::Value), [`Stub`](crate::Stub) and
//! [`Promise`](crate::Promise) are `unknown`.
//!
//! # Example
//!
//! ```
//! use capnweb_runtime::rpc_interface;
//! use capnweb_runtime::typescript::Declarations;
//! use ts_rs::TS;
//!
//! #[derive(serde::Serialize, serde::Deserialize, TS)]
//! #[serde(rename_all = "camelCase")]
//! struct User {
//!     user_id: u32,
//!     nick: Option<String>,
//! }
//!
//! /// Reports progress back to the caller.
//! #[rpc_interface(typescript)]
//! trait Progress {
//!     async fn report(&self, percent: u32);
//! }
//!
//! #[rpc_interface(typescript)]
//! trait Users {
//!     async fn get(&self, id: u32) -> User;
//!     async fn import(&self, names: Vec<String>, progress: Option<ProgressClient>) -> u32;
//!     #[rpc(property)]
//!     async fn count(&self) -> u64;
//! }
//!
//! let dts = Declarations::new()
//!     .interface::<UsersClient>()
//!     .interface::<ProgressClient>()
//!     .render();
//! assert!(dts.contains("export type User = { userId: number, nick: string | null, };"));
//! assert!(dts.contains("export interface Users extends RpcTarget {"));
//! assert!(dts.contains("  get(id: number): Promise<User>;"));
//! assert!(dts.contains("  import(names: Array<string>, progress?: Progress): Promise<number>;"));
//! assert!(dts.contains("  readonly count: number | bigint;"));
//! assert!(dts.contains("  report(percent: number): Promise<void>;"));
//! ```
//!
//! The crate's `examples/browser/ts_types.rs` writes the browser example's `api.d.ts` this way
//! (`cargo run --example ts_types > examples/browser/api.d.ts`).

mod interface;
mod special;
mod types;

pub use interface::{Interface, MemberBuilder};
/// The ts-rs crate this module builds on (its `TS` trait is what argument and result types
/// implement).
pub use ts_rs;

use types::TypeSet;

/// An interface `#[rpc_interface(typescript)]` can describe; implemented for the generated
/// client type (`UsersClient` describes the interface `Users`).
pub trait TypeScriptInterface {
    /// Adds the interface's name, doc comment and members to `interface`.
    fn describe(interface: &mut Interface);
}

/// A set of interfaces rendered into one `.d.ts` file, with the declarations of every type
/// their members use.
///
/// Start with [`Declarations::new`], add each interface (every interface a member refers to
/// must be added too, or the file names a type it does not declare), then [`render`].
///
/// [`render`]: Declarations::render
pub struct Declarations {
    interfaces: Vec<Interface>,
    types: TypeSet,
}

impl Default for Declarations {
    fn default() -> Self {
        Declarations::new()
    }
}

impl Declarations {
    /// An empty set.
    pub fn new() -> Declarations {
        Declarations {
            interfaces: Vec::new(),
            types: TypeSet::default(),
        }
    }

    /// Adds the interface `C` (a generated client type, e.g. `UsersClient`) describes.
    pub fn interface<C: TypeScriptInterface>(mut self) -> Declarations {
        let mut interface = Interface::new(std::mem::take(&mut self.types));
        C::describe(&mut interface);
        self.types = std::mem::take(&mut interface.types);
        self.interfaces.push(interface);
        self
    }

    /// The `.d.ts` text: an import of capnweb's `RpcTarget`, the declarations of the data
    /// types (in the order first used), then the interfaces (in the order added).
    pub fn render(&self) -> String {
        let mut out = String::from(
            "// Generated by capnweb_runtime::typescript from the Rust interfaces; do not edit.\n\
             import type { RpcTarget } from \"capnweb\";\n",
        );
        for decl in self.types.declarations() {
            out.push('\n');
            out.push_str(decl);
            out.push('\n');
        }
        for interface in &self.interfaces {
            out.push('\n');
            interface.render(&mut out);
        }
        out
    }
}
