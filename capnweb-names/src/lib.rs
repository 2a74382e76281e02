//! Property names whose handling JavaScript fixes, shared by `capnweb-runtime` (which refuses
//! to deliver them) and `capnweb-macros` (which refuses them as wire names at compile time).
//!
//! A crate of its own because a proc-macro crate can export nothing but macros, and the runtime
//! depends on the macros, so neither can take the list from the other. No dependencies, so it
//! costs the build next to nothing.

/// The members of JavaScript's `Object.prototype` that are reachable as properties of any
/// object. A JavaScript peer resolves them through the prototype chain instead of as the
/// object's own properties, so capnweb never exposes them on a target (protocol.md section
/// 6.2), and a received object that sets them could change its behaviour or prototype.
pub const OBJECT_PROTOTYPE_NAMES: [&str; 12] = [
    "__proto__",
    "__defineGetter__",
    "__defineSetter__",
    "__lookupGetter__",
    "__lookupSetter__",
    "constructor",
    "hasOwnProperty",
    "isPrototypeOf",
    "propertyIsEnumerable",
    "toLocaleString",
    "toString",
    "valueOf",
];

/// Object keys a JavaScript receiver drops from a received object: the
/// [`OBJECT_PROTOTYPE_NAMES`] and `toJSON` (which `JSON.stringify` would call, so a
/// received value could change how it is later encoded).
pub const DROPPED_OBJECT_KEYS: [&str; 13] = {
    let mut keys = [""; 13];
    let mut i = 0;
    while i < OBJECT_PROTOTYPE_NAMES.len() {
        keys[i] = OBJECT_PROTOTYPE_NAMES[i];
        i += 1;
    }
    keys[12] = "toJSON";
    keys
};

/// True if `name` is one of the [`OBJECT_PROTOTYPE_NAMES`].
pub fn is_object_prototype_name(name: &str) -> bool {
    OBJECT_PROTOTYPE_NAMES.contains(&name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prototype_names() {
        assert!(is_object_prototype_name("toString"));
        assert!(is_object_prototype_name("__proto__"));
        assert!(!is_object_prototype_name("toJSON"));
        assert!(!is_object_prototype_name("tostring"));
        assert!(!is_object_prototype_name(""));
    }

    #[test]
    fn dropped_keys_are_the_prototype_names_and_to_json() {
        assert_eq!(DROPPED_OBJECT_KEYS[..12], OBJECT_PROTOTYPE_NAMES);
        assert_eq!(DROPPED_OBJECT_KEYS[12], "toJSON");
    }
}
