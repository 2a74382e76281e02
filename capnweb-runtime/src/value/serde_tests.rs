//! Tests for `to_value` / `from_value` and the serde impls of the special types.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::{
    BigInt, Bytes, BytesKind, Date, JsError, Object, RequestValue, ResponseValue, Undefined, Value,
    from_value, to_value,
};
use crate::error::RpcError;
use crate::hook::Hook;
use crate::stub::{Promise, Stub};

fn stub() -> Stub {
    Stub::from_hook(Hook::Error(Arc::new(RpcError::protocol("test"))))
}

fn promise() -> Promise {
    Promise::from_hook(Hook::Error(Arc::new(RpcError::protocol("test"))))
}

fn obj(entries: &[(&str, Value)]) -> Value {
    Value::Object(
        entries
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect(),
    )
}

fn n(x: f64) -> Value {
    Value::Number(x)
}

#[derive(Serialize, Deserialize, Debug, PartialEq)]
enum Shape {
    Empty,
    Circle(f64),
    Pair(i32, String),
    Rect { w: u32, h: u32 },
}

#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct Plain {
    id: u64,
    name: String,
    tags: Vec<String>,
    maybe: Option<i32>,
    nothing: (),
    shapes: Vec<Shape>,
    scores: BTreeMap<u32, f64>,
}

#[test]
fn plain_structs_and_enums() {
    let p = Plain {
        id: 7,
        name: "x".into(),
        tags: vec!["a".into()],
        maybe: None,
        nothing: (),
        shapes: vec![
            Shape::Empty,
            Shape::Circle(1.5),
            Shape::Pair(1, "p".into()),
            Shape::Rect { w: 2, h: 3 },
        ],
        scores: [(2, 0.5), (10, 1.0)].into_iter().collect(),
    };
    let v = to_value(&p).unwrap();
    let expected = obj(&[
        ("id", n(7.0)),
        ("name", "x".into()),
        ("tags", Value::Array(vec!["a".into()])),
        ("maybe", Value::Null),
        ("nothing", Value::Undefined),
        (
            "shapes",
            Value::Array(vec![
                "Empty".into(),
                obj(&[("Circle", n(1.5))]),
                obj(&[("Pair", Value::Array(vec![n(1.0), "p".into()]))]),
                obj(&[("Rect", obj(&[("w", n(2.0)), ("h", n(3.0))]))]),
            ]),
        ),
        ("scores", obj(&[("2", n(0.5)), ("10", n(1.0))])),
    ]);
    assert_eq!(v, expected);
    assert_eq!(from_value::<Plain>(v).unwrap(), p);
    // Missing options, undefined options and structs from arrays (as serde_json allows).
    let v = obj(&[
        ("id", n(1.0)),
        ("name", "n".into()),
        ("tags", Value::Array(vec![])),
        ("maybe", Value::Undefined),
        ("nothing", Value::Null),
        ("shapes", Value::Array(vec![])),
        ("scores", obj(&[])),
    ]);
    assert_eq!(from_value::<Plain>(v).unwrap().maybe, None);
    #[derive(Deserialize, Debug, PartialEq)]
    struct Point {
        x: i32,
        y: Option<i32>,
    }
    assert_eq!(
        from_value::<Point>(obj(&[("x", n(1.0))])).unwrap(),
        Point { x: 1, y: None }
    );
    assert_eq!(
        from_value::<Point>(Value::Array(vec![n(1.0), n(2.0)])).unwrap(),
        Point { x: 1, y: Some(2) }
    );
    assert!(from_value::<Point>(Value::Array(vec![n(1.0), n(2.0), n(3.0)])).is_err());
    assert_eq!(to_value(&()).unwrap(), Value::Undefined);
    from_value::<()>(Value::Null).unwrap();
    from_value::<()>(Value::Undefined).unwrap();
    assert!(from_value::<Shape>(n(1.0)).is_err());
}

#[test]
fn integers() {
    assert_eq!(
        to_value(&9007199254740991i64).unwrap(),
        n(9007199254740991.0)
    );
    assert_eq!(
        to_value(&9007199254740992i64).unwrap(),
        Value::BigInt(BigInt::from(9007199254740992i64))
    );
    assert_eq!(
        to_value(&-9007199254740992i64).unwrap(),
        Value::BigInt(BigInt::from(-9007199254740992i64))
    );
    assert_eq!(
        to_value(&u64::MAX).unwrap(),
        Value::BigInt(BigInt::from(u64::MAX))
    );
    assert_eq!(
        to_value(&u128::MAX).unwrap(),
        Value::BigInt(BigInt::from(u128::MAX))
    );
    assert_eq!(
        from_value::<u64>(to_value(&u64::MAX).unwrap()).unwrap(),
        u64::MAX
    );
    assert_eq!(
        from_value::<u128>(to_value(&u128::MAX).unwrap()).unwrap(),
        u128::MAX
    );
    assert_eq!(
        from_value::<i128>(to_value(&i128::MIN).unwrap()).unwrap(),
        i128::MIN
    );
    assert_eq!(from_value::<i8>(n(-128.0)).unwrap(), -128);
    assert_eq!(
        from_value::<u8>(Value::BigInt(BigInt::from(255))).unwrap(),
        255
    );
    for (value, target) in [
        (n(300.0), "u8"),
        (n(-1.0), "u32"),
        (n(1.5), "i64"),
        (n(f64::NAN), "i32"),
    ] {
        let e = match target {
            "u8" => from_value::<u8>(value).map(|_| ()),
            "u32" => from_value::<u32>(value).map(|_| ()),
            "i64" => from_value::<i64>(value).map(|_| ()),
            _ => from_value::<i32>(value).map(|_| ()),
        }
        .unwrap_err();
        assert!(matches!(e, RpcError::Serialization(_)), "{e:?}");
    }
    assert!(from_value::<i64>(Value::BigInt(BigInt::from(u64::MAX))).is_err());
    assert!(from_value::<u32>("1".into()).is_err());
    assert_eq!(
        from_value::<f64>(Value::BigInt(BigInt::from(5))).unwrap(),
        5.0
    );
    // Integer map keys, both ways.
    let m: HashMap<i64, bool> = [(-3, true)].into_iter().collect();
    let v = to_value(&m).unwrap();
    assert_eq!(v, obj(&[("-3", Value::Bool(true))]));
    assert_eq!(from_value::<HashMap<i64, bool>>(v).unwrap(), m);
    let bools: BTreeMap<bool, u8> = [(true, 1)].into_iter().collect();
    assert_eq!(
        from_value::<BTreeMap<bool, u8>>(to_value(&bools).unwrap()).unwrap(),
        bools
    );
    assert!(to_value(&[((1, 2), 3)].into_iter().collect::<HashMap<_, _>>()).is_err());
}

/// A byte buffer that uses `serialize_bytes` / `deserialize_byte_buf` (like serde_bytes).
#[derive(Debug, PartialEq)]
struct Buf(Vec<u8>);

impl Serialize for Buf {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(&self.0)
    }
}

impl<'de> Deserialize<'de> for Buf {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Buf, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Buf;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("bytes")
            }
            fn visit_byte_buf<E: serde::de::Error>(self, v: Vec<u8>) -> Result<Buf, E> {
                Ok(Buf(v))
            }
        }
        d.deserialize_byte_buf(V)
    }
}

#[test]
fn bytes() {
    assert_eq!(
        to_value(&Buf(vec![1, 2])).unwrap(),
        Value::Bytes(Bytes::new(vec![1, 2]))
    );
    assert_eq!(
        from_value::<Buf>(Value::Bytes(Bytes::new(vec![3]))).unwrap(),
        Buf(vec![3])
    );
    assert_eq!(
        from_value::<Vec<u8>>(Value::Bytes(Bytes::new(vec![4, 5]))).unwrap(),
        vec![4, 5]
    );
    let typed = Bytes::with_kind(vec![0; 8], BytesKind::Float64Array);
    assert_eq!(to_value(&typed).unwrap(), Value::Bytes(typed.clone()));
    assert_eq!(
        from_value::<Bytes>(Value::Bytes(typed.clone())).unwrap(),
        typed
    );
    assert_eq!(
        from_value::<Bytes>(Value::Array(vec![n(1.0), n(255.0)])).unwrap(),
        Bytes::new(vec![1, 255])
    );
    assert!(from_value::<Bytes>(Value::Array(vec![n(256.0)])).is_err());
}

#[derive(Serialize, Deserialize, Debug)]
struct Special {
    big: BigInt,
    when: Date,
    never: Date,
    data: Bytes,
    nothing: Undefined,
    err: JsError,
    cap: Stub,
    later: Promise,
    any: Value,
    opt_cap: Option<Stub>,
}

#[test]
fn special_types_inside_structs() {
    let s = Special {
        big: BigInt::from(u128::MAX),
        when: Date(Some(5.0)),
        never: Date(None),
        data: Bytes::with_kind(vec![1, 0], BytesKind::Uint16Array),
        nothing: Undefined,
        err: JsError::new("TypeError", "bad").with_prop("code", 3.0),
        cap: stub(),
        later: promise(),
        any: Value::Array(vec![Value::Url("https://x/".into()), stub().into()]),
        opt_cap: Some(stub()),
    };
    let v = to_value(&s).unwrap();
    let Value::Object(map) = &v else {
        panic!("not an object")
    };
    assert_eq!(map["big"], Value::BigInt(BigInt::from(u128::MAX)));
    assert_eq!(map["when"], Value::Date(Date(Some(5.0))));
    assert_eq!(map["never"], Value::Date(Date(None)));
    assert_eq!(map["data"], Value::Bytes(s.data.clone()));
    assert_eq!(map["nothing"], Value::Undefined);
    assert_eq!(map["err"], Value::Error(Box::new(s.err.clone())));
    assert!(matches!(&map["cap"], Value::Stub(c) if c.same_target(&s.cap)));
    assert!(matches!(&map["later"], Value::Promise(p) if p.same_target(&s.later)));
    assert_eq!(map["any"], s.any);
    let back: Special = from_value(v).unwrap();
    assert_eq!(back.big, s.big);
    assert_eq!((back.when, back.never), (s.when, s.never));
    assert_eq!(back.data, s.data);
    assert_eq!(back.err, s.err);
    assert!(back.cap.same_target(&s.cap));
    assert!(back.later.same_target(&s.later));
    assert_eq!(back.any, s.any);
    assert!(
        back.opt_cap
            .is_some_and(|c| c.same_target(s.opt_cap.as_ref().unwrap()))
    );
    // Wrong kinds are refused with a serialization error.
    assert!(matches!(
        from_value::<Stub>(n(1.0)),
        Err(RpcError::Serialization(_))
    ));
    assert!(from_value::<Promise>(stub().into()).is_err());
    assert!(from_value::<Date>("x".into()).is_err());
    // Lenient conversions from plain forms.
    assert_eq!(
        from_value::<BigInt>("0x10".into()).unwrap(),
        BigInt::from(16)
    );
    assert_eq!(from_value::<BigInt>(n(12.0)).unwrap(), BigInt::from(12));
    assert_eq!(from_value::<Date>(n(1.9)).unwrap(), Date(Some(1.0)));
}

#[test]
fn values_round_trip_through_serde() {
    let mut req = RequestValue::new("https://x/");
    req.init.insert("method".into(), "PUT".into());
    let all = vec![
        Value::Undefined,
        Value::Null,
        Value::Bool(false),
        n(1.5),
        n(-0.0),
        n(f64::NAN),
        n(1e300),
        Value::BigInt(BigInt::from(-5)),
        "s".into(),
        Value::Array(vec![n(1.0), Value::Undefined]),
        obj(&[("k", Value::Null)]),
        Value::Date(Date(None)),
        Value::Bytes(Bytes::new(vec![9])),
        JsError::new("E", "m").with_stack("s").into(),
        Value::Url("u".into()),
        Value::Headers(vec![("a".into(), "b".into())]),
        Value::Request(Box::new(req)),
        Value::Response(Box::new(ResponseValue::new("body"))),
        stub().into(),
        promise().into(),
    ];
    for v in all {
        assert_eq!(to_value(&v).unwrap(), v, "to_value {v:?}");
        assert_eq!(
            from_value::<Value>(v.clone()).unwrap(),
            v,
            "from_value {v:?}"
        );
        // Nested inside a Rust container too.
        let wrapped = vec![v.clone()];
        assert_eq!(
            from_value::<Vec<Value>>(to_value(&wrapped).unwrap()).unwrap(),
            wrapped
        );
    }
    let m: Object = [("a".to_owned(), n(1.0))].into_iter().collect();
    let back: BTreeMap<String, Value> = from_value(Value::Object(m.clone())).unwrap();
    assert_eq!(back.get("a"), Some(&n(1.0)));
}

#[test]
fn buffered_serde_paths_keep_capabilities() {
    #[derive(Deserialize)]
    #[serde(untagged)]
    #[allow(dead_code)]
    enum Either {
        WithCount { cap: Stub, count: u32 },
        Bare { cap: Stub },
    }
    let cap = stub();
    let v = obj(&[("cap", cap.clone().into())]);
    match from_value::<Either>(v).unwrap() {
        Either::Bare { cap: got } => assert!(got.same_target(&cap)),
        Either::WithCount { .. } => panic!("wrong variant"),
    }
    #[derive(Deserialize, Serialize)]
    struct Inner {
        cap: Stub,
    }
    #[derive(Deserialize, Serialize)]
    struct Outer {
        name: String,
        #[serde(flatten)]
        inner: Inner,
    }
    let v = obj(&[("name", "n".into()), ("cap", cap.clone().into())]);
    let outer: Outer = from_value(v.clone()).unwrap();
    assert!(outer.inner.cap.same_target(&cap));
    assert_eq!(to_value(&outer).unwrap(), v);
    #[derive(Deserialize, Serialize)]
    #[serde(tag = "type")]
    enum Tagged {
        Holder { cap: Stub, big: BigInt },
    }
    let v = obj(&[
        ("type", "Holder".into()),
        ("cap", cap.clone().into()),
        ("big", Value::BigInt(BigInt::from(u64::MAX))),
    ]);
    let Tagged::Holder { cap: got, big } = from_value::<Tagged>(v.clone()).unwrap();
    assert!(got.same_target(&cap));
    assert_eq!(big, BigInt::from(u64::MAX));
    assert_eq!(to_value(&Tagged::Holder { cap: got, big }).unwrap(), v);
}

#[test]
fn other_formats_degrade_sensibly() {
    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct Data {
        big: BigInt,
        when: Date,
        never: Date,
        data: Bytes,
        nothing: Undefined,
        err: JsError,
    }
    let d = Data {
        big: BigInt::from(-12),
        when: Date(Some(3.0)),
        never: Date(None),
        data: Bytes::new(vec![1, 2]),
        nothing: Undefined,
        err: JsError::new("E", "m").with_prop("code", 1.0),
    };
    let json = serde_json::to_string(&d).unwrap();
    assert_eq!(
        json,
        r#"{"big":"-12","when":3.0,"never":null,"data":[1,2],"nothing":null,"err":{"name":"E","message":"m","props":{"code":1}}}"#
    );
    assert_eq!(serde_json::from_str::<Data>(&json).unwrap(), d);
    assert!(serde_json::to_string(&stub()).is_err());
    assert!(serde_json::from_str::<Stub>("1").is_err());
    let v = obj(&[
        ("a", Value::Array(vec![n(1.0), n(1.5), Value::Undefined])),
        ("d", Value::Date(Date(Some(2.0)))),
    ]);
    assert_eq!(
        serde_json::to_string(&v).unwrap(),
        r#"{"a":[1,1.5,null],"d":2.0}"#
    );
    let back: Value =
        serde_json::from_str(r#"{"a":[1,null,"x"],"b":18446744073709551615}"#).unwrap();
    assert_eq!(
        back,
        obj(&[
            ("a", Value::Array(vec![n(1.0), Value::Null, "x".into()])),
            ("b", Value::BigInt(BigInt::from(u64::MAX)))
        ])
    );
    // And our Value feeds other Deserialize impls, e.g. serde_json's.
    let j: serde_json::Value = from_value(obj(&[(
        "x",
        Value::Array(vec![n(1.0), n(0.5), Value::Null]),
    )]))
    .unwrap();
    assert_eq!(j, serde_json::json!({"x": [1, 0.5, null]}));
}
