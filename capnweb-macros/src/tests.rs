//! Expansion checks: properties of the generated code that the trybuild cases cannot see
//! directly.

use proc_macro2::{TokenStream, TokenTree};
use quote::quote;

/// Names the prelude provides; generated code must spell them out (`::core::result::Result`),
/// or it breaks under `#![no_implicit_prelude]` and when a user shadows them.
const PRELUDE: &[&str] = &[
    "Ok",
    "Err",
    "Some",
    "None",
    "Result",
    "Option",
    "Vec",
    "Box",
    "String",
    "Clone",
    "Send",
    "Sync",
    "From",
    "Into",
    "Default",
    "Drop",
    "Fn",
    "FnOnce",
    "ToString",
    "ToOwned",
    "Iterator",
    "Future",
    "IntoFuture",
];

/// Every identifier from the list above that is not the last segment of a `::`-path.
fn unqualified_prelude_names(tokens: TokenStream) -> Vec<String> {
    let mut found = Vec::new();
    let mut previous: Option<TokenTree> = None;
    for tt in tokens {
        match &tt {
            TokenTree::Group(g) => found.extend(unqualified_prelude_names(g.stream())),
            TokenTree::Ident(i) if PRELUDE.contains(&i.to_string().as_str()) => {
                let after_colons =
                    matches!(&previous, Some(TokenTree::Punct(p)) if p.as_char() == ':');
                if !after_colons {
                    found.push(i.to_string());
                }
            }
            _ => {}
        }
        previous = Some(tt);
    }
    found
}

/// An interface using every kind of method, with only absolute paths of its own.
fn sample_interface() -> TokenStream {
    quote! {
        pub trait Sample {
            async fn call(&self, a: ::std::string::String, b: u32) -> ::core::result::Result<u32, Error>;
            async fn cap(&self) -> SampleClient;
            async fn cap_result(&self) -> ::core::result::Result<SampleClient, Error>;
            #[rpc(property)]
            async fn prop(&self) -> u32;
            #[rpc(invoke)]
            async fn run(&self, x: u32) -> u32;
            async fn nothing(&self);
        }
    }
}

#[test]
fn interface_expansion_uses_absolute_paths_only() {
    let out = crate::expand::interface::expand(TokenStream::new(), sample_interface());
    let names = unqualified_prelude_names(out.clone());
    assert!(
        names.is_empty(),
        "unqualified prelude names {names:?} in:\n{out}"
    );
    let file: syn::File = syn::parse2(out).expect("the expansion is valid Rust");
    // The trait, the client struct, the plumbing macro call, the client impl, the server
    // struct and its `RpcTarget` impl.
    assert_eq!(file.items.len(), 6);
}

#[test]
fn target_expansion_uses_absolute_paths_only() {
    let inherent = quote! {
        impl<T: Bound> Adhoc<T> {
            async fn call(&self, a: u32) -> ::core::result::Result<u32, Error> { unimplemented!() }
            #[rpc(property)]
            async fn prop(&self) -> u32 { 1 }
            #[rpc(invoke)]
            async fn run(&self) -> u32 { 2 }
            fn constructor() -> u32 { 3 }
        }
    };
    let trait_impl = quote! {
        impl<T: Bound> api::Sample for Adhoc<T> {
            async fn nothing(&self) {}
        }
    };
    // The impl itself, then `RpcTarget` + `From<_> for Stub` (inherent) or `From<_> for
    // SampleClient` (trait impl).
    for (item, items) in [(inherent, 3), (trait_impl, 2)] {
        let out = crate::expand::target::expand(TokenStream::new(), item);
        let names = unqualified_prelude_names(out.clone());
        assert!(
            names.is_empty(),
            "unqualified prelude names {names:?} in:\n{out}"
        );
        let file: syn::File = syn::parse2(out).expect("the expansion is valid Rust");
        assert_eq!(file.items.len(), items);
    }
}

#[test]
fn errors_keep_the_item_and_report_every_problem() {
    let item = quote! {
        trait Broken {
            fn not_async(&self) -> u32;
            async fn by_value(self) -> u32;
            async fn fine(&self) -> u32;
            #[rpc(unknown)]
            async fn bad_option(&self) -> u32;
        }
    };
    let out = crate::expand::interface::expand(TokenStream::new(), item).to_string();
    assert_eq!(out.matches("compile_error").count(), 3, "{out}");
    assert!(
        out.contains("trait Broken"),
        "the user's trait is still emitted: {out}"
    );
    assert!(
        !out.contains("# [rpc"),
        "helper attributes are removed: {out}"
    );
    // The valid method is still served and callable.
    assert!(out.contains("\"fine\""), "{out}");
    assert!(!out.contains("\"byValue\""), "{out}");
}

#[test]
fn not_a_trait_is_one_error_and_the_item_unchanged() {
    let out = crate::expand::interface::expand(
        TokenStream::new(),
        quote!(
            struct S;
        ),
    )
    .to_string();
    assert_eq!(out.matches("compile_error").count(), 1, "{out}");
    assert!(out.starts_with("struct S ;"), "{out}");
}
