//! The data types an interface's members use, and the declarations of the named ones.

use std::any::TypeId;
use std::collections::HashSet;

use ts_rs::{Config, TS, TypeVisitor};

/// The named types (structs and enums deriving `TS`) seen so far, each declared once, in the
/// order first seen.
pub(super) struct TypeSet {
    config: Config,
    seen: HashSet<TypeId>,
    declarations: Vec<String>,
}

impl Default for TypeSet {
    fn default() -> Self {
        TypeSet {
            // Integers wider than 32 bits travel as numbers while JavaScript holds them exactly
            // and as bigints beyond that (value/ser.rs), so either can arrive.
            config: Config::new().with_large_int("number | bigint"),
            seen: HashSet::new(),
            declarations: Vec::new(),
        }
    }
}

impl TypeSet {
    /// `T` as a TypeScript type expression, declaring the named types it uses.
    pub(super) fn use_type<T: TS + 'static + ?Sized>(&mut self) -> String {
        if TypeId::of::<T>() == TypeId::of::<()>() {
            // `()` is `undefined` on the wire (ts-rs calls it `null`); as a result, `void`.
            return "void".to_owned();
        }
        self.visit::<T>();
        T::name(&self.config)
    }

    /// `export type ...` declarations, each with its doc comment.
    pub(super) fn declarations(&self) -> impl Iterator<Item = &str> {
        self.declarations.iter().map(String::as_str)
    }
}

impl TypeVisitor for TypeSet {
    fn visit<T: TS + 'static + ?Sized>(&mut self) {
        // Only named types have an output path; anything else (`Vec<T>`, `Option<T>`,
        // primitives) is written inline and only its parts need declaring.
        if T::output_path().is_some() {
            // Generic types are declared once, with their parameters.
            if !self.seen.insert(TypeId::of::<T::WithoutGenerics>()) {
                return;
            }
            let mut decl = T::docs().unwrap_or_default();
            decl.push_str("export ");
            decl.push_str(&T::decl(&self.config));
            self.declarations.push(decl);
        }
        T::visit_dependencies(self);
        T::visit_generics(self);
    }
}
