//! Writing top-level messages exactly as capnweb does. This is the one place that knows how a
//! frame is laid out: [`Message::encode`] for whole messages, and the writers below for the
//! session, which encodes its expressions straight into the frame (they hold stubs that only
//! it can export).

use super::encode::{encode_value, write_path};
use super::json::write_json;
use super::message::{Expr, Message, Repr};
use super::{Capture, NoRefs};
use crate::error::RpcError;
use crate::value::{PropertyKey, Value};

/// Appends the whole text of `msg`.
pub(super) fn write_message(msg: &Message<'_>, out: &mut String) {
    match msg {
        Message::Push(expr) => {
            begin_push(out);
            write_expr(expr, out);
        }
        Message::Pull(id) => {
            begin(out, "pull");
            write_id(*id, out);
        }
        Message::Resolve(id, expr) => {
            begin_resolve(*id, out);
            write_expr(expr, out);
        }
        Message::Reject(id, expr) => {
            begin_reject(*id, out);
            write_expr(expr, out);
        }
        Message::Release(id, count) => write_release(*id, *count, out),
        Message::Abort(expr) => {
            begin(out, "abort");
            out.push(',');
            write_expr(expr, out);
        }
        Message::Stream(expr) => {
            begin(out, "stream");
            out.push(',');
            write_expr(expr, out);
        }
        Message::Pipe => begin(out, "pipe"),
    }
    end_message(out);
}

fn write_expr(expr: &Expr<'_>, out: &mut String) {
    match &expr.0 {
        Repr::Text(text) => out.push_str(text),
        Repr::Tree(json) => write_json(json, out),
    }
}

/// Appends `["tag"`.
fn begin(out: &mut String, tag: &str) {
    out.push_str("[\"");
    out.push_str(tag);
    out.push('"');
}

/// Appends `,id`. (itoa, not `write!`: a call writes several IDs, and the formatting
/// machinery showed in the client's profile.)
fn write_id(id: i64, out: &mut String) {
    out.push(',');
    out.push_str(itoa::Buffer::new().format(id));
}

fn write_release(id: i64, count: u64, out: &mut String) {
    begin(out, "release");
    write_id(id, out);
    out.push(',');
    out.push_str(itoa::Buffer::new().format(count));
}

/// Appends `["push",`; the caller appends the expression and then [`end_message`].
fn begin_push(out: &mut String) {
    out.push_str(r#"["push","#);
}

fn begin_resolve(id: i64, out: &mut String) {
    begin(out, "resolve");
    write_id(id, out);
    out.push(',');
}

fn begin_reject(id: i64, out: &mut String) {
    begin(out, "reject");
    write_id(id, out);
    out.push(',');
}

/// Closes a message opened by [`begin_push`], [`resolve_prefix`] or [`reject_prefix`].
pub(crate) fn end_message(out: &mut String) {
    out.push(']');
}

/// `["push",["pipeline",target,path]]`, or with `,args` when `write_args` is given: it writes
/// the argument array (exporting what the arguments hold, which can fail).
pub(crate) fn pipeline_push_text(
    target: i64,
    path: &[PropertyKey],
    write_args: Option<impl FnOnce(&mut String) -> Result<(), RpcError>>,
) -> Result<String, RpcError> {
    pipeline_text(r#"["push","#, target, path, write_args)
}

/// `["stream",["pipeline",target,path,args]]`: a call answered unasked and never released
/// (a write, close or abort on a stream).
pub(crate) fn pipeline_stream_text(
    target: i64,
    path: &[PropertyKey],
    write_args: impl FnOnce(&mut String) -> Result<(), RpcError>,
) -> Result<String, RpcError> {
    pipeline_text(r#"["stream","#, target, path, Some(write_args))
}

fn pipeline_text(
    opening: &str,
    target: i64,
    path: &[PropertyKey],
    write_args: Option<impl FnOnce(&mut String) -> Result<(), RpcError>>,
) -> Result<String, RpcError> {
    let mut out = String::with_capacity(64);
    out.push_str(opening);
    out.push_str(r#"["pipeline""#);
    write_id(target, &mut out);
    out.push(',');
    write_path(path, &mut out);
    if let Some(write_args) = write_args {
        out.push(',');
        write_args(&mut out)?;
    }
    out.push(']');
    end_message(&mut out);
    Ok(out)
}

/// `["pull",id]`, in a string of exactly its length: a WebSocket frame made from a string
/// with spare capacity costs the transport an allocation of its own (`bytes` keeps such a
/// buffer behind a shared header), and a call sends a `pull` and later a `release`.
pub(crate) fn pull_text(id: i64) -> String {
    let mut digits = itoa::Buffer::new();
    let id = digits.format(id);
    let mut out = String::with_capacity(r#"["pull",]"#.len() + id.len());
    out.push_str(r#"["pull","#);
    out.push_str(id);
    out.push(']');
    out
}

/// `["release",id,count]`, in a string of exactly its length (see [`pull_text`]).
pub(crate) fn release_text(id: i64, count: u64) -> String {
    let (mut id_digits, mut count_digits) = (itoa::Buffer::new(), itoa::Buffer::new());
    let (id, count) = (id_digits.format(id), count_digits.format(count));
    let mut out = String::with_capacity(r#"["release",,]"#.len() + id.len() + count.len());
    out.push_str(r#"["release","#);
    out.push_str(id);
    out.push(',');
    out.push_str(count);
    out.push(']');
    out
}

/// A new string holding `["resolve",id,`; append the expression and [`end_message`].
pub(crate) fn resolve_prefix(id: i64) -> String {
    let mut out = String::with_capacity(64);
    begin_resolve(id, &mut out);
    out
}

/// A new string holding `["reject",id,`; append the expression and [`end_message`].
pub(crate) fn reject_prefix(id: i64) -> String {
    let mut out = String::with_capacity(64);
    begin_reject(id, &mut out);
    out
}

/// `["abort",reason]` for a plain reason, or `["abort",null]` if it cannot be encoded: the peer
/// must still learn that the session is over.
pub(crate) fn abort_text(reason: &Value) -> String {
    let mut out = String::with_capacity(64);
    begin(&mut out, "abort");
    out.push(',');
    let start = out.len();
    if encode_value(reason, &mut NoRefs, &mut out).is_err() {
        out.truncate(start);
        out.push_str("null");
    }
    end_message(&mut out);
    out
}

/// `["push",["remap",subject,[],[captures],[instructions]]]` (protocol.md section 9.2), with
/// each instruction already encoded.
pub(crate) fn remap_push_text(
    subject: i64,
    captures: &[Capture],
    instructions: &[String],
) -> String {
    let len = instructions.iter().map(|i| i.len() + 1).sum::<usize>() + 16 * captures.len();
    let mut out = String::with_capacity(32 + len);
    begin_push(&mut out);
    begin(&mut out, "remap");
    write_id(subject, &mut out);
    out.push_str(",[],[");
    for (i, capture) in captures.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let (tag, id) = match capture {
            Capture::Import(id) => ("import", *id),
            Capture::Export(id) => ("export", *id),
        };
        begin(&mut out, tag);
        write_id(id, &mut out);
        out.push(']');
    }
    out.push_str("],[");
    for (i, instruction) in instructions.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(instruction);
    }
    out.push_str("]]");
    end_message(&mut out);
    out
}
