//! JSON numbers too large for a double. JavaScript's `JSON.parse` reads `1e400` as `Infinity`
//! (and `-1e400` as `-Infinity`); serde_json refuses them ("number out of range"), which would
//! abort a session over a value capnweb accepts. A received message that may hold one is
//! rewritten before it is parsed: each such number becomes `["inf"]` or `["-inf"]`, the
//! expressions for the infinities, and the operand of `["date", n]` becomes `null`, the form
//! of the invalid date `new Date(Infinity)` is.
//!
//! Finding candidates costs one vectorized search for `e`/`E` per message; only a message with
//! an exponent right after a digit is scanned token by token. (A literal of more than 308
//! digits with no exponent overflows too; no peer writes one, and it still aborts.)

/// The message with its out-of-range numbers written as infinities, or `None` when it has
/// none (nearly always).
pub(crate) fn spelled_out(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let candidate = memchr::memchr2_iter(b'e', b'E', bytes).any(|at| {
        at > 0
            && (bytes[at - 1].is_ascii_digit() || bytes[at - 1] == b'.')
            && bytes
                .get(at + 1)
                .is_some_and(|b| b.is_ascii_digit() || *b == b'+' || *b == b'-')
    });
    if !candidate {
        return None;
    }
    rewrite(text)
}

/// Rewrites every number token outside strings that parses to an infinity; `None` if none does.
fn rewrite(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len() + 16);
    let mut copied = 0;
    let mut changed = false;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => i = string_end(bytes, i),
            b'-' | b'0'..=b'9' => {
                let end = number_end(bytes, i);
                let token = &text[i..end];
                let value: f64 = token.parse().unwrap_or(0.0);
                if value.is_infinite() {
                    out.push_str(&text[copied..i]);
                    let replacement = if is_date_operand(&out) {
                        "null"
                    } else if value < 0.0 {
                        r#"["-inf"]"#
                    } else {
                        r#"["inf"]"#
                    };
                    out.push_str(replacement);
                    copied = end;
                    changed = true;
                }
                i = end;
            }
            _ => i += 1,
        }
    }
    out.push_str(&text[copied..]);
    changed.then_some(out)
}

/// The index just past the string starting at `start` (a quote).
fn string_end(bytes: &[u8], start: usize) -> usize {
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    bytes.len()
}

fn number_end(bytes: &[u8], start: usize) -> usize {
    let mut i = start + 1;
    while i < bytes.len() && matches!(bytes[i], b'0'..=b'9' | b'.' | b'e' | b'E' | b'+' | b'-') {
        i += 1;
    }
    i
}

/// Whether the text written so far ends with `["date",` (whitespace allowed).
fn is_date_operand(written: &str) -> bool {
    let rest = written.trim_end();
    let Some(rest) = rest.strip_suffix(',') else {
        return false;
    };
    let Some(rest) = rest.trim_end().strip_suffix(r#""date""#) else {
        return false;
    };
    rest.trim_end().ends_with('[')
}

#[cfg(test)]
mod tests {
    use super::spelled_out;

    #[test]
    fn out_of_range_numbers_become_infinities() {
        let cases = [
            (r#"["push",[1e400]]"#, r#"["push",[["inf"]]]"#),
            (r#"["push",[-1E+400, 2]]"#, r#"["push",[["-inf"], 2]]"#),
            (r#"{"a":[[1.5e999]]}"#, r#"{"a":[[["inf"]]]}"#),
            (r#"["date", 1e400]"#, r#"["date", null]"#),
            (r#"[["date",-1e400]]"#, r#"[["date",null]]"#),
        ];
        for (text, expected) in cases {
            assert_eq!(spelled_out(text).as_deref(), Some(expected), "{text}");
        }
    }

    #[test]
    fn everything_else_is_left_alone() {
        for text in [
            r#"["push",[1e300, 2.5E-10, 0]]"#,
            r#"["push",["1e400 in a string", "\"1e999\""]]"#,
            r#"["push",[true, false, null]]"#,
            r#"["bytes","3e400"]"#,
        ] {
            assert_eq!(spelled_out(text), None, "{text}");
        }
    }
}
