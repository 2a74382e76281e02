//! Wire names: the `rename_all` rules, and the names that cannot be used.

use proc_macro2::Ident;
use syn::ext::IdentExt;

/// How Rust method names become wire names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RenameRule {
    /// `get_user` -> `getUser` (the default: what JavaScript callers expect).
    Camel,
    /// `get_user` -> `GetUser`.
    Pascal,
    /// `get_user` -> `get_user` (unchanged).
    Snake,
    /// `get_user` -> `GET_USER`.
    ScreamingSnake,
    /// `get_user` -> `get-user`.
    Kebab,
    /// `get_user` -> `GET-USER`.
    ScreamingKebab,
    /// `get_user` -> `get_user` (lowercased).
    Lower,
    /// `get_user` -> `GET_USER` (uppercased).
    Upper,
}

/// The spellings `rename_all` accepts (the same as serde's).
pub(crate) const RULE_NAMES: &[(&str, RenameRule)] = &[
    ("camelCase", RenameRule::Camel),
    ("PascalCase", RenameRule::Pascal),
    ("snake_case", RenameRule::Snake),
    ("SCREAMING_SNAKE_CASE", RenameRule::ScreamingSnake),
    ("kebab-case", RenameRule::Kebab),
    ("SCREAMING-KEBAB-CASE", RenameRule::ScreamingKebab),
    ("lowercase", RenameRule::Lower),
    ("UPPERCASE", RenameRule::Upper),
];

impl RenameRule {
    /// Parses a `rename_all` value.
    pub(crate) fn from_str(name: &str) -> Option<RenameRule> {
        RULE_NAMES
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, rule)| *rule)
    }

    /// The wire name of a method called `ident` (raw identifiers lose their `r#`).
    pub(crate) fn apply(self, ident: &Ident) -> String {
        let name = ident.unraw().to_string();
        match self {
            RenameRule::Snake => name,
            RenameRule::Lower => name.to_ascii_lowercase(),
            RenameRule::Upper | RenameRule::ScreamingSnake => name.to_ascii_uppercase(),
            RenameRule::Kebab => name.replace('_', "-"),
            RenameRule::ScreamingKebab => name.replace('_', "-").to_ascii_uppercase(),
            RenameRule::Camel => camel(&name, false),
            RenameRule::Pascal => camel(&name, true),
        }
    }
}

/// `get_user_v2` -> `getUserV2` (or `GetUserV2`). Leading underscores are kept, so `_hidden`
/// stays distinguishable from `hidden`.
fn camel(name: &str, upper_first: bool) -> String {
    let trimmed = name.trim_start_matches('_');
    let mut out = String::with_capacity(name.len());
    out.push_str(&name[..name.len() - trimmed.len()]);
    let mut upper_next = upper_first;
    for c in trimmed.chars() {
        if c == '_' {
            upper_next = true;
        } else if upper_next {
            out.extend(c.to_uppercase());
            upper_next = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// Names JavaScript resolves through `Object.prototype`: capnweb (and our runtime) never
/// deliver calls or reads of them to a target, so a method with such a wire name could never
/// be reached.
pub(crate) use capnweb_names::is_object_prototype_name as is_blocked;

/// Inherent methods every generated client has; an interface method cannot share their name.
pub(crate) const CLIENT_RESERVED: &[&str] = &["new", "stub", "resolve"];

#[cfg(test)]
mod tests {
    use super::*;

    fn wire(rule: RenameRule, name: &str) -> String {
        rule.apply(&syn::parse_str::<Ident>(name).unwrap())
    }

    #[test]
    fn rules() {
        assert_eq!(wire(RenameRule::Camel, "get_user"), "getUser");
        assert_eq!(wire(RenameRule::Camel, "list_user_ids"), "listUserIds");
        assert_eq!(wire(RenameRule::Camel, "ping"), "ping");
        assert_eq!(wire(RenameRule::Camel, "get_v2"), "getV2");
        assert_eq!(wire(RenameRule::Camel, "_private_thing"), "_privateThing");
        assert_eq!(wire(RenameRule::Camel, "r#type"), "type");
        assert_eq!(wire(RenameRule::Camel, "alreadyCamel"), "alreadyCamel");
        assert_eq!(wire(RenameRule::Pascal, "get_user"), "GetUser");
        assert_eq!(wire(RenameRule::Snake, "get_user"), "get_user");
        assert_eq!(wire(RenameRule::ScreamingSnake, "get_user"), "GET_USER");
        assert_eq!(wire(RenameRule::Kebab, "get_user"), "get-user");
        assert_eq!(wire(RenameRule::ScreamingKebab, "get_user"), "GET-USER");
        assert_eq!(wire(RenameRule::Lower, "get_User"), "get_user");
        assert_eq!(wire(RenameRule::Upper, "get_user"), "GET_USER");
    }

    #[test]
    fn blocked() {
        assert!(is_blocked("toString"));
        assert!(!is_blocked("toJSON"));
    }
}
