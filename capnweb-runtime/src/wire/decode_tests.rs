//! Tests for expression decoding (and byte-exact re-encoding of everything the trace shows).

use super::decode::decode_expr;
use super::json::{parse, precheck};
use super::stream_decode::{decode_expr_text, decode_message_expr};
use super::{Capture, Json, Limits, NoRefs, RefDecoder, deserialize, serialize};
use crate::error::RpcError;
use crate::value::{BigInt, Bytes, BytesKind, Date, PropertyKey, Value};
use crate::wire::{Args, Payload};

/// Call arguments as trees (large plain ones may arrive as text).
fn expanded(args: Option<Args>) -> Option<Vec<Value>> {
    args.map(Args::into_values)
}

/// Records reference forms and returns a description of each as a string value; keeps the
/// arguments of each call as they arrived.
#[derive(Default)]
struct Recorder(Vec<String>, Vec<Vec<Payload>>);

impl RefDecoder for Recorder {
    fn import(
        &mut self,
        id: i64,
        path: Option<Vec<PropertyKey>>,
        args: Option<Args>,
    ) -> Result<Value, RpcError> {
        self.1
            .push(args.clone().map(Args::into_payloads).unwrap_or_default());
        let args = expanded(args);
        self.0.push(format!("import {id} {path:?} {args:?}"));
        Ok(Value::String(format!("import {id}")))
    }
    fn pipeline(
        &mut self,
        id: i64,
        path: Option<Vec<PropertyKey>>,
        args: Option<Args>,
    ) -> Result<Value, RpcError> {
        self.1
            .push(args.clone().map(Args::into_payloads).unwrap_or_default());
        let args = expanded(args);
        self.0.push(format!("pipeline {id} {path:?} {args:?}"));
        Ok(Value::String(format!("pipeline {id}")))
    }
    fn export(&mut self, id: i64) -> Result<Value, RpcError> {
        self.0.push(format!("export {id}"));
        Ok(Value::String(format!("export {id}")))
    }
    fn promise(&mut self, id: i64) -> Result<Value, RpcError> {
        self.0.push(format!("promise {id}"));
        Ok(Value::String(format!("promise {id}")))
    }
    fn remap(
        &mut self,
        id: i64,
        path: Vec<PropertyKey>,
        captures: Vec<Capture>,
        instructions: Vec<Json>,
    ) -> Result<Value, RpcError> {
        self.0.push(format!(
            "remap {id} {path:?} {captures:?} {}",
            instructions.len()
        ));
        Ok(Value::String(format!("remap {id}")))
    }
    fn writable(&mut self, id: i64) -> Result<Value, RpcError> {
        self.0.push(format!("writable {id}"));
        Ok(Value::String(format!("writable {id}")))
    }
    fn readable(&mut self, id: i64) -> Result<Value, RpcError> {
        self.0.push(format!("readable {id}"));
        Ok(Value::String(format!("readable {id}")))
    }
}

/// Evaluates `text` with the tree evaluator, after checking that the streaming evaluator
/// (which the session uses for most messages) gives the same result, the same error and the
/// same reference calls.
fn de_with(text: &str, limits: &Limits, refs: &mut dyn RefDecoder) -> Result<Value, RpcError> {
    let outcome = |r: Result<Value, RpcError>| match r {
        Ok(v) => format!("{v:?}"),
        Err(e) => format!("{}: {}", e.name(), e.message()),
    };
    let (mut by_tree, mut by_text) = (Recorder::default(), Recorder::default());
    let tree = parse(text, limits).and_then(|json| decode_expr(json, 0, limits, &mut by_tree));
    let tree = outcome(tree);
    let streamed =
        precheck(text, limits).and_then(|()| decode_expr_text(text, 0, limits, &mut by_text));
    assert_eq!(outcome(streamed), tree, "{text}");
    assert_eq!(by_text.0, by_tree.0, "{text}");
    // As a message's expression, large plain data may stay text; expanded, it is the same.
    let mut by_message = Recorder::default();
    let kept = precheck(text, limits)
        .and_then(|()| decode_message_expr(text, 0, limits, &mut by_message))
        .map(Payload::into_value);
    assert_eq!(outcome(kept), tree, "{text}");
    assert_eq!(by_message.0, by_tree.0, "{text}");
    decode_expr(parse(text, limits)?, 0, limits, refs)
}

fn de(text: &str) -> Value {
    de_with(text, &Limits::default(), &mut NoRefs).unwrap_or_else(|e| panic!("{text}: {e}"))
}

fn err(text: &str) -> (String, String) {
    let e = de_with(text, &Limits::default(), &mut Recorder::default()).expect_err(text);
    (e.name().to_owned(), e.message())
}

fn unknown(text: &str) {
    assert_eq!(
        err(text),
        ("TypeError".into(), format!("unknown special value: {text}")),
        "{text}"
    );
}

fn recorded(text: &str) -> (Value, Vec<String>) {
    let mut rec = Recorder::default();
    let v = de_with(text, &Limits::default(), &mut rec).unwrap_or_else(|e| panic!("{text}: {e}"));
    (v, rec.0)
}

#[test]
fn literals_and_arrays() {
    assert_eq!(de("null"), Value::Null);
    assert_eq!(de("true"), Value::Bool(true));
    assert_eq!(de("1.5"), Value::Number(1.5));
    assert_eq!(de(r#""x""#), Value::String("x".into()));
    assert_eq!(de("[[]]"), Value::Array(vec![]));
    assert_eq!(
        de("[[1,[[2]]]]"),
        Value::Array(vec![
            Value::Number(1.0),
            Value::Array(vec![Value::Number(2.0)])
        ])
    );
    assert_eq!(
        de(r#"[[[["a"]]]]"#),
        Value::Array(vec![Value::Array(vec![Value::String("a".into())])])
    );
    unknown("[]");
    unknown("[1]");
    unknown("[[1],2]");
    unknown(r#"["whatever",1]"#);
    unknown(r#"[null]"#);
    assert_eq!(
        err("[]"),
        ("TypeError".into(), "unknown special value: []".into())
    );
}

#[test]
fn objects_drop_prototype_keys_after_evaluating_them() {
    let text = r#"{"__proto__":{"x":["export",-1]},"toString":2,"constructor":3,"toJSON":4,"valueOf":["export",-2],"ok":5}"#;
    let (v, calls) = recorded(text);
    assert_eq!(serialize(&v).unwrap(), r#"{"ok":5}"#);
    assert_eq!(calls, vec!["export -1", "export -2"]);
    // Integer-like keys come first, ascending, as in a JS object.
    assert_eq!(
        serialize(&de(r#"{"b":1,"2":2,"1":3}"#)).unwrap(),
        r#"{"1":3,"2":2,"b":1}"#
    );
}

#[test]
fn simple_tags() {
    assert_eq!(de(r#"["undefined"]"#), Value::Undefined);
    unknown(r#"["undefined",1]"#);
    assert_eq!(de(r#"["inf",1]"#), Value::Number(f64::INFINITY));
    assert_eq!(de(r#"["-inf"]"#), Value::Number(f64::NEG_INFINITY));
    assert!(matches!(de(r#"["nan"]"#), Value::Number(n) if n.is_nan()));
    assert_eq!(
        de(r#"["url","https://x/"]"#),
        Value::Url("https://x/".into())
    );
    unknown(r#"["url",1]"#);
    unknown(r#"["url","a","b"]"#);
}

#[test]
fn bigints() {
    assert_eq!(
        de(r#"["bigint"," 0x10 "]"#),
        Value::BigInt(BigInt::from(16))
    );
    assert_eq!(de(r#"["bigint",""]"#), Value::BigInt(BigInt::from(0)));
    assert_eq!(
        err(r#"["bigint","12abc"]"#),
        (
            "SyntaxError".into(),
            "Cannot convert 12abc to a BigInt".into()
        )
    );
    unknown(r#"["bigint",12]"#);
    unknown(r#"["bigint"]"#);
    // The limit applies to the whole string, sign included.
    let max = "9".repeat(16384);
    assert_eq!(
        de(&format!(r#"["bigint","{max}"]"#)),
        Value::BigInt(BigInt(max.clone()))
    );
    let too_long = (
        "TypeError".to_owned(),
        "Deserialized bigint exceeds maximum length of 16384 digits.".to_owned(),
    );
    assert_eq!(err(&format!(r#"["bigint","-{max}"]"#)), too_long);
    assert_eq!(err(&format!(r#"["bigint","{max}1"]"#)), too_long);
    let limits = Limits {
        max_bigint_digits: 3,
        ..Limits::default()
    };
    assert!(de_with(r#"["bigint","999"]"#, &limits, &mut NoRefs).is_ok());
    assert!(de_with(r#"["bigint","-999"]"#, &limits, &mut NoRefs).is_err());
}

#[test]
fn dates() {
    assert_eq!(de(r#"["date",0]"#), Value::Date(Date(Some(0.0))));
    assert_eq!(de(r#"["date",null]"#), Value::Date(Date(None)));
    assert_eq!(de(r#"["date",1.7]"#), Value::Date(Date(Some(1.0))));
    assert_eq!(de(r#"["date",9e15]"#), Value::Date(Date(None)));
    assert_eq!(
        serialize(&de(r#"["date",-1.7,"x"]"#)).unwrap(),
        r#"["date",-1]"#
    );
    unknown(r#"["date"]"#);
    unknown(r#"["date","x"]"#);
}

#[test]
fn bytes() {
    assert_eq!(de(r#"["bytes","aGk="]"#), Value::Bytes(Bytes::new(*b"hi")));
    assert_eq!(
        serialize(&de(r#"["bytes","aGk="]"#)).unwrap(),
        r#"["bytes","aGk"]"#
    );
    assert_eq!(
        serialize(&de(r#"["bytes","a G-_k"]"#)).unwrap(),
        r#"["bytes","aG+/"]"#
    );
    assert_eq!(
        serialize(&de(r#"["bytes","AQ","Uint8Array"]"#)).unwrap(),
        r#"["bytes","AQ"]"#
    );
    assert_eq!(
        de(r#"["bytes","AQD+/ywB","Int16Array"]"#),
        Value::Bytes(Bytes::with_kind(
            vec![1, 0, 0xfe, 0xff, 0x2c, 1],
            BytesKind::Int16Array
        ))
    );
    for kind in BytesKind::ALL {
        let size = kind.element_size();
        let text = serialize(&Value::Bytes(Bytes::with_kind(vec![7; size * 2], kind))).unwrap();
        assert_eq!(
            de(&text),
            Value::Bytes(Bytes::with_kind(vec![7; size * 2], kind)),
            "{text}"
        );
    }
    assert_eq!(
        err(r#"["bytes","aGkx","Int16Array"]"#),
        (
            "TypeError".into(),
            "Invalid byte length 3 for Int16Array; expected a multiple of 2".into()
        )
    );
    assert_eq!(
        err(r#"["bytes","aG","Foo"]"#),
        ("TypeError".into(), "Unknown bytes type marker: Foo".into())
    );
    let long = "x".repeat(100);
    assert_eq!(
        err(&format!(r#"["bytes","","{long}"]"#)).1,
        format!("Unknown bytes type marker: {}", &long[..64])
    );
    assert_eq!(
        err(r#"["bytes","aG",5]"#).1,
        "Unknown bytes type marker type: number"
    );
    assert_eq!(
        err(r#"["bytes","aG",null]"#).1,
        "Unknown bytes type marker type: object"
    );
    assert_eq!(
        err(r#"["bytes","aG",true]"#).1,
        "Unknown bytes type marker type: boolean"
    );
    unknown(r#"["bytes",5]"#);
}

#[test]
fn errors() {
    let Value::Error(e) = de(
        r#"["error","Foo","m","st",{"a":1,"name":"x","toString":2,"cause":["error","TypeError","inner"]}]"#,
    ) else {
        panic!("not an error");
    };
    assert_eq!(
        (e.name.as_str(), e.message.as_str(), e.stack.as_deref()),
        ("Foo", "m", Some("st"))
    );
    assert_eq!(e.props.keys().collect::<Vec<_>>(), vec!["a", "cause"]);
    assert_eq!(
        serialize(&de(r#"["error","Foo","m",5]"#)).unwrap(),
        r#"["error","Foo","m"]"#
    );
    assert_eq!(
        serialize(&de(r#"["error","E","m","s"]"#)).unwrap(),
        r#"["error","E","m","s"]"#
    );
    assert_eq!(
        serialize(&de(r#"["error","E","m",null,{}]"#)).unwrap(),
        r#"["error","E","m"]"#
    );
    unknown(r#"["error","Foo","m",null,null]"#);
    unknown(r#"["error","Foo","m",null,[[1]]]"#);
    unknown(r#"["error",1,"m"]"#);
    unknown(r#"["error","E"]"#);
    // Skipped keys are not evaluated; blocked ones are.
    let (_, calls) =
        recorded(r#"["error","E","m",null,{"name":["export",-1],"constructor":["export",-2]}]"#);
    assert_eq!(calls, vec!["export -2"]);
}

#[test]
fn headers_requests_responses() {
    assert_eq!(
        de(r#"["headers",[["a","1"],["b",2]]]"#),
        Value::Headers(vec![("a".into(), "1".into()), ("b".into(), "2".into())])
    );
    unknown(r#"["headers",{}]"#);
    assert_eq!(err(r#"["headers",[["a"]]]"#).0, "TypeError");
    let req = r#"["request","https://x/",{"method":"POST","headers":[["a","b"]],"body":"hi","duplex":"half","cf":{"list":[1,2]}}]"#;
    assert_eq!(serialize(&de(req)).unwrap(), req);
    let (_, calls) = recorded(
        r#"["request","https://x/",{"method":"POST","body":["readable",1],"duplex":"half"}]"#,
    );
    assert_eq!(calls, vec!["readable 1"]);
    assert_eq!(
        err(r#"["request","https://x/",{"body":5}]"#).1,
        "Request body must be of type ReadableStream."
    );
    assert_eq!(
        err(r#"["request","https://x/",{"body":["bytes","AA","Int8Array"]}]"#).1,
        "Request body must be of type ReadableStream."
    );
    assert_eq!(
        err(r#"["request","https://x/",{"signal":1}]"#).1,
        "Request signal must be of type AbortSignal."
    );
    assert_eq!(
        err(r#"["request","https://x/",{"headers":{"a":"b"}}]"#).1,
        "Request headers must be serialized as an array of pairs."
    );
    assert_eq!(
        serialize(&de(r#"["request","https://x/",[]]"#)).unwrap(),
        r#"["request","https://x/",{}]"#
    );
    unknown(r#"["request",1,{}]"#);
    unknown(r#"["request","u",5]"#);
    unknown(r#"["request","u"]"#);

    let resp = r#"["response",["bytes","aGk"],{"status":201,"statusText":"Created","headers":[["a","b"]]}]"#;
    assert_eq!(serialize(&de(resp)).unwrap(), resp);
    assert_eq!(
        err(r#"["response",5,{}]"#).1,
        "Response body must be of type ReadableStream."
    );
    assert_eq!(
        err(r#"["response",null,{"webSocket":1}]"#).1,
        "Can't deserialize a Response containing a webSocket."
    );
    assert_eq!(err(r#"["response",null,{"status":0}]"#).0, "RangeError");
    assert_eq!(
        err(r#"["response",null,{"headers":"x"}]"#).1,
        "Request headers must be serialized as an array of pairs."
    );
    unknown(r#"["response",null,5]"#);
    unknown(r#"["response",null]"#);
    // The body is evaluated (and checked) before `init`.
    assert_eq!(
        err(r#"["response",5,5]"#).1,
        "Response body must be of type ReadableStream."
    );
    assert_eq!(
        err(r#"["blob","text/plain",["readable",1]]"#).0,
        "TypeError"
    );
    unknown(r#"["blob",1,2]"#);
}

#[test]
fn reference_forms() {
    let (v, calls) = recorded(r#"["pipeline",0,["add"],[2,[[3]],["export",-1]]]"#);
    assert_eq!(v, Value::String("pipeline 0".into()));
    assert_eq!(calls, vec![
        "export -1".to_owned(),
        r#"pipeline 0 Some([Name("add")]) Some([Number(2.0), Array([Number(3.0)]), String("export -1")])"#.to_owned(),
    ]);
    let (_, calls) = recorded(r#"["import",3,["a",1,1.5,-1]]"#);
    assert_eq!(
        calls,
        vec![r#"import 3 Some([Name("a"), Index(1), Name("1.5"), Name("-1")]) None"#]
    );
    // Escaped tags and keys, keys beyond 2^53, an empty path.
    let (_, calls) = recorded(r#"["pipe\u006cine",2,["p\u0061th",9007199254740993,1e300,-0],[]]"#);
    assert_eq!(
        calls,
        vec![
            r#"pipeline 2 Some([Name("path"), Name("9007199254740992"), Name("1e+300"), Index(0)]) Some([])"#
        ]
    );
    let (_, calls) = recorded(r#"["import",0,[]]"#);
    assert_eq!(calls, vec![r#"import 0 Some([]) None"#]);
    let (_, calls) = recorded(
        r#"[[["pipeline",1],["import",-2],["promise",-3],["writable",-4],["readable",5],["export",-6,"x"]]]"#,
    );
    assert_eq!(
        calls,
        vec![
            "pipeline 1 None None",
            "import -2 None None",
            "promise -3",
            "writable -4",
            "readable 5",
            "export -6"
        ]
    );
    unknown(r#"["pipeline"]"#);
    unknown(r#"["pipeline",0,[],[],1]"#);
    unknown(r#"["pipeline","0"]"#);
    unknown(r#"["pipeline",0,"x"]"#);
    unknown(r#"["pipeline",0,[null]]"#);
    unknown(r#"["pipeline",0,[],{}]"#);
    unknown(r#"["pipeline",0,[["a"]]]"#);
    unknown(r#"["pipeline",0,[true]]"#);
    unknown(r#"["pipeline",0,{"a":1}]"#);
    unknown(r#"["import",null]"#);
    unknown(r#"["export"]"#);
    unknown(r#"["promise","1"]"#);
    unknown(r#"["export",1.5]"#);
    assert_eq!(
        err(r#"["pipeline",1.5]"#),
        ("Error".into(), "no such entry on exports table: 1.5".into())
    );
    // Without a session, references are refused the way capnweb's deserialize() refuses them.
    let e = de_with(
        r#"["pipeline",-5,["x"],[]]"#,
        &Limits::default(),
        &mut NoRefs,
    )
    .unwrap_err();
    assert_eq!(e.message(), "no such entry on exports table: -5");
    let e = de_with(r#"["export",-1]"#, &Limits::default(), &mut NoRefs).unwrap_err();
    assert_eq!(
        e.message(),
        "Cannot deserialize RPC stubs without an RPC session."
    );
}

#[test]
fn remap_forms() {
    let (_, calls) = recorded(
        r#"["remap",2,[],[["import",1],["export",-1]],[["pipeline",-1,["get"],[["pipeline",0]]],{"id":["pipeline",0]}]]"#,
    );
    assert_eq!(calls, vec!["remap 2 [] [Import(1), Export(-1)] 2"]);
    unknown(r#"["remap",2,[],[]]"#);
    unknown(r#"["remap","2",[],[],[1]]"#);
    unknown(r#"["remap",2,{},[],[1]]"#);
    unknown(r#"["remap",2,[{}],[],[1]]"#);
    assert_eq!(
        err(r#"["remap",2,[],[["pipeline",1]],[1]]"#),
        (
            "TypeError".into(),
            r#"unknown map capture: ["pipeline",1]"#.into()
        )
    );
    assert_eq!(err(r#"["remap",2,[],[5],[1]]"#).1, "unknown map capture: 5");
    assert_eq!(
        err(r#"["remap",2,[],[["import"]],[1]]"#).1,
        r#"unknown map capture: ["import"]"#
    );
    assert_eq!(
        err(r#"["remap",2,[],[],[]]"#),
        ("Error".into(), "Invalid empty mapper function.".into())
    );
}

/// `n` arrays nested, the innermost holding `inner`.
fn nested_arrays(n: usize, inner: &str) -> String {
    format!("{}{inner}{}", "[[".repeat(n), "]]".repeat(n))
}

#[test]
fn depth_limit_exactly() {
    let msg = (
        "TypeError".to_owned(),
        "Deserialization exceeded maximum allowed message depth of 256.".to_owned(),
    );
    // A value at depth 255 is fine; at 256 it is refused.
    assert!(deserialize(&nested_arrays(255, "1")).is_ok());
    assert_eq!(err(&nested_arrays(256, "1")), msg);
    // 256 nested containers are fine if the innermost is empty.
    assert!(deserialize(&nested_arrays(256, "")).is_ok());
    assert_eq!(err(&nested_arrays(257, "")), msg);
    // `n` nested objects, the innermost empty.
    let objs = |n: usize| format!("{}{{}}{}", r#"{"a":"#.repeat(n - 1), "}".repeat(n - 1));
    assert!(deserialize(&objs(256)).is_ok());
    assert_eq!(err(&objs(257)), msg);
    // Call arguments continue the count: the argument sits one level below the call.
    let call = |n: usize| format!(r#"["pipeline",0,["f"],[{}]]"#, nested_arrays(n, "1"));
    assert!(recorded(&call(254)).1.len() == 1);
    assert_eq!(err(&call(255)), msg);
    // Error props values sit one level below the error (no level for the props object).
    let error = |n: usize| {
        format!(
            r#"["error","E","m",null,{{"p":{}}}]"#,
            nested_arrays(n, "1")
        )
    };
    assert!(deserialize(&error(254)).is_ok());
    assert_eq!(err(&error(255)), msg);
    // A configured limit is honoured.
    let limits = Limits {
        max_depth: 3,
        ..Limits::default()
    };
    assert!(de_with(&nested_arrays(2, "1"), &limits, &mut NoRefs).is_ok());
    assert!(de_with(&nested_arrays(3, "1"), &limits, &mut NoRefs).is_err());
}

#[test]
fn hostile_nesting_does_not_overflow() {
    for text in [
        "[".repeat(100_000),
        "{\"a\":".repeat(100_000),
        format!("{}1", "[[".repeat(50_000)),
    ] {
        assert!(deserialize(&text).is_err());
    }
}

/// A plain object of about `len` bytes of wire text.
fn big_plain(len: usize) -> String {
    let items: Vec<String> = (0..len / 24)
        .map(|i| format!(r#""k{i}":[[{i},"v\n"]]"#))
        .collect();
    format!("{{{}}}", items.join(","))
}

fn message_expr(text: &str) -> (Payload, Vec<Vec<Payload>>) {
    let mut refs = Recorder::default();
    let value = decode_message_expr(text, 0, &Limits::default(), &mut refs).unwrap();
    (value, refs.1)
}

#[test]
fn large_plain_values_and_arguments_stay_text() {
    let plain = big_plain(2000);
    let (value, _) = message_expr(&plain);
    assert!(matches!(value, Payload::Text(_)), "{value:?}");
    de(&plain);
    let array = format!("[[{plain},{plain}]]");
    assert!(matches!(message_expr(&array).0, Payload::Text(_)));
    de(&array);

    // Small values, and large ones with a special value or a reference inside, are trees.
    assert!(matches!(
        message_expr(r#"{"a":1}"#).0,
        Payload::Tree(Value::Object(_))
    ));
    let dated = format!(r#"{{"d":["date",1],"p":{plain}}}"#);
    assert!(matches!(
        message_expr(&dated).0,
        Payload::Tree(Value::Object(_))
    ));
    de(&dated);

    let call = format!(r#"["pipeline",0,["echo"],[{plain},1,{dated},[[{plain}]],["export",-1]]]"#);
    let (_, calls) = message_expr(&call);
    let kinds: Vec<&str> = calls[0]
        .iter()
        .map(|a| match a {
            Payload::Text(_) => "text",
            Payload::Tree(_) => "tree",
        })
        .collect();
    assert_eq!(kinds, ["text", "tree", "tree", "text", "tree"]);
    recorded(&call);
}

#[test]
fn large_malformed_arguments_fail_as_the_tree_says() {
    let plain = big_plain(1000);
    for text in [
        format!(r#"["pipeline",0,["echo"],[{plain},["date"]]]"#),
        format!(r#"["pipeline",0,["echo"],[{plain},[[{plain}],1]]]"#),
        format!(r#"["pipeline",0,["echo"],[["bigint","x{plain}"]]]"#),
    ] {
        de_with(&text, &Limits::default(), &mut Recorder::default()).unwrap_err();
    }
}
