//! JSON text in and out, with JavaScript's conventions.
//!
//! Reading: the size limit is applied in UTF-16 code units (as capnweb measures
//! `string.length`), nesting is bounded by a cheap byte scan *before* serde_json runs (so a
//! hostile `[[[[...` cannot overflow the stack), and then serde_json parses with its own
//! recursion limit switched off (legitimate messages nest deeper than its default of 128).
//!
//! Writing: strings are escaped exactly as `JSON.stringify` does and numbers are formatted as
//! JavaScript prints them, so our output is byte-identical to a JS sender's.
//!
//! Lone surrogates: JS strings may hold unpaired UTF-16 surrogates, which `JSON.stringify`
//! writes as `\ud800`-style escapes. A Rust `String` cannot hold them, so such input is refused
//! with a `SyntaxError` naming the problem (the session aborts) rather than decoded lossily:
//! silently replacing characters would change application data without anyone noticing.

use super::{Json, Limits};
use crate::error::RpcError;

/// Extra JSON nesting allowed beyond two levels per value level: message wrappers, call
/// expressions, error props objects and the like.
const NESTING_SLACK: usize = 64;

/// The deepest JSON nesting [`parse`] accepts.
///
/// An escaped array costs two JSON levels per value level, so `2 * max_depth` plus some slack
/// covers every message the evaluator could accept (576 levels with the default limits). The
/// bound also keeps serde_json's recursion shallow: a debug build needs about 2.3 KiB of stack
/// per level, so ~900 levels already overflow a 2 MiB thread. Raising `max_depth` far above the
/// default therefore needs threads with bigger stacks.
pub(crate) fn max_json_nesting(limits: &Limits) -> usize {
    limits
        .max_depth
        .saturating_mul(2)
        .saturating_add(NESTING_SLACK)
}

/// The checks made before any JSON is parsed: the size limit, and the nesting bound that keeps
/// serde_json's recursion (switched off) within the stack.
pub(crate) fn precheck(text: &str, limits: &Limits) -> Result<(), RpcError> {
    check_size(text, limits.max_message_size)?;
    if nesting_exceeds(text.as_bytes(), max_json_nesting(limits)) {
        // JS would parse this and then fail evaluation with the depth error; report the same
        // text so a peer sees what a JS recipient would have said.
        return Err(RpcError::protocol_as(
            "TypeError",
            format!(
                "Deserialization exceeded maximum allowed message depth of {}.",
                limits.max_depth
            ),
        ));
    }
    Ok(())
}

/// Parses one JSON text received from the peer, enforcing the size and nesting limits.
///
/// Errors: `TypeError` for an oversized message or nesting beyond [`max_json_nesting`], `SyntaxError` for text
/// that is not JSON (including lone surrogate escapes, see the module docs).
pub fn parse(text: &str, limits: &Limits) -> Result<Json, RpcError> {
    precheck(text, limits)?;
    parse_prechecked(text)
}

/// [`parse`] for a text that already passed [`precheck`].
pub(crate) fn parse_prechecked(text: &str) -> Result<Json, RpcError> {
    let mut de = serde_json::Deserializer::from_str(text);
    de.disable_recursion_limit();
    let parsed = serde::Deserialize::deserialize(&mut de).and_then(|v: Json| {
        de.end()?;
        Ok(v)
    });
    parsed.map_err(|e| syntax_error(text, &e))
}

/// Checks that `text` is one JSON value within the limits, as [`parse`] does, without
/// building a tree.
pub(crate) fn validate(text: &str, limits: &Limits) -> Result<(), RpcError> {
    precheck(text, limits)?;
    let mut de = serde_json::Deserializer::from_str(text);
    de.disable_recursion_limit();
    serde::Deserialize::deserialize(&mut de)
        .and_then(|serde::de::IgnoredAny| de.end())
        .map_err(|e| syntax_error(text, &e))
}

/// The `SyntaxError` for JSON text serde_json refused.
fn syntax_error(text: &str, e: &serde_json::Error) -> RpcError {
    if has_lone_surrogate_escape(text.as_bytes()) {
        RpcError::protocol_as(
            "SyntaxError",
            "Unsupported JSON: a string contains a lone UTF-16 surrogate escape (such as \\ud800), \
             which this implementation does not accept",
        )
    } else {
        RpcError::protocol_as("SyntaxError", format!("Invalid JSON in RPC message: {e}"))
    }
}

/// True if a string in `bytes` has a `\uXXXX` escape for a surrogate that is not part of a
/// well-formed pair. Only used to explain a parse failure, so it need not be fast.
fn has_lone_surrogate_escape(bytes: &[u8]) -> bool {
    let hex_at = |i: usize| -> Option<u16> {
        let digits = bytes.get(i..i + 4)?;
        u16::from_str_radix(std::str::from_utf8(digits).ok()?, 16).ok()
    };
    let escape_at = |i: usize| -> Option<u16> {
        (bytes.get(i) == Some(&b'\\') && bytes.get(i + 1) == Some(&b'u')).then(|| hex_at(i + 2))?
    };
    let mut in_string = false;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => in_string = !in_string,
            b'\\' if in_string => {
                if let Some(unit) = escape_at(i) {
                    if (0xdc00..=0xdfff).contains(&unit) {
                        return true;
                    }
                    if (0xd800..=0xdbff).contains(&unit) {
                        match escape_at(i + 6) {
                            Some(low) if (0xdc00..=0xdfff).contains(&low) => i += 6,
                            _ => return true,
                        }
                    }
                    i += 6;
                    continue;
                }
                i += 1; // skip the escaped character
            }
            _ => {}
        }
        i += 1;
    }
    false
}

/// Refuses text longer than `max` UTF-16 code units.
pub(crate) fn check_size(text: &str, max: usize) -> Result<(), RpcError> {
    // UTF-8 never uses fewer bytes than UTF-16 code units, so a short byte length is enough.
    if text.len() <= max {
        return Ok(());
    }
    let units: usize = text.chars().map(char::len_utf16).sum();
    if units <= max {
        return Ok(());
    }
    Err(RpcError::protocol_as(
        "TypeError",
        format!("Incoming message exceeds maximum size of {max} UTF-16 code units."),
    ))
}

/// True if `[`/`{` nesting (outside strings) goes deeper than `max`. Linear, no recursion.
pub(crate) fn nesting_exceeds(bytes: &[u8], max: usize) -> bool {
    // Nesting can never exceed the number of opening brackets, and counting them (memchr's
    // vectorized search, stopping once there are too many) is much cheaper than the exact scan:
    // most messages need no exact scan at all.
    if memchr::memchr2_iter(b'[', b'{', bytes).nth(max).is_none() {
        return false;
    }
    let mut depth = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                // Jump through the string: only a quote or a backslash matters in there.
                i += 1;
                loop {
                    match memchr::memchr2(b'"', b'\\', &bytes[i..]) {
                        Some(at) if bytes[i + at] == b'\\' => i += at + 2,
                        Some(at) => {
                            i += at;
                            break;
                        }
                        None => return false,
                    }
                    if i >= bytes.len() {
                        return false;
                    }
                }
            }
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    false
}

/// Bytes `write_string` must escape: control characters, `"` and `\`.
const NEEDS_ESCAPE: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        table[b] = true;
        b += 1;
    }
    table[b'"' as usize] = true;
    table[b'\\' as usize] = true;
    table
};

/// Appends `s` as a JSON string literal, escaped exactly as JavaScript's `JSON.stringify`:
/// `"` and `\` are backslash-escaped, `\b \f \n \r \t` use their short forms, other control
/// characters become `\u00xx` (lower-case hex), and everything else (all non-ASCII) is raw UTF-8.
pub fn write_string(s: &str, out: &mut String) {
    let bytes = s.as_bytes();
    out.reserve(s.len() + 2);
    out.push('"');
    let mut start = 0;
    loop {
        let at = start + plain_prefix_len(&bytes[start..]);
        let Some(&b) = bytes.get(at) else {
            break;
        };
        // `at` is at an ASCII byte, hence on a char boundary.
        out.push_str(&s[start..at]);
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x08 => out.push_str("\\b"),
            0x0c => out.push_str("\\f"),
            _ => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.push_str("\\u00");
                out.push(char::from(HEX[usize::from(b >> 4)]));
                out.push(char::from(HEX[usize::from(b & 0xf)]));
            }
        }
        start = at + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

/// How many bytes at the start of `bytes` need no escaping. Eight bytes at a time while it can
/// (word tricks that may stop early, never late), then byte by byte: strings are mostly clean,
/// and this is the hot loop of writing one.
fn plain_prefix_len(bytes: &[u8]) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let has_zero_byte = |x: u64| x.wrapping_sub(ONES) & !x & HIGH != 0;
    let mut i = 0;
    while let Some(chunk) = bytes.get(i..i + 8) {
        let x = u64::from_le_bytes(chunk.try_into().unwrap_or_default());
        let control = x.wrapping_sub(ONES * 0x20) & !x & HIGH != 0;
        if control
            || has_zero_byte(x ^ (ONES * u64::from(b'"')))
            || has_zero_byte(x ^ (ONES * u64::from(b'\\')))
        {
            break;
        }
        i += 8;
    }
    while i < bytes.len() && !NEEDS_ESCAPE[usize::from(bytes[i])] {
        i += 1;
    }
    i
}

/// Appends a finite number as JavaScript prints it (`1`, `1.5`, `1e+21`, `1e-7`, `0.000001`);
/// `-0` is written as `0`. Callers handle NaN and the infinities (JSON cannot carry them; this
/// function writes `null` for them, like `JSON.stringify`).
pub fn write_number(n: f64, out: &mut String) {
    if !n.is_finite() {
        out.push_str("null");
        return;
    }
    // Integers (most numbers on the wire) print as their digits in JS below 1e21; formatting
    // them as integers is several times cheaper than the shortest-float algorithm.
    if n.fract() == 0.0 && n.abs() < 1e15 {
        out.push_str(itoa::Buffer::new().format(n as i64));
        return;
    }
    let mut buf = ryu_js::Buffer::new();
    out.push_str(buf.format_finite(n));
}

/// Re-serializes a parsed JSON tree the way `JSON.stringify` would print the same value in JS:
/// numbers JS-formatted, strings JS-escaped, and integer-like object keys first in ascending
/// order (JS objects enumerate them that way). Used for texts such as `bad RPC message: <json>`.
pub fn write_json(json: &Json, out: &mut String) {
    // Iterative, so that a deep tree cannot overflow the stack.
    enum Step<'a> {
        Value(&'a Json),
        Raw(&'static str),
        Key(&'a str),
    }
    let mut stack = vec![Step::Value(json)];
    while let Some(step) = stack.pop() {
        match step {
            Step::Raw(s) => out.push_str(s),
            Step::Key(k) => {
                write_string(k, out);
                out.push(':');
            }
            Step::Value(v) => match v {
                Json::Null => out.push_str("null"),
                Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
                Json::Number(n) => write_number(n.as_f64().unwrap_or(f64::NAN), out),
                Json::String(s) => write_string(s, out),
                Json::Array(items) => {
                    out.push('[');
                    stack.push(Step::Raw("]"));
                    for (i, item) in items.iter().enumerate().rev() {
                        stack.push(Step::Value(item));
                        if i > 0 {
                            stack.push(Step::Raw(","));
                        }
                    }
                }
                Json::Object(map) => {
                    out.push('{');
                    stack.push(Step::Raw("}"));
                    let keys = js_key_order(map.keys().map(String::as_str));
                    for (i, key) in keys.into_iter().enumerate().rev() {
                        if let Some(item) = map.get(key) {
                            stack.push(Step::Value(item));
                        }
                        stack.push(Step::Key(key));
                        if i > 0 {
                            stack.push(Step::Raw(","));
                        }
                    }
                }
            },
        }
    }
}

/// Orders keys as a JavaScript object enumerates them: array-index keys (canonical integers
/// below 2^32 - 1) ascending, then the rest in insertion order.
pub(crate) fn js_key_order<'a>(keys: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut indexes: Vec<(u32, &'a str)> = Vec::new();
    let mut others = Vec::new();
    for key in keys {
        match array_index(key) {
            Some(i) => indexes.push((i, key)),
            None => others.push(key),
        }
    }
    indexes.sort_by_key(|(i, _)| *i);
    indexes.into_iter().map(|(_, k)| k).chain(others).collect()
}

/// The value of `key` if it is a canonical array index ("0", "42"; not "01" or "4294967295").
fn array_index(key: &str) -> Option<u32> {
    if key.is_empty() || (key.len() > 1 && key.starts_with('0')) {
        return None;
    }
    if !key.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    key.parse::<u32>().ok().filter(|&i| i != u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn num(n: f64) -> String {
        let mut s = String::new();
        write_number(n, &mut s);
        s
    }

    fn string(s: &str) -> String {
        let mut out = String::new();
        write_string(s, &mut out);
        out
    }

    fn reprint(text: &str) -> String {
        let mut out = String::new();
        write_json(&parse(text, &Limits::default()).unwrap(), &mut out);
        out
    }

    #[test]
    fn numbers_like_js() {
        assert_eq!(num(1.0), "1");
        assert_eq!(num(-1.5), "-1.5");
        assert_eq!(num(1e21), "1e+21");
        assert_eq!(num(1e20), "100000000000000000000");
        assert_eq!(num(0.000001), "0.000001");
        assert_eq!(num(1e-7), "1e-7");
        assert_eq!(num(-0.0), "0");
        assert_eq!(num(0.1 + 0.2), "0.30000000000000004");
        assert_eq!(num(9007199254740991.0), "9007199254740991");
        assert_eq!(num(5e-324), "5e-324");
        assert_eq!(num(f64::MAX), "1.7976931348623157e+308");
        assert_eq!(num(f64::NAN), "null");
        // The integer fast path prints what the float formatter prints.
        let mut n = 1.0f64;
        while n < 1e16 {
            for v in [n, n - 1.0, -n, 1.0 - n, n * 7.0 + 3.0] {
                assert_eq!(num(v), ryu_js::Buffer::new().format_finite(v), "{v}");
            }
            n *= 10.0;
        }
    }

    #[test]
    fn strings_like_js() {
        assert_eq!(
            string("héllo ✓ \"quoted\"\nnewline"),
            r#""héllo ✓ \"quoted\"\nnewline""#
        );
        assert_eq!(
            string("\u{0}\u{1f}\u{8}\u{c}\r\t\\\u{7f}"),
            "\"\\u0000\\u001f\\b\\f\\r\\t\\\\\u{7f}\""
        );
        assert_eq!(string("\u{2028}😀"), "\"\u{2028}😀\"");
        assert_eq!(string(""), "\"\"");
    }

    /// The word-at-a-time scan against byte-by-byte escaping: every character that needs an
    /// escape (and some that do not, multi-byte ones included) at every offset of strings long
    /// enough to cross several 8-byte words.
    #[test]
    fn escaping_finds_every_special_byte_at_every_offset() {
        fn reference(s: &str) -> String {
            let mut out = String::from("\"");
            for c in s.chars() {
                match c {
                    '"' => out.push_str("\\\""),
                    '\\' => out.push_str("\\\\"),
                    '\n' => out.push_str("\\n"),
                    '\r' => out.push_str("\\r"),
                    '\t' => out.push_str("\\t"),
                    '\u{8}' => out.push_str("\\b"),
                    '\u{c}' => out.push_str("\\f"),
                    c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
                    c => out.push(c),
                }
            }
            out.push('"');
            out
        }
        let specials = [
            '"', '\\', '\n', '\r', '\t', '\u{0}', '\u{1}', '\u{8}', '\u{c}', '\u{1f}', ' ', '!',
            '#', '[', ']', '\u{7f}', 'é', '✓', '😀',
        ];
        for len in 0..24 {
            for at in 0..len {
                for &special in &specials {
                    let text: String = (0..len)
                        .map(|i| if i == at { special } else { 'a' })
                        .collect();
                    assert_eq!(string(&text), reference(&text), "{text:?}");
                }
            }
        }
        let all_bytes: String = (0u8..0x80).map(char::from).collect();
        assert_eq!(string(&all_bytes), reference(&all_bytes));
    }

    #[test]
    fn reprints_like_json_stringify() {
        assert_eq!(
            reprint(r#"["hello", 1.0, -0, 1e21, {"b":1,"2":2,"1":3,"01":4}]"#),
            r#"["hello",1,0,1e+21,{"1":3,"2":2,"b":1,"01":4}]"#
        );
        assert_eq!(reprint(r#"{"a":1,"a":2}"#), r#"{"a":2}"#);
        assert_eq!(reprint("18446744073709551615"), "18446744073709552000");
        assert_eq!(reprint(r#""\u00e9\u0001""#), "\"é\\u0001\"");
    }

    #[test]
    fn refuses_bad_json() {
        let e = parse("[1,", &Limits::default()).unwrap_err();
        assert_eq!(e.name(), "SyntaxError");
        let e = parse(r#""\ud800""#, &Limits::default()).unwrap_err();
        assert_eq!(e.name(), "SyntaxError");
        assert!(
            e.message().contains("lone UTF-16 surrogate"),
            "{}",
            e.message()
        );
        for lone in [
            r#""\udc00x""#,
            r#"["\ud800\u0041"]"#,
            r#"{"\ud800":1}"#,
            r#""a\\\udbff""#,
        ] {
            let e = parse(lone, &Limits::default()).unwrap_err();
            assert!(
                e.message().contains("lone UTF-16 surrogate"),
                "{lone}: {}",
                e.message()
            );
        }
        assert!(!has_lone_surrogate_escape(br#""\\ud800""#));
        assert!(
            !parse("[1,", &Limits::default())
                .unwrap_err()
                .message()
                .contains("surrogate")
        );
        // A surrogate pair is fine.
        assert_eq!(
            parse(r#""\ud83d\ude00""#, &Limits::default()).unwrap(),
            Json::from("😀")
        );
        assert!(parse("1 2", &Limits::default()).is_err());
    }

    #[test]
    fn size_limit_counts_utf16_units() {
        let limits = Limits {
            max_message_size: 4,
            ..Limits::default()
        };
        assert!(parse("\"é\"", &limits).is_ok()); // 4 bytes
        assert!(parse("\"éé\"", &limits).is_ok()); // 6 bytes, 4 units
        let e = parse("\"ééé\"", &limits).unwrap_err();
        assert_eq!(e.name(), "TypeError");
        assert_eq!(
            e.message(),
            "Incoming message exceeds maximum size of 4 UTF-16 code units."
        );
        assert!(
            parse(
                "\"😀😀\"",
                &Limits {
                    max_message_size: 6,
                    ..Limits::default()
                }
            )
            .is_ok()
        );
        assert!(
            parse(
                "\"😀😀\"",
                &Limits {
                    max_message_size: 5,
                    ..Limits::default()
                }
            )
            .is_err()
        );
    }

    #[test]
    fn nesting_is_bounded_before_parsing() {
        let levels = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
        assert!(parse(&levels(576), &Limits::default()).is_ok());
        assert!(parse(&levels(577), &Limits::default()).is_err());
        let small = Limits {
            max_depth: 3,
            ..Limits::default()
        };
        assert!(parse(&levels(70), &small).is_ok());
        assert!(parse(&levels(71), &small).is_err());
        let deep = "[".repeat(1_000_000);
        let e = parse(&deep, &Limits::default()).unwrap_err();
        assert_eq!(
            e.message(),
            "Deserialization exceeded maximum allowed message depth of 256."
        );
        // Brackets inside strings do not count, escaped quotes do not end strings.
        let s = format!("[\"\\\"{}\"]", "[".repeat(5000));
        assert!(parse(&s, &Limits::default()).is_ok());
    }

    /// The exact scan (which jumps through strings) against a byte-by-byte reference, on
    /// texts with many brackets inside and outside strings, escapes, and cut-off endings.
    #[test]
    fn nesting_scan_matches_a_byte_by_byte_reference() {
        fn reference(bytes: &[u8], max: usize) -> bool {
            let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
            for &b in bytes {
                if in_string {
                    if escaped {
                        escaped = false;
                    } else if b == b'\\' {
                        escaped = true;
                    } else if b == b'"' {
                        in_string = false;
                    }
                    continue;
                }
                match b {
                    b'"' => in_string = true,
                    b'[' | b'{' => {
                        depth += 1;
                        if depth > max {
                            return true;
                        }
                    }
                    b']' | b'}' => depth = depth.saturating_sub(1),
                    _ => {}
                }
            }
            false
        }
        let pieces = [
            "[",
            "]",
            "{",
            "}",
            "\"[[\"",
            "\"\\\"[\"",
            "\"\\\\\"",
            "\"a\\",
            "1,",
            ":",
        ];
        // A deterministic walk over combinations of the pieces (no randomness in tests).
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..2000 {
            let mut text = String::new();
            for _ in 0..(seed % 40) {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                text.push_str(pieces[(seed % pieces.len() as u64) as usize]);
            }
            for max in [0, 1, 3, 8] {
                assert_eq!(
                    nesting_exceeds(text.as_bytes(), max),
                    reference(text.as_bytes(), max),
                    "{text:?} with max {max}"
                );
            }
        }
    }
}
