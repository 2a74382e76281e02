//! The options of the macros themselves (`#[rpc_interface(rename_all = "...", crate = "...")]`)
//! and of each method (`#[rpc(name = "...", property, ...)]`), and where the runtime crate is.

use proc_macro2::{Span, TokenStream};
use quote::format_ident;
use syn::parse::Parser;
use syn::{Attribute, LitStr, Token};

use crate::errors::Errors;
use crate::names::{RULE_NAMES, RenameRule};

/// Which macro (and which form of it) is being expanded; decides which options are allowed.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Form {
    /// `#[rpc_interface]` on a trait.
    Interface,
    /// `#[rpc_target]` on `impl Trait for Type`.
    TraitImpl,
    /// `#[rpc_target]` on an inherent `impl Type`.
    Inherent,
}

/// Options given to the macro attribute itself.
pub(crate) struct MacroOptions {
    /// How method names become wire names.
    pub(crate) rename_all: RenameRule,
    /// An explicit path to the runtime crate.
    pub(crate) krate: Option<syn::Path>,
    /// `introspect`: the dispatch table answers `$meta` with the interface's description.
    pub(crate) introspect: bool,
    /// `typescript`: the client type describes the interface for `.d.ts` generation.
    pub(crate) typescript: bool,
}

/// Parses the attribute's arguments, recording every problem and carrying on with defaults.
pub(crate) fn macro_options(args: TokenStream, form: Form, errors: &mut Errors) -> MacroOptions {
    let mut options = MacroOptions {
        rename_all: RenameRule::Camel,
        krate: None,
        introspect: false,
        typescript: false,
    };
    let mut seen_rename = false;
    let parser = syn::meta::parser(|meta| {
        if meta.path.is_ident("rename_all") {
            let lit: LitStr = meta.value()?.parse()?;
            if form == Form::TraitImpl {
                errors.at(
                    &meta.path,
                    "`rename_all` belongs on the `#[rpc_interface]` trait: the trait decides the wire names",
                );
            } else if seen_rename {
                errors.at(&meta.path, "`rename_all` is given twice");
            } else {
                seen_rename = true;
                match RenameRule::from_str(&lit.value()) {
                    Some(rule) => options.rename_all = rule,
                    None => errors.at(
                        &lit,
                        format!(
                            "unknown `rename_all` rule {:?}; expected one of: {}",
                            lit.value(),
                            RULE_NAMES
                                .iter()
                                .map(|(n, _)| format!("{n:?}"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    ),
                }
            }
        } else if meta.path.is_ident("introspect") && form == Form::Interface {
            if options.introspect {
                errors.at(&meta.path, "`introspect` is given twice");
            }
            options.introspect = true;
        } else if meta.path.is_ident("typescript") && form == Form::Interface {
            if options.typescript {
                errors.at(&meta.path, "`typescript` is given twice");
            }
            options.typescript = true;
        } else if meta.path.is_ident("crate") {
            let lit: LitStr = meta.value()?.parse()?;
            match lit.parse::<syn::Path>() {
                Ok(path) => options.krate = Some(path),
                Err(_) => errors.at(&lit, "expected a path to the capnweb runtime crate, e.g. `crate = \"::capnweb_runtime\"`"),
            }
        } else {
            let allowed = match form {
                Form::TraitImpl => "`crate = \"...\"`",
                Form::Interface => {
                    "`rename_all = \"...\"`, `crate = \"...\"`, `introspect` and `typescript`"
                }
                Form::Inherent => "`rename_all = \"...\"` and `crate = \"...\"`",
            };
            errors.at(&meta.path, format!("unknown option; expected {allowed}"));
            // Skip the option's value so that the options after it are still checked.
            if meta.input.peek(Token![=]) {
                let _: syn::Expr = meta.value()?.parse()?;
            } else if !meta.input.is_empty() && !meta.input.peek(Token![,]) {
                let _: TokenStream = meta.input.parse()?;
            }
        }
        Ok(())
    });
    if let Err(e) = parser.parse2(args) {
        errors.push(e);
    }
    options
}

/// The path generated code uses for the runtime crate: the explicit `crate = "..."`, else the
/// name the calling crate's `Cargo.toml` gives `capnweb-runtime` (so a renamed dependency
/// works), else `::capnweb_runtime`.
pub(crate) fn crate_path(explicit: Option<syn::Path>) -> syn::Path {
    if let Some(path) = explicit {
        return path;
    }
    match proc_macro_crate::crate_name("capnweb-runtime") {
        Ok(proc_macro_crate::FoundCrate::Name(name)) => {
            let ident = format_ident!("{}", name);
            syn::parse_quote!(::#ident)
        }
        // `Itself` means the runtime's own tests, examples or doc tests, which are separate
        // crates that see it as `capnweb_runtime`; an error means we cannot read the manifest.
        _ => syn::parse_quote!(::capnweb_runtime),
    }
}

/// The options of one method, from its `#[rpc(...)]` attributes.
#[derive(Default)]
pub(crate) struct MethodOptions {
    /// `name = "..."`: the wire name.
    pub(crate) name: Option<LitStr>,
    /// `property`: served and read as a property, not called.
    pub(crate) property: Option<Span>,
    /// `invoke`: the object itself is the function (an empty call path).
    pub(crate) invoke: Option<Span>,
    /// `capability`: the result is a capability, whatever its type is called.
    pub(crate) capability: Option<Span>,
    /// `data`: the result is data, whatever its type is called.
    pub(crate) data: Option<Span>,
    /// `skip`: not an RPC method (inherent `#[rpc_target]` impls only).
    pub(crate) skip: Option<Span>,
    /// `run_to_completion`: the method keeps running when its session ends.
    pub(crate) run_to_completion: Option<Span>,
}

/// Removes the `#[rpc(...)]` attributes from `attrs` and parses them.
pub(crate) fn method_options(
    attrs: &mut Vec<Attribute>,
    form: Form,
    errors: &mut Errors,
) -> MethodOptions {
    let mut options = MethodOptions::default();
    let mut rest = Vec::with_capacity(attrs.len());
    for attr in attrs.drain(..) {
        if !attr.path().is_ident("rpc") {
            rest.push(attr);
            continue;
        }
        if form == Form::TraitImpl {
            errors.at(
                &attr,
                "`#[rpc(...)]` belongs on the method in the `#[rpc_interface]` trait: the trait decides how a method travels",
            );
            continue;
        }
        if let Err(e) = attr.parse_nested_meta(|meta| {
            let flag = |slot: &mut Option<Span>, errors: &mut Errors| {
                if slot.is_some() {
                    errors.at(&meta.path, "this option is given twice");
                }
                *slot = Some(meta.path_span());
            };
            if meta.path.is_ident("name") {
                let lit: LitStr = meta.value()?.parse()?;
                if options.name.is_some() {
                    errors.at(&meta.path, "`name` is given twice");
                } else if lit.value().is_empty() {
                    errors.at(&lit, "the wire name cannot be empty (use `#[rpc(invoke)]` for a function-like object)");
                }
                options.name = Some(lit);
            } else if meta.path.is_ident("property") {
                flag(&mut options.property, errors);
            } else if meta.path.is_ident("invoke") {
                flag(&mut options.invoke, errors);
            } else if meta.path.is_ident("capability") {
                flag(&mut options.capability, errors);
            } else if meta.path.is_ident("data") {
                flag(&mut options.data, errors);
            } else if meta.path.is_ident("run_to_completion") {
                flag(&mut options.run_to_completion, errors);
            } else if meta.path.is_ident("skip") && form == Form::Inherent {
                flag(&mut options.skip, errors);
            } else {
                let skip = if form == Form::Inherent { ", `skip`" } else { "" };
                errors.at(
                    &meta.path,
                    format!("unknown option; expected `name = \"...\"`, `property`, `invoke`, `capability`, `data`, `run_to_completion`{skip}"),
                );
                if meta.input.peek(Token![=]) {
                    let _: syn::Expr = meta.value()?.parse()?;
                }
            }
            Ok(())
        }) {
            errors.push(e);
        }
    }
    *attrs = rest;
    if let (Some(_), Some(span)) = (options.property, options.invoke) {
        errors.at(span, "a method cannot be both `property` and `invoke`");
    }
    if let (Some(_), Some(span)) = (options.capability, options.data) {
        errors.at(span, "a method cannot be both `capability` and `data`");
    }
    if let (Some(name), Some(_)) = (&options.name, options.invoke) {
        errors.at(
            name,
            "an `invoke` method has no wire name: the peer calls the object itself",
        );
    }
    options
}

trait PathSpan {
    fn path_span(&self) -> Span;
}

impl PathSpan for syn::meta::ParseNestedMeta<'_> {
    fn path_span(&self) -> Span {
        self.path
            .segments
            .first()
            .map_or_else(Span::call_site, |s| s.ident.span())
    }
}
