//! Recognising plain data in received text without evaluating it.
//!
//! A large received value that holds only objects, scalars and escaped arrays is kept as its
//! text (a crate-private `Payload::Text`), so a typed receiver deserializes its own types
//! straight from it instead of going through a [`Value`](crate::Value) tree. The scan here says
//! whether that is safe: any form the evaluator would treat specially (a tagged array, a
//! blocked key, a string that is not valid UTF-16, nesting near the limit) makes the text
//! not plain, and the ordinary evaluator takes over. It may say "not plain" for text that is
//! (a key with an escape, say); it never says "plain" for text that is not.

use super::Limits;
use super::decode::is_blocked_key;

/// Below this size a tree is as cheap as the text, and small values stay trees.
pub(crate) const KEEP_AS_TEXT_MIN_LEN: usize = 512;

/// What an open bracket or brace is.
#[derive(Clone, Copy, PartialEq)]
enum Open {
    Object,
    /// The outer `[` of an escaped array `[[...]]`.
    Escape,
    /// The inner `[` of an escaped array: its element list.
    List,
}

/// True if `text`, a JSON value already checked as such and evaluated at `depth`, is an object
/// or escaped array of plain data whose every level stays below `limits.max_depth` (and below
/// the default limit, which applies when the text is expanded on its own later).
pub(crate) fn is_plain_data(text: &str, depth: usize, limits: &Limits) -> bool {
    let bytes = text.as_bytes();
    if !matches!(next_significant(bytes, 0), Some(b'{' | b'[')) {
        return false;
    }
    let max_depth = limits.max_depth.min(Limits::default().max_depth);
    // Containers open below the top value; each adds a level to the values inside it.
    let mut stack: Vec<Open> = Vec::with_capacity(16);
    let mut levels = 0usize;
    let mut expect_key = false;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        i += 1;
        match b {
            b'"' => {
                let key = expect_key;
                expect_key = false;
                match skip_string(bytes, i, key) {
                    Some(end) => {
                        if key && is_blocked_key(&text[i..end - 1]) {
                            return false;
                        }
                        i = end;
                    }
                    None => return false,
                }
            }
            b'{' => {
                stack.push(Open::Object);
                levels += 1;
                expect_key = true;
            }
            b'[' => {
                // Inside an escape the only `[` before its `]` is the one opening its list
                // (checked when the escape opened).
                if stack.last() == Some(&Open::Escape) {
                    stack.push(Open::List);
                } else {
                    // A value that is an array must be an escape: `[` again, right away.
                    if next_significant(bytes, i) != Some(b'[') {
                        return false;
                    }
                    stack.push(Open::Escape);
                    levels += 1;
                }
            }
            b']' => match stack.pop() {
                // The element list closes; only the escape's own `]` may follow.
                Some(Open::List) => {
                    if next_significant(bytes, i) != Some(b']') {
                        return false;
                    }
                }
                Some(Open::Escape) => {
                    levels -= 1;
                    if stack.is_empty() {
                        return next_significant(bytes, i).is_none();
                    }
                }
                _ => return false,
            },
            b'}' => {
                if stack.pop() != Some(Open::Object) {
                    return false;
                }
                levels -= 1;
                if stack.is_empty() {
                    return next_significant(bytes, i).is_none();
                }
            }
            b',' => expect_key = stack.last() == Some(&Open::Object),
            _ => {}
        }
        if depth + levels >= max_depth {
            return false;
        }
    }
    // The top value never closed: not JSON, so not plain either.
    false
}

/// The index after the closing quote of the string whose content starts at `start`, or `None`
/// if the string holds an escaped UTF-16 surrogate (a lone one cannot become a Rust string;
/// pairs are rare enough to leave to the evaluator) or is a key with any escape (it could
/// spell a blocked key).
fn skip_string(bytes: &[u8], start: usize, is_key: bool) -> Option<usize> {
    let mut i = start;
    loop {
        i += memchr::memchr2(b'"', b'\\', &bytes[i..])?;
        if bytes[i] == b'"' {
            return Some(i + 1);
        }
        if is_key {
            return None;
        }
        match bytes.get(i + 1)? {
            b'u' => {
                let hex = bytes.get(i + 2..i + 6)?;
                if matches!(hex[0], b'd' | b'D')
                    && matches!(hex[1], b'8'..=b'9' | b'a'..=b'f' | b'A'..=b'F')
                {
                    return None;
                }
                i += 6;
            }
            _ => i += 2,
        }
    }
}

/// The first byte at or after `i` that is not JSON whitespace.
fn next_significant(bytes: &[u8], i: usize) -> Option<u8> {
    bytes[i..]
        .iter()
        .copied()
        .find(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(text: &str) -> bool {
        is_plain_data(text, 0, &Limits::default())
    }

    #[test]
    fn objects_scalars_and_escaped_arrays_are_plain() {
        assert!(plain(r#"{"a":1,"b":"x","c":null,"d":true,"e":-1.5e3}"#));
        assert!(plain(r#"[[1,2,3]]"#));
        assert!(plain(r#"[[]]"#));
        assert!(plain(r#"{"a":[[{"b":[[[[1]],[[]]]]}]]}"#));
        assert!(plain(" { \"a\" : [ [ 1 , [ [ 2 ] ] ] ] } "));
        assert!(plain(r#"{"s":"[\"date\",1]","t":"\"}{]["}"#));
        assert!(plain(r#"{"é":"ü\u00e9\n"}"#));
    }

    #[test]
    fn tagged_forms_and_bare_arrays_are_not_plain() {
        for text in [
            r#"["date",1]"#,
            r#"{"a":["undefined"]}"#,
            r#"{"a":["export",-1]}"#,
            r#"[[1,["bigint","1"]]]"#,
            r#"[[1],[2]]"#,
            r#"[[1]],[[2]]"#,
            r#"[1]"#,
            r#"[]"#,
            r#"{"a":[[1],2]}"#,
            r#"[["a"]]x"#,
        ] {
            assert!(!plain(text), "{text}");
        }
    }

    #[test]
    fn scalars_at_top_level_are_not_kept() {
        for text in ["1", "\"s\"", "null", "true"] {
            assert!(!plain(text), "{text}");
        }
    }

    #[test]
    fn blocked_keys_and_escaped_keys_are_not_plain() {
        assert!(!plain(r#"{"a":{"__proto__":1}}"#));
        assert!(!plain(r#"{"toString":1}"#));
        assert!(!plain(r#"{"__proto\u005f_":1}"#));
        // Blocked names are fine as values.
        assert!(plain(r#"{"a":"__proto__"}"#));
        assert!(plain(r#"[["constructor"]]"#));
    }

    #[test]
    fn surrogate_escapes_are_not_plain() {
        assert!(!plain(r#"{"a":"\ud800"}"#));
        assert!(!plain(r#"{"a":"\uDBFF\uDFFF"}"#));
        assert!(plain(r#"{"a":"\u0041\ue000"}"#));
    }

    #[test]
    fn nesting_at_the_limit_is_not_plain() {
        let limits = Limits {
            max_depth: 3,
            ..Limits::default()
        };
        // Values at depths 1 and 2 pass; a value at depth 3 is refused by the evaluator.
        assert!(is_plain_data(r#"{"a":{"b":1}}"#, 0, &limits));
        assert!(!is_plain_data(r#"{"a":{"b":{"c":1}}}"#, 0, &limits));
        assert!(!is_plain_data(r#"{"a":{"b":1}}"#, 1, &limits));
        assert!(!is_plain_data(r#"[[[[[[1]]]]]]"#, 0, &limits));
        assert!(is_plain_data(r#"[[[[1]]]]"#, 0, &limits));
    }
}
