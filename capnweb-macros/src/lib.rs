//! Procedural macros for `capnweb-runtime`: `#[rpc_interface]` and `#[rpc_target]`. Use them
//! through the runtime crate's re-exports (`capnweb_runtime::rpc_interface`).
//!
//! The macros are thin: they parse the user's item into a small model that keeps the user's
//! spans (`model`), check it and report every problem at the user's own tokens (`checks`), and
//! generate code that calls helpers in `capnweb_runtime::__private` (`expand`).

mod checks;
mod errors;
mod expand;
mod model;
mod names;
mod options;
#[cfg(test)]
mod tests;

use proc_macro::TokenStream;

#[doc = include_str!("../docs/rpc_interface.md")]
#[proc_macro_attribute]
pub fn rpc_interface(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::interface::expand(args.into(), item.into()).into()
}

#[doc = include_str!("../docs/rpc_target.md")]
#[proc_macro_attribute]
pub fn rpc_target(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::target::expand(args.into(), item.into()).into()
}
