//! The rules an RPC method must follow, each reported at the user's own tokens with a message
//! that says what to write instead.

use std::collections::HashMap;

use proc_macro2::{TokenStream, TokenTree};
use quote::ToTokens;
use syn::{FnArg, ReturnType, Signature, Type};

use crate::errors::Errors;
use crate::model::{Kind, Method};
use crate::names::{CLIENT_RESERVED, is_blocked};
use crate::options::Form;

/// Checks one method's signature.
pub(crate) fn signature(sig: &Signature, kind: Kind, form: Form, errors: &mut Errors) {
    if let Some(c) = &sig.constness {
        errors.at(c, "RPC methods cannot be `const fn`");
    }
    if let Some(u) = &sig.unsafety {
        errors.at(
            u,
            "RPC methods cannot be `unsafe`: the peer cannot uphold a safety contract",
        );
    }
    if let Some(abi) = &sig.abi {
        errors.at(abi, "RPC methods cannot have an `extern` ABI");
    }
    if sig.asyncness.is_none() {
        let hint = match form {
            Form::Inherent => {
                "; mark helper methods `#[rpc(skip)]` or move them to another `impl` block"
            }
            _ => "",
        };
        errors.at(
            &sig.fn_token,
            format!("RPC methods must be `async fn`: the caller awaits the result{hint}"),
        );
        // Whatever else is wrong follows from what the method was meant to be: one error.
        return;
    }
    if !sig.generics.params.is_empty() {
        errors.at(
            &sig.generics,
            "RPC methods cannot be generic: the peer cannot choose a type; use concrete types",
        );
    } else if let Some(w) = &sig.generics.where_clause {
        errors.at(
            w,
            "RPC methods cannot have a `where` clause; use concrete types",
        );
    }
    if let Some(v) = &sig.variadic {
        errors.at(v, "RPC methods cannot be variadic");
    }
    receiver(sig, errors);
    for input in &sig.inputs {
        if let FnArg::Typed(t) = input {
            argument_type(&t.ty, errors);
        }
    }
    if kind == Kind::Property
        && let Some(first) = sig.inputs.iter().find(|i| matches!(i, FnArg::Typed(_)))
    {
        errors.at(
            first,
            "a `#[rpc(property)]` method reads a property and takes no arguments besides `&self`",
        );
    }
    if let ReturnType::Type(_, ty) = &sig.output {
        result_type(ty, errors);
    }
}

fn receiver(sig: &Signature, errors: &mut Errors) {
    match sig.inputs.first() {
        Some(FnArg::Receiver(r)) => {
            if r.colon_token.is_some() {
                errors.at(
                    r,
                    "RPC methods take `&self`: the runtime holds the object and lends it to each call",
                );
            } else if r.reference.is_none() {
                errors.at(
                    r,
                    "RPC methods take `&self`, not `self`: the object is shared by every reference to it and is not consumed by a call",
                );
            } else if let Some(m) = &r.mutability {
                errors.at(
                    m,
                    "RPC methods take `&self`, not `&mut self`: calls can run concurrently; use interior mutability (a `Mutex` or atomics) for state",
                );
            }
        }
        _ => errors.at(
            &sig.ident,
            "RPC methods take `&self` as their first parameter: they are called on an object",
        ),
    }
}

fn argument_type(ty: &Type, errors: &mut Errors) {
    match ty {
        Type::Reference(_) => errors.at(
            ty,
            "RPC arguments are decoded into owned values: use an owned type (`String` instead of `&str`, `Vec<T>` instead of `&[T]`)",
        ),
        Type::ImplTrait(_) => errors.at(
            ty,
            "an `impl Trait` argument cannot be decoded: use a concrete type (for a callback, the interface's `...Client` type)",
        ),
        _ => self_type(ty, errors),
    }
}

fn result_type(ty: &Type, errors: &mut Errors) {
    match ty {
        Type::Reference(_) => errors.at(
            ty,
            "RPC results travel by value: return an owned type (`String` instead of `&str`)",
        ),
        Type::ImplTrait(_) => errors.at(
            ty,
            "write the result type itself: the method is `async fn`, and its result must be a concrete type that can be serialized",
        ),
        _ => self_type(ty, errors),
    }
}

/// `Self` in an interface signature would be whatever type implements it, which the peer (and
/// the generated client) cannot know.
fn self_type(ty: &Type, errors: &mut Errors) {
    fn find(tokens: TokenStream) -> Option<proc_macro2::Ident> {
        tokens.into_iter().find_map(|tt| match tt {
            TokenTree::Ident(i) if i == "Self" => Some(i),
            TokenTree::Group(g) => find(g.stream()),
            _ => None,
        })
    }
    if let Some(ident) = find(ty.to_token_stream()) {
        errors.at(
            &ident,
            "`Self` cannot appear in an RPC signature: name the concrete type (for a capability, the `...Client` type)",
        );
    }
}

/// Checks the methods of one interface (or ad-hoc target) together. Methods with errors are
/// removed, so that the generated code does not repeat the problem.
pub(crate) fn methods(methods: &mut Vec<Method>, form: Form, errors: &mut Errors) {
    let mut bad = vec![false; methods.len()];
    let mut by_wire: HashMap<&str, usize> = HashMap::new();
    let mut invoke: Option<usize> = None;
    for (i, m) in methods.iter().enumerate() {
        if m.kind == Kind::Invoke {
            match invoke {
                Some(first) => {
                    errors.at(
                        m.wire_span,
                        format!(
                            "only one method can be `#[rpc(invoke)]`; `{}` already is",
                            methods[first].display_name()
                        ),
                    );
                    bad[i] = true;
                }
                None => invoke = Some(i),
            }
            continue;
        }
        if is_blocked(&m.wire) {
            errors.at(
                m.wire_span,
                format!(
                    "the wire name `{}` cannot be used: JavaScript resolves it through `Object.prototype`, so calls to it never reach an RPC target; choose another name with `#[rpc(name = \"...\")]`",
                    m.wire
                ),
            );
            bad[i] = true;
            continue;
        }
        match by_wire.get(m.wire.as_str()) {
            Some(&first) if methods[first].cfgs.is_empty() || m.cfgs.is_empty() => {
                errors.at(
                    m.wire_span,
                    format!(
                        "duplicate wire name `{}`: method `{}` already uses it; give one of them another name with `#[rpc(name = \"...\")]`",
                        m.wire,
                        methods[first].display_name()
                    ),
                );
                bad[i] = true;
            }
            _ => {
                by_wire.insert(&m.wire, i);
            }
        }
    }
    if form == Form::Interface {
        for (i, m) in methods.iter().enumerate() {
            let name = m.display_name();
            if CLIENT_RESERVED.contains(&name.as_str()) {
                errors.at(
                    &m.ident,
                    format!(
                        "`{name}` is a method of every generated client type; call the Rust method something else and keep the wire name with `#[rpc(name = \"{}\")]`",
                        m.wire
                    ),
                );
                bad[i] = true;
            }
        }
    }
    let mut i = 0;
    methods.retain(|_| {
        i += 1;
        !bad[i - 1]
    });
}
