//! The Fetch API's rules for the values capnweb builds with its constructors (`new URL`,
//! `new Headers`, `new Request`, `new Response`): what they refuse and how they normalize, so a
//! value a JavaScript peer would reject is rejected here too (with the same error class), and
//! an application that forwards a received request to an HTTP stack gets what a Worker would.
//! Checked against npm capnweb on Node (tests/node/golden-values.mjs).

use crate::error::RpcError;

/// `new URL(text).href`: WHATWG parsing and serialization (scheme and host lower-cased,
/// punycode, percent-encoding, dot segments resolved), or a `TypeError` for a relative or
/// malformed URL.
pub(crate) fn url(text: &str, error: impl FnOnce() -> String) -> Result<String, RpcError> {
    match url::Url::parse(text) {
        Ok(parsed) => Ok(parsed.into()),
        Err(_) => Err(RpcError::protocol_as("TypeError", error())),
    }
}

/// `new Headers(pairs)` iterated: names lower-cased, values trimmed of HTTP whitespace, sorted
/// by name, values of one name joined with ", " (except `set-cookie`, whose values stay
/// separate); a name that is not an HTTP token or a value with NUL, CR or LF is a `TypeError`.
pub(crate) fn headers(pairs: Vec<(String, String)>) -> Result<Vec<(String, String)>, RpcError> {
    let mut checked = Vec::with_capacity(pairs.len());
    for (name, value) in pairs {
        if !is_token(&name) {
            return Err(RpcError::protocol_as(
                "TypeError",
                format!("Headers.append: \"{name}\" is an invalid header name."),
            ));
        }
        let value = value.trim_matches(|c| matches!(c, '\t' | '\n' | '\r' | ' '));
        if value.contains(['\0', '\n', '\r']) {
            return Err(RpcError::protocol_as(
                "TypeError",
                format!("Headers.append: \"{value}\" is an invalid header value."),
            ));
        }
        checked.push((name.to_ascii_lowercase(), value.to_owned()));
    }
    // A stable sort keeps the order of the values of one name.
    checked.sort_by(|a, b| a.0.cmp(&b.0));
    let mut out: Vec<(String, String)> = Vec::with_capacity(checked.len());
    for (name, value) in checked {
        match out.last_mut() {
            Some((last, joined)) if *last == name && name != "set-cookie" => {
                joined.push_str(", ");
                joined.push_str(&value);
            }
            _ => out.push((name, value)),
        }
    }
    Ok(out)
}

/// A request's method as `new Request` keeps it: a token, not `CONNECT`, `TRACE` or `TRACK`
/// (`TypeError` otherwise), with the six standard methods upper-cased.
pub(crate) fn method(method: &str) -> Result<String, RpcError> {
    if !is_token(method) {
        return Err(RpcError::protocol_as(
            "TypeError",
            format!("'{method}' is not a valid HTTP method."),
        ));
    }
    let upper = method.to_ascii_uppercase();
    if matches!(upper.as_str(), "CONNECT" | "TRACE" | "TRACK") {
        return Err(RpcError::protocol_as(
            "TypeError",
            format!("'{method}' HTTP method is unsupported."),
        ));
    }
    Ok(match upper.as_str() {
        "DELETE" | "GET" | "HEAD" | "OPTIONS" | "POST" | "PUT" => upper,
        _ => method.to_owned(),
    })
}

/// A response's status text must be a reason phrase: tabs, spaces and visible characters.
pub(crate) fn status_text(text: &str) -> Result<(), RpcError> {
    let ok = text
        .chars()
        .all(|c| c == '\t' || c == ' ' || (c > ' ' && c != '\u{7f}' && (c as u32) < 0x100));
    if ok {
        Ok(())
    } else {
        Err(RpcError::protocol_as("TypeError", "Invalid statusText"))
    }
}

/// Statuses whose response cannot have a body.
pub(crate) fn is_null_body_status(status: f64) -> bool {
    [101.0, 103.0, 204.0, 205.0, 304.0].contains(&status)
}

/// An HTTP token (RFC 9110 section 5.6.2).
fn is_token(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_checked_and_normalized_as_the_headers_class_does() {
        let pairs = |list: &[(&str, &str)]| -> Vec<(String, String)> {
            list.iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect()
        };
        assert_eq!(
            headers(pairs(&[("X-B", "  v1 "), ("x-a", "2"), ("x-b", "v2")])).unwrap(),
            pairs(&[("x-a", "2"), ("x-b", "v1, v2")])
        );
        assert_eq!(
            headers(pairs(&[("Set-Cookie", "a=1"), ("set-cookie", "b=2")])).unwrap(),
            pairs(&[("set-cookie", "a=1"), ("set-cookie", "b=2")])
        );
        assert!(headers(pairs(&[("bad name", "v")])).is_err());
        assert!(headers(pairs(&[("x", "a\nb")])).is_err());
        assert_eq!(
            headers(pairs(&[("x", "tab\tin")])).unwrap(),
            pairs(&[("x", "tab\tin")])
        );
    }

    #[test]
    fn methods_are_checked_and_normalized_as_the_request_class_does() {
        assert_eq!(method("get").unwrap(), "GET");
        assert_eq!(method("patch").unwrap(), "patch");
        assert_eq!(method("connect").unwrap_err().name(), "TypeError");
        assert_eq!(method("b@d").unwrap_err().name(), "TypeError");
    }
}
