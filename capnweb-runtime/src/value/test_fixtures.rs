//! Typed data shared by the tests of the direct wire paths (`wire::text_ser`, `wire::text_de`).

use serde::{Deserialize, Serialize};

/// A struct with nesting, options and a tuple: plain data (no special value) on the wire.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub(crate) struct User {
    pub(super) id: u32,
    pub(super) name: String,
    pub(super) tags: Vec<String>,
    pub(super) score: f64,
    pub(super) manager: Option<Box<User>>,
    pub(super) flags: (bool, bool),
}

/// Every kind of enum variant.
#[derive(Serialize, Deserialize, Debug, PartialEq)]
pub(crate) enum Shape {
    Dot,
    Circle(f64),
    Rect(f64, f64),
    Poly {
        points: Vec<(i32, i32)>,
        closed: bool,
    },
}

/// A user with a manager, strings that need escapes, and numbers JavaScript prints oddly.
pub(crate) fn sample_user() -> User {
    User {
        id: 7,
        name: "Ada \"Countess\" Lovelace\n\u{1F600}\u{7}".into(),
        tags: vec!["a".into(), String::new()],
        score: -0.5,
        manager: Some(Box::new(User {
            id: 1,
            name: "Babbage".into(),
            tags: vec![],
            score: 1e21,
            manager: None,
            flags: (true, false),
        })),
        flags: (false, true),
    }
}
