//! The dispatch table: an `RpcTarget` implementation that decodes each call's arguments,
//! calls the user's method and encodes its result.

use proc_macro2::{Group, Ident, Span, TokenStream, TokenTree};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Path, Type};

use crate::model::{Kind, Method};

/// How the dispatch table reaches the user's methods.
pub(crate) enum Receiver<'a> {
    /// Through the generated `UsersServer<__T>` wrapper: `<__T as Users>::m(&self.0, ..)`.
    Trait(&'a Ident),
    /// On the type itself (an ad-hoc target): `Self::m(&*self, ..)`.
    Inherent,
}

/// `impl RpcTarget for <self_ty>`, with `call`, and `get` / `invoke` when the methods need them.
pub(crate) fn target_impl(
    krate: &Path,
    impl_generics: TokenStream,
    self_ty: TokenStream,
    where_clause: TokenStream,
    receiver: &Receiver<'_>,
    methods: &[Method],
    description: Option<TokenStream>,
) -> TokenStream {
    let calls: Vec<&Method> = methods.iter().filter(|m| m.kind == Kind::Call).collect();
    let properties: Vec<&Method> = methods
        .iter()
        .filter(|m| m.kind == Kind::Property)
        .collect();
    let private = quote!(#krate::__private);
    let call_arms = calls.iter().map(|m| {
        let (cfgs, wire) = (&m.cfgs, &m.wire);
        let body = dispatch(krate, receiver, m, quote!(args));
        quote!(#(#cfgs)* #wire => #body,)
    });
    // `#[rpc_interface(introspect)]`: the reserved member `$meta` answers the description.
    let meta_arm =
        description.map(|description| quote!("$meta" => #private::describe(#description),));
    // A binding nothing reads would warn in the user's crate.
    let args = if calls.is_empty() {
        quote!(_)
    } else {
        quote!(args)
    };
    let property_arms = properties.iter().map(|m| {
        let (cfgs, wire) = (&m.cfgs, &m.wire);
        let body = dispatch(krate, receiver, m, quote!(#krate::Args::new()));
        quote!(#(#cfgs)* #wire => #body,)
    });
    let invoke = methods.iter().find(|m| m.kind == Kind::Invoke);
    let invoke_arm = match invoke {
        Some(m) => {
            let cfgs = &m.cfgs;
            let body = dispatch(krate, receiver, m, quote!(args));
            // Reachable only when the method is configured out.
            quote! {
                #(#cfgs)*
                #private::Request::Invoke(args) => #body,
                #[allow(unreachable_patterns)]
                #private::Request::Invoke(_) => #private::not_callable(),
            }
        }
        None => quote!(#private::Request::Invoke(_) => #private::not_callable(),),
    };
    // `call`, `get` and `invoke` (the API, for code that calls the target directly) answer
    // through `__answer`, which the runtime uses: its results may be wire text.
    let get_fn = (!properties.is_empty()).then(|| {
        quote! {
            fn get(
                self: ::std::sync::Arc<Self>,
                property: &::core::primitive::str,
            ) -> #krate::CallFuture {
                #private::tree(#krate::RpcTarget::__answer(self, #private::Request::Get(property)))
            }
        }
    });
    let invoke_fn = invoke.map(|m| {
        let cfgs = &m.cfgs;
        quote! {
            #(#cfgs)*
            fn invoke(self: ::std::sync::Arc<Self>, args: #krate::Args) -> #krate::CallFuture {
                #private::tree(#krate::RpcTarget::__answer(self, #private::Request::Invoke(args)))
            }
        }
    });
    quote! {
        #[automatically_derived]
        impl #impl_generics #krate::RpcTarget for #self_ty #where_clause {
            fn call(
                self: ::std::sync::Arc<Self>,
                method: &::core::primitive::str,
                args: #krate::Args,
            ) -> #krate::CallFuture {
                #private::tree(#krate::RpcTarget::__answer(
                    self,
                    #private::Request::Call(method, args),
                ))
            }
            #get_fn
            #invoke_fn
            fn __answer(
                self: ::std::sync::Arc<Self>,
                request: #private::Request<'_>,
            ) -> #private::Answer {
                match request {
                    #private::Request::Call(method, #args) => match method {
                        #meta_arm
                        #(#call_arms)*
                        _ => #private::no_such_method(method),
                    },
                    #private::Request::Get(property) => match property {
                        #(#property_arms)*
                        _ => #private::undefined(),
                    },
                    #invoke_arm
                }
            }
        }
    }
}

/// Decodes the arguments, runs the method and encodes its result, as an `Answer`.
fn dispatch(krate: &Path, receiver: &Receiver<'_>, m: &Method, args: TokenStream) -> TokenStream {
    let name = if m.kind == Kind::Invoke {
        m.display_name()
    } else {
        m.wire.clone()
    };
    let count = m.args.len();
    let vars: Vec<Ident> = (0..count).map(|i| format_ident!("__a{}", i)).collect();
    // Each argument is decoded with its own type as written, so a type that cannot travel is
    // reported once, at that type.
    let decodes = m.args.iter().map(|a| {
        let (ty, arg_name) = (&a.ty, a.name());
        quote!(__args.next::<#ty>(#arg_name)?)
    });
    let ident = &m.ident;
    let call = match receiver {
        Receiver::Trait(trait_ident) => quote!(<__T as #trait_ident>::#ident(&self.0 #(, #vars)*)),
        Receiver::Inherent => quote!(Self::#ident(&*self #(, #vars)*)),
    };
    let encode = encode(krate, m, quote!(#call.await));
    let decode = quote! {
        #krate::__private::decode(#args, #name, #count, |__args| {
            ::core::result::Result::Ok((#(#decodes,)*))
        })
    };
    // Spanned at the method's name: if the method's future is not `Send` (only possible for an
    // ad-hoc target; a trait requires it), that is where the error belongs. (Interpolated
    // tokens keep their own spans; only the template's tokens take the method's.)
    let respond = if m.run_to_completion {
        quote!(#krate::__private::respond_to_completion)
    } else {
        quote!(#krate::__private::respond)
    };
    let respond = respan(respond, ident.span());
    quote_spanned! {ident.span()=>
        #respond(::core::result::Result::map(
            #decode,
            move |(#(#vars,)*)| async move { #encode },
        ))
    }
}

/// `tokens` with every span set to `span` (the runtime path, when an error about the call
/// should point at the user's method).
fn respan(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut tt| {
            if let TokenTree::Group(g) = &tt {
                let mut group = Group::new(g.delimiter(), respan(g.stream(), span));
                group.set_span(span);
                tt = TokenTree::Group(group);
            } else {
                tt.set_span(span);
            }
            tt
        })
        .collect()
}

/// Encodes the method's result; the helper is named with the user's own types, so a type that
/// cannot travel (or an error type that does not convert) is reported at the signature.
fn encode(krate: &Path, m: &Method, value: TokenStream) -> TokenStream {
    let out = &m.output;
    let (ty, ok) = (&out.ty, &out.ok_ty);
    let err: Type = out
        .err_ty
        .clone()
        .unwrap_or_else(|| syn::parse_quote_spanned!(ty.span()=> _));
    // A capability goes through `RpcClient::into_stub`, named exactly as the generated client
    // names `RpcClient::from_stub`: a type that is no client is then reported once.
    let client = quote!(#krate::RpcClient);
    match (out.is_result, out.capability) {
        (false, false) => quote!(#krate::__private::encode::<#ty>(#value)),
        (false, true) => {
            quote!(#krate::__private::encode_stub(<#ty as #client>::into_stub(#value)))
        }
        (true, false) => quote!(#krate::__private::encode_result::<#ok, #err>(#value)),
        (true, true) => quote! {
            #krate::__private::encode_result::<#krate::Stub, #err>(
                ::core::result::Result::map(#value, <#ok as #client>::into_stub)
            )
        },
    }
}
