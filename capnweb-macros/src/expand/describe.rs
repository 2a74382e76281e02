//! `#[rpc_interface(introspect)]`: the interface's description, answered for the reserved
//! member `$meta` (method names, kinds, parameter names and types, result types, doc
//! comments), as static data the runtime turns into a value.

use proc_macro2::TokenStream;
use quote::{ToTokens, quote};
use syn::{Attribute, Path};

use crate::model::{Kind, Method};

/// A `static` expression of the runtime's `__private::InterfaceDoc` for `methods`.
pub(crate) fn description(
    krate: &Path,
    name: &str,
    trait_attrs: &[Attribute],
    methods: &[Method],
) -> TokenStream {
    let private = quote!(#krate::__private);
    let trait_doc = doc_text(trait_attrs);
    let methods = methods.iter().map(|m| {
        let wire = &m.wire;
        let kind = match m.kind {
            Kind::Call => "method",
            Kind::Property => "property",
            Kind::Invoke => "invoke",
        };
        let params = m.args.iter().map(|a| {
            let (name, ty) = (a.name(), type_text(&a.ty));
            quote!(#private::ParamDoc { name: #name, ty: #ty })
        });
        let result = type_text(&m.output.ty);
        let doc = doc_text(&m.docs);
        let cfgs = &m.cfgs;
        quote! {
            #(#cfgs)*
            #private::MethodDoc {
                name: #wire,
                kind: #kind,
                params: &[#(#params),*],
                result: #result,
                doc: #doc,
            },
        }
    });
    quote! {
        {
            static DESCRIPTION: #private::InterfaceDoc = #private::InterfaceDoc {
                name: #name,
                doc: #trait_doc,
                methods: &[#(#methods)*],
            };
            &DESCRIPTION
        }
    }
}

/// The text of `///` comments, lines joined, one leading space each removed.
pub(crate) fn doc_text(attrs: &[Attribute]) -> String {
    let lines: Vec<String> = attrs
        .iter()
        .filter(|a| a.path().is_ident("doc"))
        .filter_map(|a| match &a.meta {
            syn::Meta::NameValue(nv) => match &nv.value {
                syn::Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Str(s),
                    ..
                }) => Some(s.value()),
                _ => None,
            },
            _ => None,
        })
        .map(|line| line.strip_prefix(' ').map(str::to_owned).unwrap_or(line))
        .collect();
    lines.join("\n").trim().to_owned()
}

/// A type as Rust writes it (`Vec<u32>`, `Result<UserClient, RpcError>`), without the spaces
/// token printing puts around punctuation.
fn type_text(ty: &syn::Type) -> String {
    let mut text = ty.to_token_stream().to_string();
    for (spaced, tight) in [
        (" < ", "<"),
        (" <", "<"),
        ("< ", "<"),
        (" >", ">"),
        (" ,", ","),
        (" :: ", "::"),
        (":: ", "::"),
        ("& ", "&"),
    ] {
        text = text.replace(spaced, tight);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::type_text;

    #[test]
    fn types_read_as_written() {
        for written in [
            "Vec<u32>",
            "Result<UserClient, RpcError>",
            "std::io::Result<()>",
            "&str",
        ] {
            let ty: syn::Type = syn::parse_str(written).unwrap();
            assert_eq!(type_text(&ty), written);
        }
    }
}
