//! Top-level messages (protocol.md section 4): parsing with capnweb 0.12.0's shape rules, and
//! small writers for the messages the engine sends.
//!
//! Shape rules, as the JS read loop applies them (anything else is `Error("bad RPC message:
//! <json>")`):
//!
//! - `push`/`stream`: at least 2 elements (extra ones ignored);
//! - `pipe`: any length;
//! - `pull`: element 1 a number;
//! - `resolve`/`reject`: element 1 a number and at least 3 elements;
//! - `release`: elements 1 and 2 numbers;
//! - `abort`: any length (a missing reason is `undefined`).
//!
//! IDs are JS numbers on the wire. A number that is not an integer within ±(2^53 - 1) cannot
//! name a table entry: for `pull` and `release` we report `Error("no such export ID: <n>")`,
//! exactly what JS reports; for `resolve`/`reject` (which JS silently ignores) and for a
//! refcount that is not a non-negative integer (which would corrupt a JS peer's table) we are
//! stricter and report a bad message.

use serde_json::value::RawValue;

use super::decode::{decode_expr, safe_integer};
use super::json::{parse, precheck, write_json, write_number};
use super::stream_decode::decode_message_expr;
use super::{Json, Limits, RefDecoder};
use crate::error::RpcError;
use crate::value::Value;

/// A received expression, not yet evaluated: its text (valid JSON within the limits) when the
/// message took the fast path, a tree otherwise.
#[derive(Clone, Debug)]
pub enum Expr<'a> {
    /// Text, evaluated as it is parsed.
    Text(&'a str),
    /// A parsed tree.
    Tree(Json),
}

impl Expr<'_> {
    /// Evaluates the expression at `depth`, passing reference forms to `refs`. Large plain
    /// data in text form may stay text ([`Value::Wire`](crate::Value::Wire)).
    pub(crate) fn decode(
        self,
        depth: usize,
        limits: &Limits,
        refs: &mut dyn RefDecoder,
    ) -> Result<Value, RpcError> {
        match self {
            Expr::Text(text) => decode_message_expr(text, depth, limits, refs),
            Expr::Tree(json) => decode_expr(json, depth, limits, refs),
        }
    }
}

impl PartialEq for Expr<'_> {
    /// Equal when the JSON is (a tree and the text it was parsed from compare equal).
    fn eq(&self, other: &Self) -> bool {
        let tree = |e: &Expr<'_>| match e {
            Expr::Text(text) => serde_json::from_str::<Json>(text).ok(),
            Expr::Tree(json) => Some(json.clone()),
        };
        tree(self) == tree(other)
    }
}

/// One received top-level message. Expressions are left unevaluated.
#[derive(Clone, Debug, PartialEq)]
pub enum Message<'a> {
    /// `["push", expr]`: a new call (or value) that takes the next positive export ID.
    Push(Expr<'a>),
    /// `["pull", exportId]`.
    Pull(i64),
    /// `["resolve", importId, expr]`.
    Resolve(i64, Expr<'a>),
    /// `["reject", importId, expr]`.
    Reject(i64, Expr<'a>),
    /// `["release", exportId, refcount]`.
    Release(i64, u64),
    /// `["abort", expr]`. A message without a reason carries `["undefined"]`.
    Abort(Json),
    /// `["stream", expr]`: like push, auto-pulled and auto-released.
    Stream(Expr<'a>),
    /// `["pipe"]`: creates a pipe that takes the next positive export ID.
    Pipe,
}

/// Parses one received message text (size, nesting and JSON checks first, see
/// [`parse`](super::json::parse)).
pub fn parse_message<'a>(text: &'a str, limits: &Limits) -> Result<Message<'a>, RpcError> {
    precheck(text, limits)?;
    if let Some(msg) = parse_common(text) {
        return Ok(msg);
    }
    parse_any(text, limits)
}

/// The messages that make up nearly all traffic (`push`, `pull`, `resolve`, `reject`,
/// `release`), well-formed, with their expressions left as text; `None` for anything else,
/// including every malformed message (the tree parser reports those).
fn parse_common(text: &str) -> Option<Message<'_>> {
    let mut de = serde_json::Deserializer::from_str(text);
    de.disable_recursion_limit();
    let items: Vec<&RawValue> = serde::Deserialize::deserialize(&mut de).ok()?;
    de.end().ok()?;
    // JSON number text is valid Rust float syntax; out-of-range numbers (which serde_json
    // refuses) come out infinite and are no IDs.
    let id = |i: usize| safe_integer(items.get(i)?.get().parse::<f64>().ok()?);
    let expr = |i: usize| Some(Expr::Text(items.get(i)?.get()));
    Some(match items.first()?.get() {
        r#""push""# => Message::Push(expr(1)?),
        r#""pull""# => Message::Pull(id(1)?),
        r#""resolve""# if items.len() > 2 => Message::Resolve(id(1)?, expr(2)?),
        r#""reject""# if items.len() > 2 => Message::Reject(id(1)?, expr(2)?),
        r#""release""# => Message::Release(id(1)?, u64::try_from(id(2)?).ok()?),
        _ => return None,
    })
}

/// Parses any message through a tree, with capnweb's shape rules and error texts.
fn parse_any<'a>(text: &str, limits: &Limits) -> Result<Message<'a>, RpcError> {
    let json = parse(text, limits)?;
    let Json::Array(mut items) = json else {
        return Err(bad_message(&json));
    };
    let tag = items.first().and_then(Json::as_str).unwrap_or_default();
    let number = |i: usize| items.get(i).and_then(Json::as_f64);
    let msg = match tag {
        "push" | "stream" if items.len() > 1 => {
            let is_push = tag == "push";
            let expr = Expr::Tree(items.swap_remove(1));
            if is_push {
                Message::Push(expr)
            } else {
                Message::Stream(expr)
            }
        }
        "pipe" => Message::Pipe,
        "pull" => match number(1) {
            Some(id) => Message::Pull(export_id(id)?),
            None => return Err(bad_items(items)),
        },
        "resolve" | "reject" if items.len() > 2 => {
            let Some(id) = number(1).and_then(safe_integer) else {
                return Err(bad_items(items));
            };
            let is_resolve = tag == "resolve";
            let expr = Expr::Tree(items.swap_remove(2));
            if is_resolve {
                Message::Resolve(id, expr)
            } else {
                Message::Reject(id, expr)
            }
        }
        "release" => match (number(1), number(2)) {
            (Some(id), Some(count)) => {
                let Some(count) = safe_integer(count).and_then(|c| u64::try_from(c).ok()) else {
                    return Err(bad_items(items));
                };
                Message::Release(export_id(id)?, count)
            }
            _ => return Err(bad_items(items)),
        },
        "abort" => match items.len() {
            1 => Message::Abort(Json::Array(vec![Json::from("undefined")])),
            _ => Message::Abort(items.swap_remove(1)),
        },
        _ => return Err(bad_items(items)),
    };
    Ok(msg)
}

/// An export ID from `pull`/`release`; numbers no table can hold get JS's unknown-ID error.
fn export_id(n: f64) -> Result<i64, RpcError> {
    safe_integer(n).ok_or_else(|| {
        let mut msg = String::from("no such export ID: ");
        write_number(n, &mut msg);
        RpcError::protocol(msg)
    })
}

/// `Error("bad RPC message: <json>")`.
fn bad_message(json: &Json) -> RpcError {
    let mut msg = String::from("bad RPC message: ");
    write_json(json, &mut msg);
    RpcError::protocol(msg)
}

/// [`bad_message`] for an array message.
fn bad_items(items: Vec<Json>) -> RpcError {
    bad_message(&Json::Array(items))
}

/// Appends `["pull",id]`.
pub fn write_pull(id: i64, out: &mut String) {
    out.push_str(r#"["pull","#);
    out.push_str(&id.to_string());
    out.push(']');
}

/// Appends `["release",id,count]`.
pub fn write_release(id: i64, count: u64, out: &mut String) {
    out.push_str(r#"["release","#);
    out.push_str(&id.to_string());
    out.push(',');
    out.push_str(&count.to_string());
    out.push(']');
}

/// Appends `["pipe"]`.
#[allow(dead_code)] // Part of the writer set; the engine does not use it yet.
pub fn write_pipe(out: &mut String) {
    out.push_str(r#"["pipe"]"#);
}

/// Appends `["push",`; the caller appends the expression and then [`end_message`].
#[allow(dead_code)] // Part of the writer set; the engine does not use it yet.
pub fn begin_push(out: &mut String) {
    out.push_str(r#"["push","#);
}

/// Appends `["stream",`; the caller appends the expression and then [`end_message`].
#[allow(dead_code)] // Part of the writer set; the engine does not use it yet.
pub fn begin_stream(out: &mut String) {
    out.push_str(r#"["stream","#);
}

/// Appends `["resolve",id,`; the caller appends the expression and then [`end_message`].
pub fn begin_resolve(id: i64, out: &mut String) {
    out.push_str(r#"["resolve","#);
    out.push_str(&id.to_string());
    out.push(',');
}

/// Appends `["reject",id,`; the caller appends the expression and then [`end_message`].
pub fn begin_reject(id: i64, out: &mut String) {
    out.push_str(r#"["reject","#);
    out.push_str(&id.to_string());
    out.push(',');
}

/// Appends `["abort",`; the caller appends the expression and then [`end_message`].
pub fn begin_abort(out: &mut String) {
    out.push_str(r#"["abort","#);
}

/// Closes a message opened with one of the `begin_*` writers.
#[allow(dead_code)] // Part of the writer set; the engine does not use it yet.
pub fn end_message(out: &mut String) {
    out.push(']');
}

/// `["pull",id]` as a new string.
pub fn pull_text(id: i64) -> String {
    let mut out = String::with_capacity(16);
    write_pull(id, &mut out);
    out
}

/// `["release",id,count]` as a new string.
pub fn release_text(id: i64, count: u64) -> String {
    let mut out = String::with_capacity(24);
    write_release(id, count, &mut out);
    out
}

/// A new string holding `["resolve",id,`; append the expression and `]`.
pub fn resolve_prefix(id: i64) -> String {
    let mut out = String::with_capacity(64);
    begin_resolve(id, &mut out);
    out
}

/// A new string holding `["reject",id,`; append the expression and `]`.
pub fn reject_prefix(id: i64) -> String {
    let mut out = String::with_capacity(64);
    begin_reject(id, &mut out);
    out
}

/// A new string holding `["abort",`; append the expression and `]`.
pub fn abort_prefix() -> String {
    let mut out = String::with_capacity(64);
    begin_abort(&mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_ok(text: &str) -> Message<'_> {
        parse_message(text, &Limits::default()).unwrap()
    }

    fn parse_err(text: &str) -> (String, String) {
        let e = parse_message(text, &Limits::default()).unwrap_err();
        (e.name().to_owned(), e.message())
    }

    #[test]
    fn parses_every_message() {
        let j = |s: &str| serde_json::from_str::<Json>(s).unwrap();
        let e = |s: &str| Expr::Tree(j(s));
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
            Message::Abort(j(r#"["error","Error","client gave up"]"#))
        );
        assert_eq!(
            parse_ok(r#"["abort"]"#),
            Message::Abort(j(r#"["undefined"]"#))
        );
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
        bad(r#"["pull","1"]"#, r#"["pull","1"]"#);
        bad(r#"["pull"]"#, r#"["pull"]"#);
        bad(r#"["resolve",1]"#, r#"["resolve",1]"#);
        bad(r#"["resolve","1",2]"#, r#"["resolve","1",2]"#);
        bad(r#"["release",1]"#, r#"["release",1]"#);
        bad(r#"["release",1,"1"]"#, r#"["release",1,"1"]"#);
        bad(r#"["release",1,-1]"#, r#"["release",1,-1]"#);
        bad(r#"["release",1,0.5]"#, r#"["release",1,0.5]"#);
        bad(r#"[1.0,{"b":1,"0":2}]"#, r#"[1,{"0":2,"b":1}]"#);
        bad(r#"["resolve",1.5,2]"#, r#"["resolve",1.5,2]"#);
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
    fn json_errors_are_syntax_errors() {
        assert_eq!(parse_err("not json").0, "SyntaxError");
        // A lone surrogate escape is valid JSON syntax: the fast path lets it through and the
        // evaluation of the expression refuses it.
        let limits = Limits::default();
        let lone = parse_message(r#"["push","\ud800"]"#, &limits).and_then(|msg| match msg {
            Message::Push(expr) => expr.decode(0, &limits, &mut super::super::NoRefs),
            other => panic!("{other:?}"),
        });
        assert_eq!(lone.unwrap_err().name(), "SyntaxError");
    }

    #[test]
    fn writers() {
        let mut out = String::new();
        write_pull(3, &mut out);
        write_release(-1, 2, &mut out);
        write_pipe(&mut out);
        begin_push(&mut out);
        out.push('1');
        end_message(&mut out);
        begin_stream(&mut out);
        out.push('2');
        end_message(&mut out);
        begin_resolve(-4, &mut out);
        out.push('5');
        end_message(&mut out);
        begin_reject(6, &mut out);
        out.push_str("null");
        end_message(&mut out);
        begin_abort(&mut out);
        out.push_str(r#"["undefined"]"#);
        end_message(&mut out);
        assert_eq!(
            pull_text(1) + &release_text(2, 3),
            r#"["pull",1]["release",2,3]"#
        );
        assert_eq!(
            resolve_prefix(1) + &reject_prefix(-2) + &abort_prefix(),
            r#"["resolve",1,["reject",-2,["abort","#
        );
        assert_eq!(
            out,
            r#"["pull",3]["release",-1,2]["pipe"]["push",1]["stream",2]["resolve",-4,5]["reject",6,null]["abort",["undefined"]]"#
        );
    }
}
