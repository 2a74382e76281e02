//! Reading top-level messages with capnweb 0.12.0's shape rules and error texts.
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

use super::decode::safe_integer;
use super::js_json::normalized;
use super::json::{check_size, max_json_nesting, parse, write_json, write_number};
use super::message::{Expr, Message};
use super::split::{Elements, split_message};
use super::{Json, Limits};
use crate::error::RpcError;

/// Parses one received message text (size, nesting and JSON checks first, see
/// [`parse`](super::json::parse)).
pub(crate) fn parse_message<'a>(text: &'a str, limits: &Limits) -> Result<Message<'a>, RpcError> {
    check_size(text, limits.max_message_size)?;
    if let Some(elements) = split_message(text, max_json_nesting(limits))
        && let Some(msg) = common(&elements)
    {
        return Ok(msg);
    }
    parse_any(text, limits)
}

/// Parses a message received from a peer: [`parse_message`] after what JSON.parse reads and
/// serde_json refuses is rewritten ([`js_json`](super::js_json)), into `rewritten` if needed.
pub(crate) fn parse_received<'a>(
    text: &'a str,
    limits: &Limits,
    rewritten: &'a mut Option<String>,
) -> Result<Message<'a>, RpcError> {
    // The split sees every number and escape, so it knows when there is nothing to rewrite
    // (nearly always), and the rewriter's own search can be skipped. (A text over the size
    // limit in bytes takes the general path, which counts UTF-16 units after rewriting.)
    if text.len() <= limits.max_message_size
        && let Some(elements) = split_message(text, max_json_nesting(limits))
        && !elements.may_need_rewriting
    {
        return match common(&elements) {
            Some(msg) => Ok(msg),
            None => parse_any(text, limits),
        };
    }
    *rewritten = normalized(text);
    let rewritten: &'a Option<String> = rewritten;
    parse_message(rewritten.as_deref().unwrap_or(text), limits)
}

/// The messages that make up nearly all traffic (`push`, `pull`, `resolve`, `reject`,
/// `release`), well-formed, with their expressions left as text; `None` for anything else,
/// including every malformed message (the tree parser reports those).
fn common<'a>(items: &Elements<'a>) -> Option<Message<'a>> {
    let id = |i: usize| id_number(items.get(i)?);
    let expr = |i: usize| Some(Expr::checked_text(items.get(i)?));
    Some(match items.get(0)? {
        r#""push""# => Message::Push(expr(1)?),
        r#""pull""# => Message::Pull(id(1)?),
        r#""resolve""# if items.len() > 2 => Message::Resolve(id(1)?, expr(2)?),
        r#""reject""# if items.len() > 2 => Message::Reject(id(1)?, expr(2)?),
        r#""release""# => Message::Release(id(1)?, u64::try_from(id(2)?).ok()?),
        _ => return None,
    })
}

/// The ID a JSON number's text names, if it is an integer within ±(2^53 - 1).
fn id_number(text: &str) -> Option<i64> {
    // Nearly every ID is a short run of digits: read it as an integer, not through the float
    // parser. (A valid JSON number of at most 15 digits and no point or exponent is an integer
    // within 2^53.)
    let digits = text.strip_prefix('-').unwrap_or(text);
    if (1..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) {
        return text.parse::<i64>().ok();
    }
    // JSON number text is valid Rust float syntax; out-of-range numbers (which serde_json
    // refuses) come out infinite and are no IDs.
    safe_integer(text.parse::<f64>().ok()?)
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
            let expr = Expr::from(items.swap_remove(1));
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
            let expr = Expr::from(items.swap_remove(2));
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
            1 => Message::Abort(Expr::from(Json::Array(vec![Json::from("undefined")]))),
            _ => Message::Abort(Expr::from(items.swap_remove(1))),
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

#[cfg(test)]
mod tests {
    use super::{id_number, safe_integer};

    /// The integer shortcut names the same IDs as the float parser it skips.
    #[test]
    fn id_numbers_match_the_float_reading() {
        let texts = [
            "0",
            "-0",
            "7",
            "-42",
            "123456789012345",
            "-999999999999999",
            "1234567890123456",
            "9007199254740991",
            "-9007199254740991",
            "9007199254740992",
            "1.0",
            "1e3",
            "-1.5",
            "1e400",
        ];
        for text in texts {
            let by_float = safe_integer(text.parse::<f64>().unwrap());
            assert_eq!(id_number(text), by_float, "{text}");
        }
    }
}
