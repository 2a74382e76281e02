//! JSON that JavaScript's `JSON.parse` reads and serde_json refuses, rewritten before a
//! received message is parsed so a session is not aborted over a value capnweb accepts:
//!
//! - **Numbers too large for a double.** `1e400` is `Infinity` (and `-1e400` `-Infinity`) in
//!   JavaScript; serde_json refuses it ("number out of range"). Each becomes `["inf"]` or
//!   `["-inf"]`, the expressions for the infinities, and the operand of `["date", n]` becomes
//!   `null`, the form of the invalid date `new Date(Infinity)` is. (A literal of more than 308
//!   digits with no exponent overflows too; no peer writes one, and it still aborts.)
//! - **Lone UTF-16 surrogates.** A JavaScript string may hold an unpaired surrogate (a
//!   truncated emoji in user text is enough), which JSON carries as an escape such as
//!   `"\ud83d"`. A Rust string cannot hold one, so each becomes U+FFFD (the replacement
//!   character, what `String.prototype.toWellFormed()` and every UTF-8 encoder produce): lossy,
//!   and only for the unpaired half; a proper pair stays the character it encodes.
//!
//! Finding candidates costs one vectorized search for `e`/`E` and one for `\u` per message;
//! only a message with an exponent right after a digit, or with a surrogate escape, is
//! rewritten token by token.

use super::words::{splat, zero_bytes};

/// The message as serde_json can read it with JavaScript's meaning, or `None` when it needs
/// no change (nearly always).
pub(crate) fn normalized(text: &str) -> Option<String> {
    if may_need_rewriting(text.as_bytes()) {
        rewrite(text)
    } else {
        None
    }
}

/// Whether `bytes` has a digit followed by an exponent mark, or a `\u` escape of a surrogate
/// (a superset of what needs rewriting: `rewrite` decides). Every received message passes
/// here, so it works on eight bytes at a time: a word is examined byte by byte only if it has
/// an `e`/`E` right after a digit or a point, or a backslash, which almost no message has
/// (`e` alone is in most: "pipeline", "release", "resolve"). See docs/performance.md.
fn may_need_rewriting(bytes: &[u8]) -> bool {
    let exponent = |at: usize| {
        at > 0
            && (bytes[at - 1].is_ascii_digit() || bytes[at - 1] == b'.')
            && bytes
                .get(at + 1)
                .is_some_and(|b| b.is_ascii_digit() || *b == b'+' || *b == b'-')
    };
    let surrogate =
        |at: usize| bytes.get(at + 1) == Some(&b'u') && surrogate_at(bytes, at + 2).is_some();
    let candidate = |at: usize| match bytes[at] {
        b'e' | b'E' => exponent(at),
        b'\\' => surrogate(at),
        _ => false,
    };
    // The flag of the previous word's last byte, as the flag of this word's first.
    let mut digit_before_first = 0;
    let mut suspect = |word: u64| {
        let numeric = digit_or_point_bytes(word);
        let after_numeric = (numeric << 8) | digit_before_first;
        digit_before_first = numeric >> 56;
        // `| 0x20` turns `E` into `e` (and no other byte into `e`).
        let marks = zero_bytes((word | splat(0x20)) ^ splat(b'e'));
        let backslashes = zero_bytes(word ^ splat(b'\\'));
        ((marks & after_numeric) | backslashes) != 0
    };
    let mut words = bytes.chunks_exact(8);
    let mut start = 0;
    for word in &mut words {
        let word = u64::from_le_bytes(word.try_into().expect("eight bytes"));
        if suspect(word) && (start..start + 8).any(candidate) {
            return true;
        }
        start += 8;
    }
    // The last bytes, padded with zeros (which are neither marks, digits nor backslashes).
    let mut last = [0; 8];
    last[..words.remainder().len()].copy_from_slice(words.remainder());
    suspect(u64::from_le_bytes(last)) && (start..bytes.len()).any(candidate)
}

/// The high bit of each byte of `word` that is an ASCII digit or `.`, and no other bit.
fn digit_or_point_bytes(word: u64) -> u64 {
    let high = splat(0x80);
    let ascii = !word & high;
    // With the high bit set first, each byte's subtraction stays in its byte; the high bit
    // survives exactly when the low seven bits are at least the subtrahend.
    let at_least_zero = (word | high) - splat(b'0');
    let above_nine = (word | high) - splat(b'9' + 1);
    (at_least_zero & !above_nine & ascii) | zero_bytes(word ^ splat(b'.'))
}

/// The UTF-16 surrogate whose four hex digits start at `at`, if they encode one.
fn surrogate_at(bytes: &[u8], at: usize) -> Option<u16> {
    let digits = std::str::from_utf8(bytes.get(at..at + 4)?).ok()?;
    let unit = u16::from_str_radix(digits, 16).ok()?;
    (0xd800..=0xdfff).contains(&unit).then_some(unit)
}

/// Rewrites every number token outside strings that parses to an infinity, and every lone
/// surrogate escape inside strings; `None` if nothing changed.
fn rewrite(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len() + 16);
    let mut copied = 0;
    let mut changed = false;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                let end = string_end(bytes, i);
                for at in lone_surrogates(&bytes[..end], i + 1) {
                    out.push_str(&text[copied..at]);
                    out.push_str("\\ufffd");
                    copied = at + 6;
                    changed = true;
                }
                i = end;
            }
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
    if !changed {
        return None;
    }
    out.push_str(&text[copied..]);
    Some(out)
}

/// The index just past the string starting at `start` (a quote).
fn string_end(bytes: &[u8], start: usize) -> usize {
    let mut i = start + 1;
    // Vectorized: a long string (a base64 stream chunk is 87 KB) is crossed in one search.
    while let Some(skip) = bytes
        .get(i..)
        .and_then(|rest| memchr::memchr2(b'\\', b'"', rest))
    {
        i += skip;
        match bytes[i] {
            b'"' => return i + 1,
            _ => i += 2,
        }
    }
    bytes.len()
}

/// Where the lone surrogate escapes (`\uXXXX`, six bytes each) are in the string whose
/// contents start at `start` and that `bytes` ends with (its closing quote).
fn lone_surrogates(bytes: &[u8], start: usize) -> Vec<usize> {
    let mut lone = Vec::new();
    let mut i = start;
    while i < bytes.len() {
        match memchr::memchr(b'\\', &bytes[i..]) {
            Some(skip) => i += skip,
            None => break,
        }
        if bytes.get(i + 1) != Some(&b'u') {
            i += 2;
            continue;
        }
        match surrogate_at(bytes, i + 2) {
            Some(0xd800..=0xdbff) => {
                let low = (bytes.get(i + 6) == Some(&b'\\') && bytes.get(i + 7) == Some(&b'u'))
                    .then(|| surrogate_at(bytes, i + 8))
                    .flatten();
                if matches!(low, Some(0xdc00..=0xdfff)) {
                    i += 12;
                    continue;
                }
                lone.push(i);
            }
            Some(_) => lone.push(i),
            None => {}
        }
        i += 6;
    }
    lone
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
    use super::normalized as spelled_out;
    use super::normalized;

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
    fn the_word_at_a_time_search_finds_what_a_byte_loop_finds() {
        // Every candidate at every offset and alignment, next to bytes that differ by one bit.
        let pieces = [
            "1e5", "2E+9", "\\ud800", "\\uDFFF", "e", "\\", "d", "%", "|", "5.e-3", "x",
        ];
        for prefix in 0..9 {
            for piece in pieces {
                for other in pieces {
                    let text = format!(
                        "{}{piece}{}{other}",
                        "a".repeat(prefix),
                        "-".repeat(prefix % 4)
                    );
                    let bytes = text.as_bytes();
                    let by_bytes = (0..bytes.len()).any(|at| {
                        let (b, next) = (bytes[at], bytes.get(at + 1).copied());
                        let prev = at.checked_sub(1).map(|p| bytes[p]);
                        let digit_before = prev.is_some_and(|p| p.is_ascii_digit() || p == b'.');
                        let exponent = matches!(b, b'e' | b'E')
                            && digit_before
                            && next.is_some_and(|n| n.is_ascii_digit() || n == b'+' || n == b'-');
                        let surrogate = b == b'\\'
                            && next == Some(b'u')
                            && super::surrogate_at(bytes, at + 2).is_some();
                        exponent || surrogate
                    });
                    assert_eq!(super::may_need_rewriting(bytes), by_bytes, "{text}");
                }
            }
        }
        for byte in 0..=255u8 {
            let word = u64::from_ne_bytes([b'a', b'b', byte, b'c', b'd', b'f', b'g', b'h']);
            let flag = u64::from_ne_bytes([0, 0, 0x80, 0, 0, 0, 0, 0]);
            let digit = byte.is_ascii_digit() || byte == b'.';
            assert_eq!(
                super::digit_or_point_bytes(word),
                if digit { flag } else { 0 },
                "{byte:#x}"
            );
            // Neighbours that are not zero but have every other pattern: 0x01 above a zero
            // is what a borrow would wrongly mark.
            let word = u64::from_ne_bytes([0x80, 0x01, byte, 0x01, 0x7f, 0xff, 0x00, 0x01]);
            let last_zero = u64::from_ne_bytes([0, 0, 0, 0, 0, 0, 0x80, 0]);
            let expected = if byte == 0 {
                flag | last_zero
            } else {
                last_zero
            };
            assert_eq!(super::zero_bytes(word), expected, "{byte:#x}");
        }
    }

    #[test]
    fn everything_else_is_left_alone() {
        for text in [
            r#"["push",[1e300, 2.5E-10, 0]]"#,
            r#"["push",["1e400 in a string", "\"1e999\""]]"#,
            r#"["push",[true, false, null]]"#,
            r#"["bytes","3e400"]"#,
            r#"["push",["\ud83d\ude00 is one character", "\\ud800 is no escape"]]"#,
        ] {
            assert_eq!(spelled_out(text), None, "{text}");
        }
    }

    #[test]
    fn lone_surrogates_become_the_replacement_character() {
        let cases = [
            (r#"["x\ud83d"]"#, r#"["x\ufffd"]"#),
            (r#"["\ude00x"]"#, r#"["\ufffdx"]"#),
            (r#"["\ud83d\ud83d\ude00"]"#, r#"["\ufffd\ud83d\ude00"]"#),
            (r#"{"\uDC00":1}"#, r#"{"\ufffd":1}"#),
        ];
        for (text, expected) in cases {
            assert_eq!(normalized(text).as_deref(), Some(expected), "{text}");
        }
    }
}
