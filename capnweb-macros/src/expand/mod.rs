//! Code generation: the client type, the dispatch table, and the two macros' outputs.

pub(crate) mod client;
pub(crate) mod describe;
pub(crate) mod dispatch;
pub(crate) mod interface;
pub(crate) mod target;
pub(crate) mod typescript;

use proc_macro2::Ident;
use quote::format_ident;

/// `Users` -> `UsersClient`.
pub(crate) fn client_ident(trait_ident: &Ident) -> Ident {
    format_ident!("{}Client", trait_ident, span = trait_ident.span())
}

/// `Users` -> `UsersServer`.
pub(crate) fn server_ident(trait_ident: &Ident) -> Ident {
    format_ident!("{}Server", trait_ident, span = trait_ident.span())
}
