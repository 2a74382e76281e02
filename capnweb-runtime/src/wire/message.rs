//! Top-level messages (protocol.md section 4) as values: [`Message`], its [`MessageKind`] and
//! the [`Expr`] it carries. Parsing lives in `message_parse.rs` and writing in
//! `message_write.rs`; both are reached through this module.

use std::borrow::Cow;
use std::fmt;

use super::decode::decode_expr;
use super::json::{parse_prechecked, validate, write_json};
pub(crate) use super::message_parse::{parse_message, parse_received};
pub(crate) use super::message_write::{
    abort_text, end_message, pipeline_push_text, pipeline_stream_text, pull_text, reject_prefix,
    release_text, remap_push_text, resolve_prefix,
};
use super::stream_decode::{decode_expr_text, decode_message_expr};
use super::{Json, Limits, NoRefs, RefDecoder};
use crate::error::RpcError;
use crate::value::Value;
use crate::wire::Payload;

/// One Cap'n Web protocol message, as sent in one WebSocket frame or one line of an HTTP batch.
///
/// IDs are written as the *sender* of the message numbers them. `push`, `stream` and `pipe`
/// carry no ID: each takes the next positive ID on both sides (the sender's import, the
/// recipient's export), so whoever needs it counts them.
///
/// [`Message::parse`] applies capnweb 0.12.0's shape rules and error texts and leaves each
/// expression unevaluated: it borrows from the text, and [`Expr::to_value`] evaluates it as plain
/// data when wanted. Formatting a message ([`Display`](fmt::Display), [`Message::encode`]) writes
/// exactly the text capnweb would send.
///
/// # Example
///
/// A logging proxy, and a message built from a value:
///
/// ```
/// use capnweb_runtime::Value;
/// use capnweb_runtime::wire::{Expr, Limits, Message, MessageKind};
///
/// let limits = Limits::default();
/// let text = r#"["push",["pipeline",0,["add"],[1,2]]]"#;
/// let msg = Message::parse(text, &limits)?;
/// assert_eq!(msg.kind(), MessageKind::Push);
/// let logged = format!("{} #{}: {}", msg.kind(), 3, msg.expr().unwrap());
/// assert_eq!(logged, r#"push #3: ["pipeline",0,["add"],[1,2]]"#);
/// assert_eq!(msg.to_string(), text);
///
/// let reply = Message::parse(r#"["resolve",3,[["a",1.5]]]"#, &limits)?;
/// assert_eq!(reply.id(), Some(3));
/// let value = reply.expr().unwrap().to_value(&limits)?;
/// assert_eq!(value, Value::Array(vec!["a".into(), 1.5.into()]));
///
/// let answer = Message::Resolve(4, Expr::from_value(&value)?);
/// assert_eq!(answer.to_string(), r#"["resolve",4,[["a",1.5]]]"#);
/// # Ok::<(), capnweb_runtime::RpcError>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Message<'a> {
    /// `["push", expr]`: evaluate `expr` (usually a call); its result takes the next positive ID.
    Push(Expr<'a>),
    /// `["pull", importId]`: asks for the `resolve`/`reject` of the sender's import (the
    /// recipient's export) `importId`.
    Pull(i64),
    /// `["resolve", exportId, expr]`: the sender's promise export `exportId` resolved to `expr`.
    Resolve(i64, Expr<'a>),
    /// `["reject", exportId, expr]`: the sender's promise export `exportId` failed with `expr`.
    Reject(i64, Expr<'a>),
    /// `["release", importId, refcount]`: the sender drops `refcount` references to its import.
    Release(i64, u64),
    /// `["abort", expr]`: a fatal error that ends the session. A received `["abort"]` without a
    /// reason carries `["undefined"]`, as JS reads it.
    Abort(Expr<'a>),
    /// `["stream", expr]`: like `push`, but answered unasked and released by the recipient.
    Stream(Expr<'a>),
    /// `["pipe"]`: creates a pipe whose writable end takes the next positive ID.
    Pipe,
}

/// Which of the eight messages a [`Message`] is; displays as its wire tag (`push`, `pull`, ...).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MessageKind {
    /// `push`
    Push,
    /// `pull`
    Pull,
    /// `resolve`
    Resolve,
    /// `reject`
    Reject,
    /// `release`
    Release,
    /// `abort`
    Abort,
    /// `stream`
    Stream,
    /// `pipe`
    Pipe,
}

impl MessageKind {
    /// The tag that opens the message on the wire: `"push"`, `"pull"`, ...
    pub fn as_str(self) -> &'static str {
        match self {
            MessageKind::Push => "push",
            MessageKind::Pull => "pull",
            MessageKind::Resolve => "resolve",
            MessageKind::Reject => "reject",
            MessageKind::Release => "release",
            MessageKind::Abort => "abort",
            MessageKind::Stream => "stream",
            MessageKind::Pipe => "pipe",
        }
    }
}

impl fmt::Display for MessageKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<'a> Message<'a> {
    /// Parses one message text with capnweb 0.12.0's rules, borrowing expressions from `text`.
    ///
    /// The size and nesting `limits` are checked before any JSON is parsed (the bigint limit
    /// applies when an expression is evaluated). Errors are the ones a capnweb peer aborts
    /// with: `TypeError` for a text over the limits, `SyntaxError` for text that is not JSON,
    /// `Error("bad RPC message: <json>")` for a wrong shape or unknown tag, and
    /// `Error("no such export ID: <n>")` for a `pull`/`release` ID no table can hold.
    pub fn parse(text: &'a str, limits: &Limits) -> Result<Message<'a>, RpcError> {
        parse_message(text, limits)
    }

    /// Which message this is.
    pub fn kind(&self) -> MessageKind {
        match self {
            Message::Push(_) => MessageKind::Push,
            Message::Pull(_) => MessageKind::Pull,
            Message::Resolve(..) => MessageKind::Resolve,
            Message::Reject(..) => MessageKind::Reject,
            Message::Release(..) => MessageKind::Release,
            Message::Abort(_) => MessageKind::Abort,
            Message::Stream(_) => MessageKind::Stream,
            Message::Pipe => MessageKind::Pipe,
        }
    }

    /// The ID written in the message (`pull`, `resolve`, `reject`, `release`), as the sender
    /// numbers it; `None` for the messages that take the next ID implicitly and for `abort`.
    pub fn id(&self) -> Option<i64> {
        match self {
            Message::Pull(id)
            | Message::Resolve(id, _)
            | Message::Reject(id, _)
            | Message::Release(id, _) => Some(*id),
            Message::Push(_) | Message::Abort(_) | Message::Stream(_) | Message::Pipe => None,
        }
    }

    /// The expression carried by `push`, `resolve`, `reject`, `abort` and `stream`.
    pub fn expr(&self) -> Option<&Expr<'a>> {
        match self {
            Message::Push(e)
            | Message::Resolve(_, e)
            | Message::Reject(_, e)
            | Message::Abort(e)
            | Message::Stream(e) => Some(e),
            Message::Pull(_) | Message::Release(..) | Message::Pipe => None,
        }
    }

    /// Appends the message's wire text to `out` (what [`Display`](fmt::Display) writes).
    pub fn encode(&self, out: &mut String) {
        super::message_write::write_message(self, out);
    }

    /// The same message, owning its expression texts, so it can outlive the parsed text.
    pub fn into_owned(self) -> Message<'static> {
        match self {
            Message::Push(e) => Message::Push(e.into_owned()),
            Message::Pull(id) => Message::Pull(id),
            Message::Resolve(id, e) => Message::Resolve(id, e.into_owned()),
            Message::Reject(id, e) => Message::Reject(id, e.into_owned()),
            Message::Release(id, n) => Message::Release(id, n),
            Message::Abort(e) => Message::Abort(e.into_owned()),
            Message::Stream(e) => Message::Stream(e.into_owned()),
            Message::Pipe => Message::Pipe,
        }
    }
}

impl fmt::Display for Message<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = String::new();
        self.encode(&mut out);
        f.write_str(&out)
    }
}

/// An expression inside a message (protocol.md section 5), not yet evaluated.
///
/// It holds either the exact text it was read from (valid JSON, checked against the limits) or
/// a parsed JSON tree; [`text`](Expr::text) and [`Display`](fmt::Display) give the text either
/// way, a tree written as JavaScript's `JSON.stringify` would write it. Reference forms
/// (`["pipeline", ...]`, `["export", ...]`, ...) only mean something to a session, so
/// [`to_value`](Expr::to_value) evaluates plain data only.
///
/// Two expressions are equal when their JSON is, whatever form each is held in.
#[derive(Clone)]
pub struct Expr<'a>(pub(crate) Repr<'a>);

#[derive(Clone)]
pub(crate) enum Repr<'a> {
    /// Checked text: the engine evaluates it as it parses it.
    Text(Cow<'a, str>),
    /// A tree, for the messages that took the tree parser.
    Tree(Json),
}

impl<'a> Expr<'a> {
    /// Text that [`parse_message`] already checked.
    pub(crate) fn checked_text(text: &'a str) -> Self {
        Expr(Repr::Text(Cow::Borrowed(text)))
    }

    /// Checks that `text` is one JSON value within the size and nesting `limits`, and keeps it
    /// as it is. Errors as for [`Message::parse`] (`TypeError`, `SyntaxError`).
    pub fn parse(text: &'a str, limits: &Limits) -> Result<Expr<'a>, RpcError> {
        validate(text, limits)?;
        Ok(Expr::checked_text(text))
    }

    /// The expression for a plain value, as capnweb's `serialize()` writes it. Values that
    /// hold stubs or promises are refused: only a session can export them.
    pub fn from_value(value: &Value) -> Result<Expr<'static>, RpcError> {
        Ok(Expr(Repr::Text(Cow::Owned(super::serialize(value)?))))
    }

    /// The expression's JSON text: the received text itself, or the tree written as
    /// JavaScript would write it.
    pub fn text(&self) -> Cow<'_, str> {
        match &self.0 {
            Repr::Text(text) => Cow::Borrowed(text),
            Repr::Tree(json) => {
                let mut out = String::new();
                write_json(json, &mut out);
                Cow::Owned(out)
            }
        }
    }

    /// The expression as a JSON tree. Fails with a `SyntaxError` only for text holding a lone
    /// surrogate escape, which a Rust string cannot hold.
    pub fn to_json(&self) -> Result<Json, RpcError> {
        match &self.0 {
            Repr::Text(text) => parse_prechecked(text),
            Repr::Tree(json) => Ok(json.clone()),
        }
    }

    /// Evaluates the expression as plain data, as capnweb's `deserialize()` does: escaped
    /// arrays, objects and special values (`["date", ...]`, `["error", ...]`, ...) become a
    /// [`Value`], checked against the depth and bigint `limits`. Reference forms have no table
    /// to name here and fail like unknown IDs (`no such entry on exports table: <n>`); other
    /// errors are the `TypeError`s a capnweb peer would abort with.
    pub fn to_value(&self, limits: &Limits) -> Result<Value, RpcError> {
        match &self.0 {
            Repr::Text(text) => decode_expr_text(text, 0, limits, &mut NoRefs),
            Repr::Tree(json) => decode_expr(json.clone(), 0, limits, &mut NoRefs),
        }
    }

    /// The same expression, owning its text.
    pub fn into_owned(self) -> Expr<'static> {
        Expr(match self.0 {
            Repr::Text(text) => Repr::Text(Cow::Owned(text.into_owned())),
            Repr::Tree(json) => Repr::Tree(json),
        })
    }

    /// Evaluates the expression at `depth`, passing reference forms to `refs`. Large plain
    /// data in text form may stay text ([`Payload::Text`]).
    pub(crate) fn decode(
        self,
        depth: usize,
        limits: &Limits,
        refs: &mut dyn RefDecoder,
    ) -> Result<Payload, RpcError> {
        match self.0 {
            Repr::Text(text) => decode_message_expr(&text, depth, limits, refs),
            Repr::Tree(json) => decode_expr(json, depth, limits, refs).map(Payload::Tree),
        }
    }
}

impl From<Json> for Expr<'static> {
    fn from(json: Json) -> Self {
        Expr(Repr::Tree(json))
    }
}

impl fmt::Display for Expr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text())
    }
}

impl fmt::Debug for Expr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Expr")
            .field(&format_args!("{}", self.text()))
            .finish()
    }
}

impl PartialEq for Expr<'_> {
    fn eq(&self, other: &Self) -> bool {
        match (&self.0, &other.0) {
            (Repr::Text(a), Repr::Text(b)) if a == b => true,
            (Repr::Tree(a), Repr::Tree(b)) => a == b,
            _ => match (self.to_json(), other.to_json()) {
                (Ok(a), Ok(b)) => a == b,
                _ => false,
            },
        }
    }
}
