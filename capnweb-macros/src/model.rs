//! The small model the expanders work from: one [`Method`] per RPC method, built from the
//! user's syntax with the user's spans kept, so generated code can point errors at them.

use proc_macro2::{Ident, Span};
use quote::format_ident;
use syn::ext::IdentExt;
use syn::{Attribute, FnArg, Pat, ReturnType, Signature, Type};

use crate::checks;
use crate::errors::Errors;
use crate::names::RenameRule;
use crate::options::{Form, MethodOptions, method_options};

/// How a method travels.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A method call: `["pipeline", id, ["name"], args]`.
    Call,
    /// A property read: `["pipeline", id, ["name"]]`, no arguments.
    Property,
    /// A call of the object itself, as of a JavaScript function: `["pipeline", id, [], args]`.
    Invoke,
}

/// One RPC method.
pub(crate) struct Method {
    /// The Rust name.
    pub(crate) ident: Ident,
    /// The name on the wire (empty for [`Kind::Invoke`]).
    pub(crate) wire: String,
    /// Where the wire name comes from: the `name = "..."` literal, or the method's name.
    pub(crate) wire_span: Span,
    pub(crate) kind: Kind,
    pub(crate) args: Vec<Arg>,
    pub(crate) output: Output,
    /// `#[rpc(run_to_completion)]`: not cancelled when its session ends.
    pub(crate) run_to_completion: bool,
    /// `#[doc]` attributes, forwarded to the client method.
    pub(crate) docs: Vec<Attribute>,
    /// `#[cfg]`, `#[allow]`, `#[deprecated]`, ...: forwarded to the client method and, for
    /// `#[cfg]`, to the method's dispatch arm.
    pub(crate) cfgs: Vec<Attribute>,
    pub(crate) lints: Vec<Attribute>,
}

/// One parameter (after `&self`).
pub(crate) struct Arg {
    /// The name the generated client method gives the parameter.
    pub(crate) ident: Ident,
    pub(crate) ty: Type,
}

/// Whether `ty` is written as an `Option` (`Option<T>`, `std::option::Option<T>`): such a
/// parameter's `None` travels as `undefined`, as an omitted JavaScript argument does.
pub(crate) fn is_option(ty: &Type) -> bool {
    match ungroup(ty) {
        Type::Path(p) if p.qself.is_none() => p.path.segments.last().is_some_and(|s| {
            s.ident == "Option" && matches!(s.arguments, syn::PathArguments::AngleBracketed(_))
        }),
        _ => false,
    }
}

/// `T` of a parameter written as `Option<T>` (see [`is_option`]).
pub(crate) fn option_inner(ty: &Type) -> Option<&Type> {
    if !is_option(ty) {
        return None;
    }
    let Type::Path(p) = ungroup(ty) else {
        return None;
    };
    let syn::PathArguments::AngleBracketed(args) = &p.path.segments.last()?.arguments else {
        return None;
    };
    args.args.iter().find_map(|a| match a {
        syn::GenericArgument::Type(t) => Some(t),
        _ => None,
    })
}

/// What a method returns.
pub(crate) struct Output {
    /// The type as written (`()` when nothing is written).
    pub(crate) ty: Type,
    /// `T` of a `Result<T, E>`; otherwise the type itself.
    pub(crate) ok_ty: Type,
    /// `E` of a `Result<T, E>` (not known for a one-parameter alias such as `io::Result<T>`).
    pub(crate) err_ty: Option<Type>,
    /// Whether the type is a `Result` (its error becomes a rejection).
    pub(crate) is_result: bool,
    /// Whether the success value is a capability (the client gets a client type, pipelined).
    pub(crate) capability: bool,
}

/// Everything the model needs to know about the macro invocation.
pub(crate) struct Context {
    pub(crate) form: Form,
    pub(crate) rename_all: crate::names::RenameRule,
}

/// Builds the model of one method, removing its `#[rpc]` attributes from `attrs`. Returns
/// `None` for a method that is not an RPC method (`#[rpc(skip)]`) or that has errors (which
/// are recorded).
pub(crate) fn method(
    attrs: &mut Vec<Attribute>,
    sig: &Signature,
    cx: &Context,
    errors: &mut Errors,
) -> Option<Method> {
    let before = errors.count();
    let options = method_options(attrs, cx.form, errors);
    if options.skip.is_some() {
        return None;
    }
    let kind = if options.property.is_some() {
        Kind::Property
    } else if options.invoke.is_some() {
        Kind::Invoke
    } else {
        Kind::Call
    };
    checks::signature(sig, kind, cx.form, errors);
    let (wire, wire_span) = wire_name(&options, kind, &sig.ident, cx.rename_all);
    let method = Method {
        ident: sig.ident.clone(),
        wire,
        wire_span,
        kind,
        args: args(sig),
        output: output(&sig.output, &options),
        run_to_completion: options.run_to_completion.is_some(),
        docs: attrs
            .iter()
            .filter(|a| a.path().is_ident("doc"))
            .cloned()
            .collect(),
        cfgs: attrs
            .iter()
            .filter(|a| a.path().is_ident("cfg"))
            .cloned()
            .collect(),
        lints: attrs
            .iter()
            .filter(|a| {
                ["allow", "expect", "warn", "deny", "deprecated"]
                    .iter()
                    .any(|n| a.path().is_ident(n))
            })
            .cloned()
            .collect(),
    };
    (errors.count() == before).then_some(method)
}

fn wire_name(
    options: &MethodOptions,
    kind: Kind,
    ident: &Ident,
    rule: RenameRule,
) -> (String, Span) {
    match (&options.name, kind) {
        (_, Kind::Invoke) => (String::new(), ident.span()),
        (Some(lit), _) => (lit.value(), lit.span()),
        (None, _) => (rule.apply(ident), ident.span()),
    }
}

fn args(sig: &Signature) -> Vec<Arg> {
    sig.inputs
        .iter()
        .filter_map(|input| match input {
            FnArg::Typed(t) => Some(t),
            FnArg::Receiver(_) => None,
        })
        .enumerate()
        .map(|(i, pat_type)| Arg {
            ident: match &*pat_type.pat {
                Pat::Ident(p) if p.subpat.is_none() && p.ident != "self" => p.ident.clone(),
                _ => format_ident!("arg{}", i),
            },
            ty: (*pat_type.ty).clone(),
        })
        .collect()
}

fn output(ret: &ReturnType, options: &MethodOptions) -> Output {
    let ty: Type = match ret {
        ReturnType::Default => syn::parse_quote!(()),
        ReturnType::Type(_, ty) => (**ty).clone(),
    };
    // `#[rpc(data)]`: the type is taken literally, as plain serde data.
    let result = if options.data.is_some() {
        None
    } else {
        result_types(&ty)
    };
    let ok_ty = result.map_or_else(|| ty.clone(), |(t, _)| t.clone());
    let err_ty = result.and_then(|(_, e)| e.cloned());
    let capability = match (options.capability, options.data) {
        (Some(_), _) => true,
        (_, Some(_)) => false,
        _ => looks_like_capability(&ok_ty),
    };
    Output {
        is_result: result.is_some(),
        ok_ty,
        err_ty,
        ty,
        capability,
    }
}

/// `T` and `E` of a `Result<T, E>`, or `T` of an alias such as `io::Result<T>` or
/// `AppResult<T>`: any path whose last segment is named `Result` or ends in `Result`, with a
/// type as its first generic argument.
fn result_types(ty: &Type) -> Option<(&Type, Option<&Type>)> {
    let Type::Path(path) = ungroup(ty) else {
        return None;
    };
    if path.qself.is_some() {
        return None;
    }
    let last = path.path.segments.last()?;
    if !last.ident.unraw().to_string().ends_with("Result") {
        return None;
    }
    let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    let mut types = args.args.iter().map(|a| match a {
        syn::GenericArgument::Type(t) => Some(t),
        _ => None,
    });
    let ok = types.next()??;
    Some((ok, types.next().flatten()))
}

/// The naming rule that tells capabilities from data: a type whose name ends in `Client` (as
/// every type `#[rpc_interface]` generates does) or is `Stub`.
fn looks_like_capability(ty: &Type) -> bool {
    match ungroup(ty) {
        Type::Path(p) if p.qself.is_none() => p.path.segments.last().is_some_and(|s| {
            let name = s.ident.unraw().to_string();
            (name.ends_with("Client") && name.len() > "Client".len()) || name == "Stub"
        }),
        _ => false,
    }
}

fn ungroup(ty: &Type) -> &Type {
    match ty {
        Type::Group(g) => ungroup(&g.elem),
        Type::Paren(p) => ungroup(&p.elem),
        other => other,
    }
}

impl Method {
    /// The name used in messages about the method (its Rust name, without `r#`).
    pub(crate) fn display_name(&self) -> String {
        self.ident.unraw().to_string()
    }
}

impl Arg {
    /// The parameter's name as a string, for decoding error messages.
    pub(crate) fn name(&self) -> String {
        self.ident.unraw().to_string()
    }
}
