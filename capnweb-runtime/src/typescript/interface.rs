//! One interface: what `#[rpc_interface(typescript)]` describes, and its TypeScript text.

use ts_rs::TS;

use super::types::TypeSet;

/// One interface being described. The code `#[rpc_interface(typescript)]` generates fills it
/// in ([`super::TypeScriptInterface::describe`]); [`super::Declarations`] renders it.
pub struct Interface {
    name: String,
    doc: String,
    members: Vec<Member>,
    pub(super) types: TypeSet,
}

/// How a member is written.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Method,
    Property,
    Invoke,
}

struct Member {
    kind: Kind,
    name: String,
    doc: String,
    params: Vec<Param>,
    result: String,
}

struct Param {
    name: String,
    ty: String,
    /// Written as `Option<T>` in Rust: `None` travels as `undefined`.
    optional: bool,
}

impl Interface {
    pub(super) fn new(types: TypeSet) -> Interface {
        Interface {
            name: String::new(),
            doc: String::new(),
            members: Vec::new(),
            types,
        }
    }

    /// Names the interface (the Rust trait's name) and gives its doc comment.
    pub fn name(&mut self, name: &str, doc: &str) {
        self.name = name.to_owned();
        self.doc = doc.to_owned();
    }

    /// Adds a method called `name` on the wire.
    pub fn method(&mut self, name: &str, doc: &str) -> MemberBuilder<'_> {
        self.member(Kind::Method, name, doc)
    }

    /// Adds a property (`#[rpc(property)]`) called `name` on the wire.
    pub fn property(&mut self, name: &str, doc: &str) -> MemberBuilder<'_> {
        self.member(Kind::Property, name, doc)
    }

    /// Adds the call of the object itself (`#[rpc(invoke)]`).
    pub fn invoke(&mut self, doc: &str) -> MemberBuilder<'_> {
        self.member(Kind::Invoke, "", doc)
    }

    fn member(&mut self, kind: Kind, name: &str, doc: &str) -> MemberBuilder<'_> {
        self.members.push(Member {
            kind,
            name: name.to_owned(),
            doc: doc.to_owned(),
            params: Vec::new(),
            result: "void".to_owned(),
        });
        MemberBuilder { interface: self }
    }

    /// Appends `export interface Name extends RpcTarget { ... }`.
    pub(super) fn render(&self, out: &mut String) {
        write_doc(out, "", &self.doc);
        out.push_str(&format!(
            "export interface {} extends RpcTarget {{\n",
            self.name
        ));
        for member in &self.members {
            write_doc(out, "  ", &member.doc);
            out.push_str("  ");
            match member.kind {
                Kind::Property => {
                    out.push_str(&format!(
                        "readonly {}: {};\n",
                        member_name(&member.name),
                        member.result
                    ));
                }
                Kind::Method | Kind::Invoke => {
                    if member.kind == Kind::Method {
                        out.push_str(&member_name(&member.name));
                    }
                    out.push('(');
                    out.push_str(&params(&member.params));
                    out.push_str(&format!("): Promise<{}>;\n", member.result));
                }
            }
        }
        out.push_str("}\n");
    }
}

/// Adds parameters and the result type to the member just added.
pub struct MemberBuilder<'a> {
    interface: &'a mut Interface,
}

impl MemberBuilder<'_> {
    fn member(&mut self) -> &mut Member {
        self.interface
            .members
            .last_mut()
            .expect("a MemberBuilder follows the member it adds")
    }

    /// A parameter of type `T`.
    pub fn param<T: TS + 'static + ?Sized>(mut self, name: &str) -> Self {
        let ty = self.interface.types.use_type::<T>();
        self.member().params.push(Param {
            name: name.to_owned(),
            ty,
            optional: false,
        });
        self
    }

    /// A parameter of type `Option<T>`: `None` travels as `undefined`, as an omitted argument.
    pub fn optional<T: TS + 'static + ?Sized>(mut self, name: &str) -> Self {
        let ty = self.interface.types.use_type::<T>();
        self.member().params.push(Param {
            name: name.to_owned(),
            ty,
            optional: true,
        });
        self
    }

    /// The result type (of the `Ok` side, for a `Result`); `()` is `void`.
    pub fn returns<T: TS + 'static + ?Sized>(mut self) {
        let ty = self.interface.types.use_type::<T>();
        self.member().result = ty;
    }
}

/// `a: number, b?: string`: an optional parameter is written with `?` only when every
/// parameter after it is optional too (TypeScript's rule); otherwise as `T | undefined`.
fn params(params: &[Param]) -> String {
    let trailing_optional = params.iter().rev().take_while(|p| p.optional).count();
    let first_omittable = params.len() - trailing_optional;
    params
        .iter()
        .enumerate()
        .map(|(i, p)| match (p.optional, i >= first_omittable) {
            (true, true) => format!("{}?: {}", p.name, p.ty),
            (true, false) => format!("{}: {} | undefined", p.name, p.ty),
            (false, _) => format!("{}: {}", p.name, p.ty),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A member name as written in an interface: bare if it is an identifier, else quoted.
fn member_name(name: &str) -> String {
    let mut chars = name.chars();
    let identifier = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '$')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$');
    if identifier {
        name.to_owned()
    } else {
        serde_json::to_string(name).expect("a string serializes")
    }
}

/// A `/** ... */` comment of `doc` (nothing if it is empty), indented by `indent`.
fn write_doc(out: &mut String, indent: &str, doc: &str) {
    if doc.is_empty() {
        return;
    }
    // `*/` inside the text would end the comment early.
    let doc = doc.replace("*/", "*\\/");
    out.push_str(indent);
    out.push_str("/**\n");
    for line in doc.lines() {
        out.push_str(indent);
        if line.is_empty() {
            out.push_str(" *\n");
        } else {
            out.push_str(" * ");
            out.push_str(line);
            out.push('\n');
        }
    }
    out.push_str(indent);
    out.push_str(" */\n");
}

#[cfg(test)]
mod tests {
    use super::{Param, member_name, params};

    fn param(name: &str, optional: bool) -> Param {
        Param {
            name: name.into(),
            ty: "string".into(),
            optional,
        }
    }

    #[test]
    fn only_trailing_options_are_omittable() {
        let list = [param("a", true), param("b", false), param("c", true)];
        assert_eq!(
            params(&list),
            "a: string | undefined, b: string, c?: string"
        );
    }

    #[test]
    fn names_that_are_not_identifiers_are_quoted() {
        assert_eq!(member_name("getUser"), "getUser");
        assert_eq!(member_name("$meta"), "$meta");
        assert_eq!(member_name("get-user"), "\"get-user\"");
        assert_eq!(member_name("2fa"), "\"2fa\"");
    }
}
