//! `#[rpc_interface(typescript)]`: the client type describes its interface to
//! `capnweb_runtime::typescript` (members, parameter and result types through ts-rs's `TS`),
//! and is itself a `TS` type named after the interface, so that a parameter or result typed
//! `UsersClient` is written `Users`.

use proc_macro2::{Ident, TokenStream};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Attribute, Path};

use crate::expand::describe::doc_text;
use crate::model::{Kind, Method, option_inner};

/// The two impls for the client type `client` of `trait_ident`.
pub(crate) fn impls(
    krate: &Path,
    trait_ident: &Ident,
    client: &Ident,
    trait_attrs: &[Attribute],
    methods: &[Method],
) -> TokenStream {
    let ts = quote!(#krate::typescript);
    let name = trait_ident.to_string();
    let doc = doc_text(trait_attrs);
    let members = methods.iter().map(member);
    quote! {
        impl #ts::TypeScriptInterface for #client {
            fn describe(interface: &mut #ts::Interface) {
                interface.name(#name, #doc);
                #(#members)*
            }
        }

        impl #ts::ts_rs::TS for #client {
            type WithoutGenerics = Self;
            type OptionInnerType = Self;
            fn name(_: &#ts::ts_rs::Config) -> ::std::string::String {
                ::std::string::String::from(#name)
            }
            fn inline(config: &#ts::ts_rs::Config) -> ::std::string::String {
                <Self as #ts::ts_rs::TS>::name(config)
            }
        }
    }
}

/// `let () = interface.method("get", "doc").param::<u32>("id").returns::<User>();`
fn member(m: &Method) -> TokenStream {
    let wire = &m.wire;
    let doc = doc_text(&m.docs);
    let start = match m.kind {
        Kind::Call => quote!(interface.method(#wire, #doc)),
        Kind::Property => quote!(interface.property(#wire, #doc)),
        Kind::Invoke => quote!(interface.invoke(#doc)),
    };
    // Spanned at the user's types: a type without `TS` is reported there.
    let params = m.args.iter().map(|a| {
        let name = a.name();
        match option_inner(&a.ty) {
            Some(inner) => quote_spanned!(inner.span()=> .optional::<#inner>(#name)),
            None => {
                let ty = &a.ty;
                quote_spanned!(ty.span()=> .param::<#ty>(#name))
            }
        }
    });
    let ok = &m.output.ok_ty;
    let returns = quote_spanned!(ok.span()=> .returns::<#ok>());
    let cfgs = &m.cfgs;
    quote! {
        #(#cfgs)*
        let () = #start #(#params)* #returns;
    }
}
