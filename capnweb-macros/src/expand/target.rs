//! `#[rpc_target]`: conveniences for `impl Trait for Type`, or a whole dispatch table for an
//! inherent `impl Type` (an ad-hoc target with no trait).

use proc_macro2::TokenStream;
use quote::{ToTokens, format_ident, quote};
use syn::{ImplItem, ItemImpl, Type};

use crate::checks;
use crate::errors::Errors;
use crate::expand::dispatch;
use crate::model::{self, Context};
use crate::options::{Form, crate_path, macro_options, method_options};

/// Expands `#[rpc_target(args)] item`.
pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let mut item: ItemImpl = match syn::parse2(item.clone()) {
        Ok(item) => item,
        Err(_) => {
            errors.at(
                &item,
                "`#[rpc_target]` goes on an `impl` block: `impl Trait for Type` (for an `#[rpc_interface]` trait) or `impl Type` (an ad-hoc target)",
            );
            let errors = errors.to_compile_errors();
            return quote!(#item #errors);
        }
    };
    let generated = if item.trait_.is_some() {
        trait_impl(args, &mut item, &mut errors)
    } else {
        inherent(args, &mut item, &mut errors)
    };
    let errors = errors.to_compile_errors();
    quote! {
        #item
        #generated
        #errors
    }
}

/// `impl Users for Store`: rustc checks the impl against the trait (a missing method is its
/// error, at the impl); we add `From<Store> for UsersClient` and reject `#[rpc]` here.
fn trait_impl(args: TokenStream, item: &mut ItemImpl, errors: &mut Errors) -> TokenStream {
    let _ = macro_options(args, Form::TraitImpl, errors);
    for impl_item in &mut item.items {
        if let ImplItem::Fn(f) = impl_item {
            let _ = method_options(&mut f.attrs, Form::TraitImpl, errors);
        }
    }
    let Some((bang, path, _)) = &item.trait_ else {
        return TokenStream::new();
    };
    if let Some(bang) = bang {
        errors.at(bang, "`#[rpc_target]` cannot go on a negative impl");
        return TokenStream::new();
    }
    // A blanket `impl<T: ..> Users for T` would make this conflict with `From<T> for T`.
    if is_type_param(&item.self_ty, item) {
        return TokenStream::new();
    }
    let mut client = path.clone();
    let Some(last) = client.segments.last_mut() else {
        return TokenStream::new();
    };
    last.ident = format_ident!("{}Client", last.ident, span = last.ident.span());
    last.arguments = syn::PathArguments::None;
    let self_ty = &item.self_ty;
    let (impl_generics, _, where_clause) = item.generics.split_for_impl();
    quote! {
        impl #impl_generics ::core::convert::From<#self_ty> for #client #where_clause {
            fn from(target: #self_ty) -> Self {
                #client::new(target)
            }
        }
    }
}

fn is_type_param(ty: &Type, item: &ItemImpl) -> bool {
    let Type::Path(p) = ty else { return false };
    p.qself.is_none()
        && item
            .generics
            .type_params()
            .any(|tp| p.path.is_ident(&tp.ident))
}

/// `impl Calculator { async fn add(&self, a: f64, b: f64) -> f64 { .. } }`: every method that
/// takes `self` is an RPC method (unless `#[rpc(skip)]`), served by an `RpcTarget` impl for
/// the type itself.
fn inherent(args: TokenStream, item: &mut ItemImpl, errors: &mut Errors) -> TokenStream {
    let options = macro_options(args, Form::Inherent, errors);
    let cx = Context {
        form: Form::Inherent,
        rename_all: options.rename_all,
    };
    let mut methods = Vec::new();
    for impl_item in &mut item.items {
        let ImplItem::Fn(f) = impl_item else { continue };
        // Associated functions (constructors and the like) are not called on an object, so
        // they are not RPC methods, as static methods of a JavaScript class are not.
        let has_rpc_attr = f.attrs.iter().any(|a| a.path().is_ident("rpc"));
        if f.sig.receiver().is_none() && !has_rpc_attr {
            continue;
        }
        if let Some(m) = model::method(&mut f.attrs, &f.sig, &cx, errors) {
            methods.push(m);
        }
    }
    checks::methods(&mut methods, Form::Inherent, errors);
    let krate = crate_path(options.krate);
    let (impl_generics, _, where_clause) = item.generics.split_for_impl();
    let self_ty = &item.self_ty;
    let target = dispatch::target_impl(
        &krate,
        impl_generics.to_token_stream(),
        self_ty.to_token_stream(),
        where_clause.to_token_stream(),
        &dispatch::Receiver::Inherent,
        &methods,
        None,
    );
    quote! {
        #target

        impl #impl_generics ::core::convert::From<#self_ty> for #krate::Stub #where_clause {
            fn from(target: #self_ty) -> Self {
                #krate::Stub::new(target)
            }
        }
    }
}
