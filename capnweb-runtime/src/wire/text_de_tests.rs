//! Reading typed data straight from wire text must give what the tree deserializer gives, or
//! give up and leave it to the tree.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Debug;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::payload::WireText;
use super::text_de::from_wire_text;
use crate::value::test_fixtures::{Shape, User, sample_user};
use crate::value::{BigInt, Date, Value, from_value};

/// Asserts that `text` reads directly as `T`, and equal to what the tree deserializer reads.
fn same_as_tree<T: DeserializeOwned + PartialEq + Debug>(text: &str) -> T {
    let tree = crate::wire::deserialize(text).expect("valid wire text");
    let expected: T = from_value(tree).expect("the tree path reads it");
    let direct: T = from_wire_text(text).unwrap_or_else(|| panic!("gave up on {text}"));
    assert_eq!(direct, expected, "{text}");
    direct
}

/// Asserts that the direct read leaves `text` to the tree deserializer.
fn left_to_tree<T: DeserializeOwned + Debug>(text: &str) {
    assert!(from_wire_text::<T>(text).is_none(), "{text}");
}

/// `value` written as the typed layer writes it.
fn wire<T: Serialize>(value: &T) -> String {
    crate::wire::serialize(&crate::value::to_value(value).unwrap()).unwrap()
}

#[derive(Serialize, Deserialize, PartialEq, Debug)]
#[serde(untagged)]
enum Loose {
    List(Vec<u8>),
    Named { n: i64 },
}

#[derive(Serialize, Deserialize, PartialEq, Debug)]
#[serde(tag = "kind")]
enum Tagged {
    A { xs: Vec<Vec<u16>> },
    B,
}

#[derive(Serialize, Deserialize, PartialEq, Debug)]
struct Flat {
    id: u8,
    #[serde(flatten)]
    rest: BTreeMap<String, Vec<bool>>,
}

#[test]
fn structs_enums_and_collections_read_directly() {
    same_as_tree::<User>(&wire(&sample_user()));
    same_as_tree::<Vec<User>>(&wire(&vec![sample_user(), sample_user()]));
    for shape in [
        Shape::Dot,
        Shape::Circle(2.5),
        Shape::Rect(1.0, 2.0),
        Shape::Poly {
            points: vec![(1, -2), (3, 4)],
            closed: true,
        },
    ] {
        // A unit variant is a bare string, which stays a tree; wrap each in an array.
        same_as_tree::<Vec<Shape>>(&wire(&vec![shape]));
    }
    same_as_tree::<Vec<Loose>>(&wire(&vec![
        Loose::List(vec![1, 2]),
        Loose::Named { n: -3 },
    ]));
    same_as_tree::<Vec<Tagged>>(&wire(&vec![
        Tagged::A {
            xs: vec![vec![1], vec![], vec![2, 3]],
        },
        Tagged::B,
    ]));
    let mut rest = BTreeMap::new();
    rest.insert("x".to_string(), vec![true, false]);
    same_as_tree::<Flat>(&wire(&Flat { id: 3, rest }));
    same_as_tree::<HashMap<u32, Vec<String>>>(r#"{"1":[["a"]],"22":[[]]}"#);
    same_as_tree::<BTreeMap<String, Option<f64>>>(r#"{"a":null,"b":1.5,"c":2}"#);
    same_as_tree::<(u8, String, Vec<()>)>(r#"[[1,"s",[[null,null]]]]"#);
    same_as_tree::<Vec<Vec<Vec<i8>>>>(r#"[[[[[[1,-2]],[[]]]],[[]]]]"#);
}

#[test]
fn serde_json_values_read_with_the_numbers_the_tree_gives() {
    let text = r#"{"i":1,"neg":-2,"f":1.5,"big":12345678901234567890,"safe":9007199254740991,
        "unsafe":9007199254740993,"e":1e3,"frac":-0.5,"zero":0,"nested":[[{"a":[[true,null]]}]]}"#;
    let value = same_as_tree::<serde_json::Value>(text);
    // Integers beyond 2^53 are doubles on the wire, as in JavaScript.
    assert!(value["big"].is_f64());
    assert!(value["unsafe"].is_f64());
    assert_eq!(value["safe"].as_u64(), Some(9_007_199_254_740_991));
    assert_eq!(value["e"].as_u64(), Some(1000));
    assert_eq!(value["neg"].as_i64(), Some(-2));
    assert_eq!(value["nested"][0]["a"][1], serde_json::Value::Null);
}

#[test]
fn integer_targets_accept_what_the_tree_accepts() {
    same_as_tree::<Vec<u64>>("[[0,9007199254740991,1e3]]");
    same_as_tree::<Vec<i32>>("[[-5,7]]");
    same_as_tree::<Vec<f32>>("[[1,2.5]]");
    // The tree reads these integral doubles as integers; the direct read gives up on them.
    let text = "[[12345678901234567890]]";
    left_to_tree::<Vec<u64>>(text);
    let from_wire: Vec<u64> = WireText::received(text).read().unwrap();
    assert_eq!(from_wire, vec![12_345_678_901_234_567_168]);
}

#[test]
fn special_types_and_mismatches_are_left_to_the_tree() {
    left_to_tree::<Value>(r#"{"a":1}"#);
    left_to_tree::<BTreeMap<String, Value>>(r#"{"a":1}"#);
    left_to_tree::<BTreeMap<String, BigInt>>(r#"{"a":"12"}"#);
    left_to_tree::<Vec<Date>>("[[0]]");
    left_to_tree::<Box<serde_json::value::RawValue>>(r#"{"a":[[1]]}"#);
    left_to_tree::<User>(r#"{"id":"seven"}"#);
    left_to_tree::<Vec<u8>>("[[1.5]]");
}

#[test]
fn from_value_on_wire_text_matches_the_tree_errors_included() {
    let text = wire(&sample_user());
    let direct: User = WireText::received(&text).read().unwrap();
    assert_eq!(direct, sample_user());
    let tree: Value = WireText::received(&text).read().unwrap();
    assert_eq!(tree, crate::wire::deserialize(&text).unwrap());

    let bad = r#"{"id":1,"name":5}"#;
    let from_wire = WireText::received(bad).read::<User>().unwrap_err();
    let from_tree = from_value::<User>(crate::wire::deserialize(bad).unwrap()).unwrap_err();
    assert_eq!(from_wire.message(), from_tree.message());
}

/// Every member of an object, in order, duplicates included.
#[derive(Debug, PartialEq)]
struct Entries(Vec<(String, u32)>);

impl<'de> Deserialize<'de> for Entries {
    fn deserialize<D: serde::Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        struct All;
        impl<'de> serde::de::Visitor<'de> for All {
            type Value = Entries;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Entries, A::Error> {
                let mut out = Vec::new();
                while let Some(entry) = map.next_entry()? {
                    out.push(entry);
                }
                Ok(Entries(out))
            }
        }
        de.deserialize_map(All)
    }
}

#[derive(Deserialize, PartialEq, Debug)]
struct Pair {
    a: u32,
}

#[test]
fn repeated_keys_read_as_the_tree_reads_them_except_for_a_visitor_that_keeps_all() {
    // JavaScript never sends a key twice; another peer might.
    let text = r#"{"a":1,"b":2,"a":3}"#;
    let wire = || WireText::received(text);
    let tree = || crate::wire::deserialize(text).unwrap();
    // Derived structs refuse the repeat on the text path and fall back to the tree.
    left_to_tree::<Pair>(text);
    assert_eq!(wire().read::<Pair>().unwrap(), Pair { a: 3 });
    // Maps keep the last value either way.
    same_as_tree::<HashMap<String, u32>>(text);
    same_as_tree::<serde_json::Value>(text);
    // The accepted difference: a visitor that keeps every member sees the repeat only on the
    // text path (the tree holds each key once).
    assert_eq!(from_value::<Entries>(tree()).unwrap().0.len(), 2);
    assert_eq!(wire().read::<Entries>().unwrap().0.len(), 3);
}
