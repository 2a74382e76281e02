use super::message::{self, Expr, Message, MessageKind};
use super::{Capture, Json, Limits, NoRefs};
use crate::value::{PropertyKey, Value};

fn parse_ok(text: &str) -> Message<'_> {
    Message::parse(text, &Limits::default()).unwrap()
}

fn parse_err(text: &str) -> (String, String) {
    let e = Message::parse(text, &Limits::default()).unwrap_err();
    (e.name().to_owned(), e.message())
}

fn tree(s: &str) -> Expr<'static> {
    Expr::from(serde_json::from_str::<Json>(s).unwrap())
}

#[test]
fn parses_every_message() {
    let e = tree;
    assert_eq!(
        parse_ok(r#"["push",["pipeline",0,["add"],[2,3]]]"#),
        Message::Push(e(r#"["pipeline",0,["add"],[2,3]]"#))
    );
    assert_eq!(parse_ok(r#"["push",1,2]"#), Message::Push(e("1")));
    assert_eq!(
        parse_ok(r#"["stream",{"a":1}]"#),
        Message::Stream(e(r#"{"a":1}"#))
    );
    assert_eq!(parse_ok(r#"["pipe"]"#), Message::Pipe);
    assert_eq!(parse_ok(r#"["pipe",5]"#), Message::Pipe);
    assert_eq!(parse_ok(r#"["pull",1]"#), Message::Pull(1));
    assert_eq!(parse_ok(r#"["pull",-3.0]"#), Message::Pull(-3));
    assert_eq!(parse_ok(r#"["resolve",1,5]"#), Message::Resolve(1, e("5")));
    assert_eq!(
        parse_ok(r#"["reject",-2,"x",9]"#),
        Message::Reject(-2, e(r#""x""#))
    );
    assert_eq!(parse_ok(r#"["release",1,2]"#), Message::Release(1, 2));
    assert_eq!(
        parse_ok(r#"["abort",["error","Error","client gave up"]]"#),
        Message::Abort(e(r#"["error","Error","client gave up"]"#))
    );
    assert_eq!(
        parse_ok(r#"["abort"]"#),
        Message::Abort(e(r#"["undefined"]"#))
    );
    // Equality looks at the JSON, not at the form the expression is held in.
    assert_ne!(parse_ok(r#"["resolve",1,5]"#), Message::Resolve(1, e("6")));
    assert_ne!(parse_ok(r#"["resolve",1,5]"#), Message::Reject(1, e("5")));
}

#[test]
fn bad_messages_as_js_prints_them() {
    let bad = |s: &str, shown: &str| {
        assert_eq!(
            parse_err(s),
            ("Error".to_owned(), format!("bad RPC message: {shown}")),
            "{s}"
        );
    };
    bad(r#"["bogus"]"#, r#"["bogus"]"#);
    bad(r#"["hello",1]"#, r#"["hello",1]"#);
    bad("[]", "[]");
    bad("{}", "{}");
    bad(r#""push""#, r#""push""#);
    bad("null", "null");
    bad(r#"["push"]"#, r#"["push"]"#);
    bad(r#"["stream"]"#, r#"["stream"]"#);
    bad(r#"["pull","1"]"#, r#"["pull","1"]"#);
    bad(r#"["pull"]"#, r#"["pull"]"#);
    bad(r#"["resolve",1]"#, r#"["resolve",1]"#);
    bad(r#"["reject",1]"#, r#"["reject",1]"#);
    bad(r#"["resolve","1",2]"#, r#"["resolve","1",2]"#);
    bad(r#"["release",1]"#, r#"["release",1]"#);
    bad(r#"["release",1,"1"]"#, r#"["release",1,"1"]"#);
    bad(r#"["release",1,-1]"#, r#"["release",1,-1]"#);
    bad(r#"["release",1,0.5]"#, r#"["release",1,0.5]"#);
    bad(r#"[1.0,{"b":1,"0":2}]"#, r#"[1,{"0":2,"b":1}]"#);
    bad(r#"["resolve",1.5,2]"#, r#"["resolve",1.5,2]"#);
    bad(r#"["PUSH",1]"#, r#"["PUSH",1]"#);
}

#[test]
fn unusable_ids_are_unknown_ids() {
    assert_eq!(
        parse_err(r#"["pull",1.5]"#),
        ("Error".into(), "no such export ID: 1.5".into())
    );
    assert_eq!(
        parse_err(r#"["release",1e300,1]"#),
        ("Error".into(), "no such export ID: 1e+300".into())
    );
    assert_eq!(
        parse_err(r#"["pull",9007199254740992]"#).1,
        "no such export ID: 9007199254740992"
    );
}

#[test]
fn limits_and_json_errors() {
    assert_eq!(parse_err("not json").0, "SyntaxError");
    assert_eq!(parse_err(r#"["pull",1] x"#).0, "SyntaxError");
    let small = Limits {
        max_message_size: 8,
        ..Limits::default()
    };
    let e = Message::parse(r#"["pull",12]"#, &small).unwrap_err();
    assert_eq!(e.name(), "TypeError");
    let deep = format!(r#"["push",{}1{}]"#, "[".repeat(600), "]".repeat(600));
    assert_eq!(parse_err(&deep).0, "TypeError");
    // A lone surrogate escape is valid JSON syntax: the fast path lets it through and the
    // evaluation of the expression refuses it.
    let limits = Limits::default();
    let lone = Message::parse(r#"["push","\ud800"]"#, &limits).and_then(|msg| match msg {
        Message::Push(expr) => expr.decode(0, &limits, &mut NoRefs),
        other => panic!("{other:?}"),
    });
    assert_eq!(lone.unwrap_err().name(), "SyntaxError");
}

/// Frames from wire-trace.txt, one or more of each kind, in both the fast and the tree parser's
/// territory.
const TRACE_FRAMES: &[&str] = &[
    r#"["push",["pipeline",0,["add"],[2,3]]]"#,
    r#"["push",["pipeline",0,["describeUser"],[["import",-1]]]]"#,
    r#"["push",["pipeline",2,["name"]]]"#,
    r#"["push",["remap",2,[],[["import",1]],[["pipeline",-1,["get"],[["pipeline",0]]],{"id":["pipeline",0],"name":["pipeline",1,["name"]]}]]]"#,
    r#"["pull",1]"#,
    r#"["resolve",1,5]"#,
    r#"["resolve",2,["export",-1]]"#,
    r#"["resolve",1,["readable",1]]"#,
    r#"["reject",1,["error","NotFoundError","the thing was not found",null,{"code":"E_NOT_FOUND"}]]"#,
    r#"["reject",3,"a thrown string"]"#,
    r#"["release",1,1]"#,
    r#"["release",-1,1]"#,
    r#"["abort",["error","Error","bad RPC message: [\"bogus\"]"]]"#,
    r#"["abort",["error","SyntaxError","Cannot convert 12abc to a BigInt"]]"#,
    r#"["stream",["pipeline",1,["write"],[{"seq":1}]]]"#,
    r#"["stream",["pipeline",-1,["close"],[]]]"#,
    r#"["pipe"]"#,
];

#[test]
fn trace_frames_encode_back_byte_for_byte() {
    let limits = Limits::default();
    for text in TRACE_FRAMES {
        let msg = parse_ok(text);
        assert_eq!(msg.to_string(), *text);
        assert_eq!(msg.kind().to_string(), text[2..].split('"').next().unwrap());
        // The same message held as trees, as the tree parser leaves it.
        let as_tree = match msg.clone() {
            Message::Push(e) => Message::Push(e.to_json().unwrap().into()),
            Message::Resolve(id, e) => Message::Resolve(id, e.to_json().unwrap().into()),
            Message::Reject(id, e) => Message::Reject(id, e.to_json().unwrap().into()),
            Message::Abort(e) => Message::Abort(e.to_json().unwrap().into()),
            Message::Stream(e) => Message::Stream(e.to_json().unwrap().into()),
            other => other,
        };
        let mut out = String::from("x");
        as_tree.encode(&mut out);
        assert_eq!(out, format!("x{text}"));
        // Plain data survives evaluation and re-encoding too.
        if let Some(Ok(value)) = msg.expr().map(|e| e.to_value(&limits)) {
            let expr = Expr::from_value(&value).unwrap();
            assert_eq!(expr.text(), msg.expr().unwrap().text(), "{text}");
        }
        assert_eq!(msg.into_owned().to_string(), *text);
    }
}

#[test]
fn accessors() {
    let push = parse_ok(r#"["push",["pipeline",0,["add"],[1,2]]]"#);
    assert_eq!((push.kind(), push.id()), (MessageKind::Push, None));
    assert_eq!(
        format!("{}: {}", push.kind(), push.expr().unwrap()),
        r#"push: ["pipeline",0,["add"],[1,2]]"#
    );
    assert_eq!(
        format!("{push:?}"),
        r#"Push(Expr(["pipeline",0,["add"],[1,2]]))"#
    );
    let release = parse_ok(r#"["release",-4,2]"#);
    assert_eq!(
        (release.kind(), release.id(), release.expr()),
        (MessageKind::Release, Some(-4), None)
    );
    let reject = parse_ok(r#"["reject",7,"no"]"#);
    assert_eq!((reject.kind(), reject.id()), (MessageKind::Reject, Some(7)));
    assert_eq!(parse_ok(r#"["pipe"]"#).expr(), None);
    assert_eq!(parse_ok(r#"["pull",0]"#).id(), Some(0));
    let abort = parse_ok(r#"["abort"]"#);
    assert_eq!(abort.expr().unwrap().text(), r#"["undefined"]"#);
    assert_eq!(abort.to_string(), r#"["abort",["undefined"]]"#);
}

#[test]
fn expressions_as_values() {
    let limits = Limits::default();
    let value = |s: &str| Expr::parse(s, &limits).unwrap().to_value(&limits);
    assert_eq!(
        value(r#"[["a",1.5]]"#).unwrap(),
        Value::Array(vec!["a".into(), 1.5.into()])
    );
    assert_eq!(value(r#"["undefined"]"#).unwrap(), Value::Undefined);
    assert_eq!(
        value(r#"["pipeline",0,["add"],[1,2]]"#)
            .unwrap_err()
            .message(),
        "no such entry on exports table: 0"
    );
    assert_eq!(
        value("[]").unwrap_err().message(),
        "unknown special value: []"
    );
    let tree_err = tree(r#"["bigint","12abc"]"#).to_value(&limits).unwrap_err();
    assert_eq!(tree_err.name(), "SyntaxError");
    // Text kept verbatim, trees written the JavaScript way.
    assert_eq!(Expr::parse(" [ 1 ] ", &limits).unwrap().text(), " [ 1 ] ");
    assert_eq!(tree(r#"{"b":1.0,"1":2e21}"#).text(), r#"{"1":2e+21,"b":1}"#);
    let e = Expr::parse("[1,", &limits).unwrap_err();
    assert_eq!(e.name(), "SyntaxError");
    let deep = format!("{}{}", "[".repeat(600), "]".repeat(600));
    assert_eq!(Expr::parse(&deep, &limits).unwrap_err().name(), "TypeError");
}

#[test]
fn building_messages() {
    let value = Value::Array(vec![Value::Null, "x".into()]);
    let expr = Expr::from_value(&value).unwrap();
    let cases = [
        (Message::Push(expr.clone()), r#"["push",[[null,"x"]]]"#),
        (Message::Pull(-2), r#"["pull",-2]"#),
        (
            Message::Resolve(3, expr.clone()),
            r#"["resolve",3,[[null,"x"]]]"#,
        ),
        (
            Message::Reject(-1, tree(r#""no""#)),
            r#"["reject",-1,"no"]"#,
        ),
        (Message::Release(4, 9), r#"["release",4,9]"#),
        (Message::Abort(tree("null")), r#"["abort",null]"#),
        (Message::Stream(expr), r#"["stream",[[null,"x"]]]"#),
        (Message::Pipe, r#"["pipe"]"#),
    ];
    for (msg, text) in cases {
        assert_eq!(msg.to_string(), text);
        assert_eq!(parse_ok(text), msg);
    }
}

#[test]
fn pull_and_release_texts_are_exactly_sized() {
    for (id, count) in [
        (0, 1),
        (-1, 2),
        (i64::MIN, u64::MAX),
        (9_007_199_254_740_991, 10),
    ] {
        let pull = message::pull_text(id);
        assert_eq!(pull, format!(r#"["pull",{id}]"#));
        assert_eq!(pull.capacity(), pull.len());
        let release = message::release_text(id, count);
        assert_eq!(release, format!(r#"["release",{id},{count}]"#));
        assert_eq!(release.capacity(), release.len());
    }
}

#[test]
fn session_writers() {
    assert_eq!(
        message::pull_text(1) + &message::release_text(2, 3),
        r#"["pull",1]["release",2,3]"#
    );
    let mut text = message::resolve_prefix(-4);
    text.push('5');
    message::end_message(&mut text);
    let mut reject = message::reject_prefix(6);
    reject.push_str("null");
    message::end_message(&mut reject);
    let call = message::pipeline_push_text(
        3,
        &[PropertyKey::Name("add".into()), PropertyKey::Index(1)],
        Some(|out: &mut String| {
            out.push_str("[1,2]");
            Ok(())
        }),
    )
    .unwrap();
    type WriteArgs = fn(&mut String) -> Result<(), crate::RpcError>;
    let read =
        message::pipeline_push_text(0, &[PropertyKey::Name("name".into())], None::<WriteArgs>)
            .unwrap();
    assert_eq!(
        text + &reject + &call + &read,
        r#"["resolve",-4,5]["reject",6,null]["push",["pipeline",3,["add",1],[1,2]]]["push",["pipeline",0,["name"]]]"#
    );
    let failing = message::pipeline_push_text(
        3,
        &[],
        Some(|_: &mut String| Err(crate::RpcError::Serialization("no".into()))),
    );
    assert!(
        failing.is_err(),
        "an argument that cannot be written fails the message"
    );
    let reason = crate::RpcError::new("Error", "gone").to_wire_value();
    assert_eq!(
        message::abort_text(&reason),
        r#"["abort",["error","Error","gone"]]"#
    );
    // Too deep to encode: the peer still learns that the session is over.
    let mut deep = Value::Null;
    for _ in 0..300 {
        deep = Value::Array(vec![deep]);
    }
    assert_eq!(message::abort_text(&deep), r#"["abort",null]"#);
    assert_eq!(
        message::remap_push_text(
            2,
            &[Capture::Import(1), Capture::Export(-2)],
            &[r#"["pipeline",0,["name"]]"#.into(), "7".into()]
        ),
        r#"["push",["remap",2,[],[["import",1],["export",-2]],[["pipeline",0,["name"]],7]]]"#
    );
    assert_eq!(
        message::remap_push_text(4, &[], &[r#"["pipeline",0,["email"]]"#.into()]),
        r#"["push",["remap",4,[],[],[["pipeline",0,["email"]]]]]"#
    );
}
