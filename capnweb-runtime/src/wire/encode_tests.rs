//! Tests for value encoding.

use std::sync::Arc;

use super::encode::{encode_args, encode_value};
use super::{NoRefs, RefEncoder, deserialize, serialize};
use crate::error::RpcError;
use crate::hook::Hook;
use crate::stub::{Promise, Stub};
use crate::value::{
    BigInt, Bytes, BytesKind, Date, JsError, Object, RequestValue, ResponseValue, Value,
};
use crate::wire::{Args, Payload};

/// Writes stubs as `["export",-n]` and promises as `["promise",-n]` with fresh IDs.
#[derive(Default)]
struct Exporter(i64);

impl RefEncoder for Exporter {
    fn stub(&mut self, _stub: &Stub, out: &mut String) -> Result<(), RpcError> {
        self.0 -= 1;
        out.push_str(&format!(r#"["export",{}]"#, self.0));
        Ok(())
    }
    fn promise(&mut self, _promise: &Promise, out: &mut String) -> Result<(), RpcError> {
        self.0 -= 1;
        out.push_str(&format!(r#"["promise",{}]"#, self.0));
        Ok(())
    }
    fn readable(
        &mut self,
        _stream: &crate::stream::ReadableStream,
        out: &mut String,
    ) -> Result<(), RpcError> {
        out.push_str(r#"["readable",1]"#);
        Ok(())
    }
    fn writable(
        &mut self,
        _stream: &crate::stream::WritableStream,
        out: &mut String,
    ) -> Result<(), RpcError> {
        self.0 -= 1;
        out.push_str(&format!(r#"["writable",{}]"#, self.0));
        Ok(())
    }
}

fn stub() -> Stub {
    Stub::from_hook(Hook::Error(Arc::new(RpcError::protocol("test"))))
}

fn promise() -> Promise {
    Promise::from_hook(Hook::Error(Arc::new(RpcError::protocol("test"))))
}

fn ser(v: impl Into<Value>) -> String {
    serialize(&v.into()).unwrap()
}

fn obj(entries: &[(&str, Value)]) -> Value {
    Value::Object(
        entries
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect(),
    )
}

fn nested(n: usize) -> Value {
    let mut v = Value::Number(1.0);
    for _ in 0..n {
        v = Value::Array(vec![v]);
    }
    v
}

#[test]
fn primitives() {
    assert_eq!(ser(Value::Undefined), r#"["undefined"]"#);
    assert_eq!(ser(Value::Null), "null");
    assert_eq!(ser(true), "true");
    assert_eq!(ser(1.0), "1");
    assert_eq!(ser(-0.0), "0");
    assert_eq!(ser(1e21), "1e+21");
    assert_eq!(ser(1e-7), "1e-7");
    assert_eq!(ser(0.000001), "0.000001");
    assert_eq!(ser(f64::NAN), r#"["nan"]"#);
    assert_eq!(ser(f64::INFINITY), r#"["inf"]"#);
    assert_eq!(ser(f64::NEG_INFINITY), r#"["-inf"]"#);
    assert_eq!(ser("a\"b\n"), r#""a\"b\n""#);
    assert_eq!(ser(BigInt::from(-42)), r#"["bigint","-42"]"#);
}

#[test]
fn containers() {
    assert_eq!(ser(Value::Array(vec![])), "[[]]");
    assert_eq!(ser(nested(2)), "[[[[1]]]]");
    assert_eq!(
        ser(obj(&[
            ("b", 1.0.into()),
            ("2", 2.0.into()),
            ("__proto__", 3.0.into()),
            ("u", Value::Undefined)
        ])),
        r#"{"2":2,"b":1,"u":["undefined"]}"#
    );
    let mut out = String::new();
    encode_args(
        &Args::from(vec![Value::Array(vec![1.0.into()]), "x".into()]),
        &mut NoRefs,
        &mut out,
    )
    .unwrap();
    assert_eq!(out, r#"[[[1]],"x"]"#);
    let mut out = String::new();
    encode_args(&Args::new(), &mut NoRefs, &mut out).unwrap();
    assert_eq!(out, "[]");
    // Arguments in wire form are copied as they are, beside trees.
    let text = crate::wire::to_payload(&vec![1, 2]).unwrap();
    let mut out = String::new();
    encode_args(
        &Args::from_payloads(vec![text, Payload::Tree(vec![Value::from(1)].into())]),
        &mut NoRefs,
        &mut out,
    )
    .unwrap();
    assert_eq!(out, "[[[1,2]],[[1]]]");
}

#[test]
fn special_values() {
    assert_eq!(ser(Date(None)), r#"["date",null]"#);
    assert_eq!(
        ser(Date(Some(1709212455678.0))),
        r#"["date",1709212455678]"#
    );
    assert_eq!(ser(Date(Some(f64::NAN))), r#"["date",null]"#);
    assert_eq!(ser(Bytes::new(*b"hi")), r#"["bytes","aGk"]"#);
    assert_eq!(ser(Bytes::new(vec![])), r#"["bytes",""]"#);
    assert_eq!(
        ser(Bytes::with_kind(
            vec![1, 0, 0xfe, 0xff, 0x2c, 1],
            BytesKind::Int16Array
        )),
        r#"["bytes","AQD+/ywB","Int16Array"]"#
    );
    assert_eq!(
        ser(Bytes::with_kind(vec![9, 8, 7], BytesKind::ArrayBuffer)),
        r#"["bytes","CQgH","ArrayBuffer"]"#
    );
    assert!(serialize(&Bytes::with_kind(vec![1, 2, 3], BytesKind::Float32Array).into()).is_err());
    assert_eq!(
        ser(Value::Url("https://x/".into())),
        r#"["url","https://x/"]"#
    );
    assert_eq!(
        ser(Value::Headers(vec![("a".into(), "1".into())])),
        r#"["headers",[["a","1"]]]"#
    );
    let mut req = RequestValue::new("https://x/");
    req.init.insert("method".into(), "POST".into());
    req.init.insert(
        "headers".into(),
        Value::Headers(vec![("a".into(), "b".into())]),
    );
    req.init.insert("body".into(), Value::Array(vec![]));
    req.init.insert(
        "cf".into(),
        obj(&[
            ("l", Value::Array(vec![1.0.into()])),
            ("u", Value::Undefined),
        ]),
    );
    req.init.insert("skip".into(), Value::Undefined);
    assert_eq!(
        ser(Value::Request(Box::new(req))),
        r#"["request","https://x/",{"method":"POST","headers":[["a","b"]],"body":[[]],"cf":{"l":[1]}}]"#
    );
    let mut resp = ResponseValue::new(Value::Null);
    resp.init.insert("status".into(), 404.0.into());
    assert_eq!(
        ser(Value::Response(Box::new(resp))),
        r#"["response",null,{"status":404}]"#
    );
    let mut bad = RequestValue::new("u");
    bad.init.insert("x".into(), BigInt::from(1).into());
    assert!(serialize(&Value::Request(Box::new(bad))).is_err());
}

#[test]
fn errors() {
    assert_eq!(
        ser(JsError::new("RangeError", "r")),
        r#"["error","RangeError","r"]"#
    );
    assert_eq!(
        ser(JsError::new("E", "m").with_stack("s")),
        r#"["error","E","m","s"]"#
    );
    assert_eq!(
        ser(JsError::new("NotFoundError", "nf").with_prop("code", "E_NOT_FOUND")),
        r#"["error","NotFoundError","nf",null,{"code":"E_NOT_FOUND"}]"#
    );
    assert_eq!(
        ser(JsError::new("E", "m")
            .with_stack("s")
            .with_prop("cause", JsError::new("TypeError", "t"))),
        r#"["error","E","m","s",{"cause":["error","TypeError","t"]}]"#
    );
    // Capabilities and over-deep values in props are dropped, and the props object goes with
    // them when nothing is left.
    let e = JsError::new("E", "m")
        .with_prop("s", stub())
        .with_prop("d", nested(300))
        .with_prop("ok", 1.0);
    assert_eq!(ser(e), r#"["error","E","m",null,{"ok":1}]"#);
    assert_eq!(
        ser(JsError::new("E", "m").with_prop("s", stub())),
        r#"["error","E","m"]"#
    );
    // A JS sender writes an empty props object for an own `__proto__` property.
    assert_eq!(
        ser(JsError::new("E", "m").with_prop("__proto__", 1.0)),
        r#"["error","E","m",null,{}]"#
    );
    // Props values are one level below the error.
    let deep = |n: usize| JsError::new("E", "m").with_prop("p", nested(n));
    assert_eq!(ser(deep(254)).matches("[[").count(), 254);
    assert_eq!(ser(deep(255)), r#"["error","E","m"]"#);
}

#[test]
fn capabilities() {
    let v = obj(&[("s", stub().into()), ("p", promise().into())]);
    let mut out = String::new();
    encode_value(&v, &mut Exporter::default(), &mut out).unwrap();
    assert_eq!(out, r#"{"s":["export",-1],"p":["promise",-2]}"#);
    // Without a session they are refused, and nothing is appended.
    let mut out = String::from("prefix");
    let e = encode_value(&v, &mut NoRefs, &mut out).unwrap_err();
    assert_eq!(e.message(), "Can't serialize RPC stubs in this context.");
    assert_eq!(out, "prefix");
    let mut out = String::from("p");
    assert!(
        encode_args(
            &Args::from(vec![1.0.into(), stub().into()]),
            &mut NoRefs,
            &mut out
        )
        .is_err()
    );
    assert_eq!(out, "p");
}

#[test]
fn depth_limit_exactly() {
    // The innermost number of `nested(n)` sits at depth n.
    assert!(serialize(&nested(255)).is_ok());
    let e = serialize(&nested(256)).unwrap_err();
    assert_eq!(
        e.message(),
        "Serialization exceeded maximum allowed depth. (Does the message contain cycles?)"
    );
    // Call arguments start at depth 1.
    let mut out = String::new();
    assert!(encode_args(&Args::from(vec![nested(254)]), &mut NoRefs, &mut out).is_ok());
    assert!(encode_args(&Args::from(vec![nested(255)]), &mut NoRefs, &mut out).is_err());
    let mut o = Object::new();
    o.insert("a".into(), nested(254));
    assert!(serialize(&Value::Object(o.clone())).is_ok());
    o.insert("a".into(), nested(255));
    assert!(serialize(&Value::Object(o)).is_err());
}

/// Every plain-data expression in wire-trace.txt (values.*, errors.*, raw.*), byte for byte.
const TRACE_VALUES: &[&str] = &[
    r#""héllo ✓ \"quoted\"\nnewline""#,
    "-1.5",
    "42",
    "null",
    "true",
    r#"["bigint","-42"]"#,
    r#"["bigint","12345678901234567890123456789"]"#,
    r#"["bytes","AAECf4D+/w"]"#,
    r#"["date",1709212455678]"#,
    r#"["error","RangeError","an error returned as a value, not thrown"]"#,
    r#"["undefined"]"#,
    "[[1,2,3]]",
    "[[10,20,30]]",
    r#"[[["inf"],["-inf"],["nan"],0]]"#,
    r#"{"a":1,"list":[[1,"two",[[3,[[4]]]],{"five":5}]],"empty":[[]],"emptyObj":{},"deep":{"x":{"y":{"z":"bottom"}}}}"#,
    r#"{"i16":["bytes","AQD+/ywB","Int16Array"],"f64":["bytes","AAAAAAAA+D8AAAAAAADQvw","Float64Array"],"ab":["bytes","CQgH","ArrayBuffer"],"url":["url","https://example.com/a?b=c"],"headers":["headers",[["content-type","text/plain"],["x-custom","1"]]],"req":["request","https://example.com/x",{"method":"DELETE","headers":[["x-foo","bar"]]}],"resp":["response",null,{"status":404,"statusText":"Not Found"}]}"#,
    r#"{"n":1,"s":"x","t":true,"z":null,"u":["undefined"],"arr":[[1,[[2,[[3]]]]]],"empty":[[]],"big":["bigint","-9007199254740993"],"d":["date",0],"b":["bytes","aGk"],"inf":["inf"],"nan":["nan"],"obj":{"k":[[{"deep":[["y"]]}]]}}"#,
    r#"{"id":1,"bio":"First programmer","joined":["date",1579089600000],"tags":[["math","engines"]]}"#,
    r#""a thrown string""#,
    r#"["error","Error","bad RPC message: [\"bogus\"]"]"#,
    r#"["error","NotFoundError","no user with id 999",null,{"code":"E_NOT_FOUND"}]"#,
    r#"["error","TypeError","unknown special value: [\"whatever\",1]"]"#,
    r#"["error","SyntaxError","Cannot convert 12abc to a BigInt"]"#,
    r#"["error","TypeError","'toString' is not a function."]"#,
];

#[test]
fn trace_values_round_trip_byte_for_byte() {
    for text in TRACE_VALUES {
        let value = deserialize(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(serialize(&value).unwrap(), *text);
    }
}
