//! Direct serialization to wire text must write exactly what `to_value` + the encoder write,
//! or give up and leave it to them.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde::Serialize;

use super::text_ser::to_wire_text;
use crate::error::RpcError;
use crate::hook::Hook;
use crate::stub::{Promise, Stub};
use crate::value::test_fixtures::{Shape, sample_user};
use crate::value::{BigInt, Bytes, Date, Undefined, Value, to_value};

/// Asserts that `value` is written directly, byte for byte as the tree path writes it, and
/// reads back as the same tree.
fn same_as_tree<T: Serialize>(value: &T) {
    let tree = to_value(value).expect("the tree path serializes it");
    let expected = crate::wire::serialize(&tree).expect("the tree encodes");
    let direct = to_wire_text(value).unwrap_or_else(|| panic!("gave up on {expected}"));
    assert_eq!(direct, expected);
    assert_eq!(crate::wire::deserialize(&direct).unwrap(), tree);
}

/// Asserts that direct serialization leaves `value` to the tree path.
fn left_to_tree<T: Serialize>(value: &T) {
    assert_eq!(to_wire_text(value), None);
}

#[derive(Serialize)]
struct Wrapper(Vec<u8>);

#[derive(Serialize, PartialEq, Eq, PartialOrd, Ord)]
enum Key {
    Alpha,
    Beta,
}

#[test]
fn structured_data_is_written_as_the_tree_path_writes_it() {
    let user = sample_user();
    same_as_tree(&user);
    // A unit is `undefined`, written directly too.
    same_as_tree(&((), "unit", [(), ()]));
    same_as_tree(&vec![Shape::Dot, Shape::Circle(2.5), Shape::Rect(1.0, 2.0)]);
    same_as_tree(&Shape::Poly {
        points: vec![(1, -2), (3, 4)],
        closed: true,
    });
    same_as_tree(&vec![
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        -0.0,
        5e-324,
        0.1,
    ]);
    same_as_tree(&vec![9_007_199_254_740_991i64, -9_007_199_254_740_991]);
    same_as_tree(&vec!['x', '\u{0}', '"']);
    same_as_tree(&BTreeMap::from([("b", 1), ("a", 2), ("ключ", 3)]));
    same_as_tree(&vec![Undefined, Undefined]);
    same_as_tree(&vec![Value::Null, Value::Bool(true)]);
    same_as_tree(&HashMap::from([(true, "yes")]));
    same_as_tree(&BTreeMap::from([('k', 1), ('é', 2)]));
    same_as_tree(&BTreeMap::from([(Key::Alpha, 1), (Key::Beta, 2)]));
    same_as_tree(&HashMap::from([(-1i64, "minus one")]));
    same_as_tree(&Vec::<Vec<u8>>::new());
    same_as_tree(&Wrapper(vec![1, 2, 3]));
    same_as_tree(&Some(vec![None, Some(1)]));
    let json: serde_json::Value = serde_json::json!({
        "s": "text", "n": 1.5, "i": -3, "b": false, "z": null,
        "a": [1, [2, [3]], {"k": []}], "o": {"deep": {"er": [{}]}}
    });
    same_as_tree(&json);
}

#[test]
fn anything_the_tree_path_must_decide_is_left_to_it() {
    // Scalars: as trees they cost nothing.
    left_to_tree(&5);
    left_to_tree(&"text");
    left_to_tree(&());
    // Integers a JS number cannot hold become bigints.
    left_to_tree(&vec![9_007_199_254_740_992u64]);
    left_to_tree(&vec![i128::MIN]);
    // Special values and capabilities.
    left_to_tree(&vec![Date::from_millis(0.0)]);
    left_to_tree(&vec![BigInt::from(1u8)]);
    left_to_tree(&vec![Bytes::new([1, 2])]);
    left_to_tree(&vec![Stub::from_hook(Hook::Error(Arc::new(
        RpcError::protocol("x"),
    )))]);
    left_to_tree(&vec![Value::Date(Date::from_millis(1.0))]);
    // Byte strings, keys JS would reorder, `__proto__`.
    left_to_tree(&vec![serde_bytes_like()]);
    left_to_tree(&HashMap::from([(1, "one")]));
    left_to_tree(&BTreeMap::from([("__proto__", 1)]));
    // Nesting at the limit.
    let mut deep = serde_json::json!([]);
    for _ in 0..300 {
        deep = serde_json::json!([deep]);
    }
    left_to_tree(&deep);
    // The special value's slot is cleared when giving up: the tree path still sees it.
    let date = vec![Date::from_millis(5.0)];
    left_to_tree(&date);
    assert_eq!(
        to_value(&date).unwrap(),
        Value::Array(vec![Value::Date(Date::from_millis(5.0))])
    );
}

/// A type whose `Serialize` writes a byte string.
fn serde_bytes_like() -> impl Serialize {
    struct Raw;
    impl Serialize for Raw {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.serialize_bytes(&[1, 2, 3])
        }
    }
    Raw
}

#[test]
fn wire_payloads_expand_wherever_a_tree_is_needed() {
    let text = super::payload::to_payload(&vec![1, 2]).unwrap();
    assert!(matches!(text, super::payload::Payload::Text(_)));
    let tree = Value::Array(vec![Value::Number(1.0), Value::Number(2.0)]);
    assert_eq!(text.to_value(), tree);
    assert_eq!(
        crate::typed::read_payload::<Vec<u8>>(text.clone()).unwrap(),
        vec![1, 2]
    );
    assert_eq!(text.into_value(), tree);
}

/// A local target called with an argument in wire form gets a tree, and a dynamic await of a
/// result in wire form gets a tree: application code never meets wire text.
#[tokio::test]
async fn local_targets_and_dynamic_awaits_see_trees() {
    let handed = Arc::new(std::sync::Mutex::new(Vec::new()));
    let record = handed.clone();
    let target = Stub::from_fn(move |args: Vec<Value>| {
        record.lock().unwrap().extend(args.iter().cloned());
        // Answer in wire form, as a typed target does.
        let result = super::payload::to_payload(&args).map(|p| {
            assert!(matches!(p, super::payload::Payload::Text(_)));
            p.into_value()
        });
        async move { result }
    });
    let data = BTreeMap::from([("a", vec![1, 2])]);
    let arg = super::payload::to_payload(&data).unwrap();
    assert!(matches!(arg, super::payload::Payload::Text(_)));
    let result = Promise::from_hook(
        target
            .hook
            .call(&[], super::args::Args::from_payloads(vec![arg])),
    )
    .await
    .unwrap();
    assert_eq!(*handed.lock().unwrap(), [to_value(&data).unwrap()]);
    assert!(matches!(result, Value::Array(_)), "{result:?}");
    assert_eq!(result, to_value(&vec![&data]).unwrap());
    // A settled result in wire form, awaited dynamically.
    let settled = Promise::from_hook(Hook::from_payload(
        super::payload::to_payload(&data).unwrap(),
    ));
    assert_eq!(settled.await.unwrap(), to_value(&data).unwrap());
}

/// What a generated target answers with a structured result settles as text (the encoder
/// copies it), and what it reads from a text argument comes straight from that text.
#[test]
fn typed_answers_and_arguments_stay_text() {
    use crate::__private::{decode, encode, respond};
    let data = BTreeMap::from([("a".to_owned(), vec![1u8, 2])]);
    let answer = respond(Ok(std::future::ready(encode(data.clone()))));
    let hook = crate::task::deliver(crate::task::CallSite::Invoke, || answer);
    assert!(matches!(hook, Hook::Text(_)), "{hook:?}");

    let args = super::args::Args::from_payloads(vec![super::payload::to_payload(&data).unwrap()]);
    assert_eq!(args.get::<BTreeMap<String, Vec<u8>>>(0).unwrap(), data);
    let read: BTreeMap<String, Vec<u8>> = decode(args, "m", 1, |args| args.next("x")).unwrap();
    assert_eq!(read, data);
    // The typed read's errors are the tree's, prefixed by the dispatch.
    let args = super::args::Args::from_payloads(vec![super::payload::to_payload(&data).unwrap()]);
    let tree_error = crate::value::from_value::<Vec<u8>>(to_value(&data).unwrap()).unwrap_err();
    assert_eq!(
        args.get::<Vec<u8>>(0).unwrap_err().message(),
        tree_error.message()
    );
    let error = decode(args, "m", 1, |args| args.next::<Vec<u8>>("x")).unwrap_err();
    assert_eq!(
        error.message(),
        format!("m(): argument 1 (`x`): {}", tree_error.message())
    );
}
