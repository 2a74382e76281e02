//! Collects every error of one macro invocation, so the user sees all of them in one compile,
//! each at their own tokens.

use proc_macro2::TokenStream;
use std::fmt::Display;

/// The errors found so far.
#[derive(Default)]
pub(crate) struct Errors {
    errors: Vec<syn::Error>,
}

impl Errors {
    /// Records an error spanning `tokens` (a span, a syntax node, ...).
    pub(crate) fn at(&mut self, tokens: impl ErrorSpan, message: impl Display) {
        self.errors.push(tokens.error(message));
    }

    /// Records an error that syn already built (e.g. a parse error).
    pub(crate) fn push(&mut self, error: syn::Error) {
        self.errors.push(error);
    }

    /// How many errors have been recorded; lets a caller tell whether a step added any.
    pub(crate) fn count(&self) -> usize {
        self.errors.len()
    }

    /// One `compile_error!` per recorded error.
    pub(crate) fn to_compile_errors(&self) -> TokenStream {
        self.errors
            .iter()
            .map(syn::Error::to_compile_error)
            .collect()
    }
}

/// Where an error points: a single span, or the whole extent of a syntax node.
pub(crate) trait ErrorSpan {
    fn error(self, message: impl Display) -> syn::Error;
}

impl ErrorSpan for proc_macro2::Span {
    fn error(self, message: impl Display) -> syn::Error {
        syn::Error::new(self, message)
    }
}

impl<T: quote::ToTokens> ErrorSpan for &T {
    fn error(self, message: impl Display) -> syn::Error {
        // `new_spanned` covers every token of the node (on stable too), not just the first.
        syn::Error::new_spanned(self, message)
    }
}
