//! `split_message` against what it replaces: serde_json reading the message as an array of raw
//! values, after `precheck`'s nesting bound. Both must accept the same texts and return the
//! same slices, on chosen edge cases and on generated and mangled messages.

use serde_json::value::RawValue;

use super::js_json::normalized;
use super::json::nesting_exceeds;
use super::split::{special_byte, split_flat, split_message};

/// What a split found: the first three elements and the count.
type Split<'a> = Option<(Vec<&'a str>, usize)>;

fn ours(text: &str, max: usize) -> Split<'_> {
    let elements = split_message(text, max)?;
    let first = (0..3).map_while(|i| elements.get(i)).collect();
    Some((first, elements.len()))
}

fn serde_json_split(text: &str, max: usize) -> Split<'_> {
    if nesting_exceeds(text.as_bytes(), max) {
        return None;
    }
    let mut de = serde_json::Deserializer::from_str(text);
    de.disable_recursion_limit();
    let items: Vec<&RawValue> = serde::Deserialize::deserialize(&mut de).ok()?;
    de.end().ok()?;
    let first = items.iter().take(3).map(|raw| raw.get()).collect();
    Some((first, items.len()))
}

fn assert_same(text: &str, max: usize) {
    assert_eq!(
        ours(text, max),
        serde_json_split(text, max),
        "split of {text:?} (nesting bound {max})"
    );
    // Where the split finds nothing to rewrite, the rewriter must agree.
    if let Some(elements) = split_message(text, max)
        && !elements.may_need_rewriting
    {
        assert_eq!(normalized(text), None, "rewriting of {text:?}");
    }
}

#[test]
fn what_javascript_alone_reads_is_flagged_for_rewriting() {
    let flagged = |text: &str| split_message(text, 8).map(|e| e.may_need_rewriting);
    for text in [
        "[1e999]",
        "[-1E+400]",
        r#"["\ud800"]"#,
        r#"["\uDFFF"]"#,
        r#"["\uD83D\uDE00"]"#,
        r#"[{"a":[1.5e3]}]"#,
    ] {
        assert_eq!(flagged(text), Some(true), "{text}");
        assert_same(text, 8);
    }
    let long = format!("[{}]", "9".repeat(309));
    assert_eq!(flagged(&long), Some(true));
    assert_same(&long, 8);
    for text in [
        "[1, 2.5, -0]",
        r#"["1e999", "\\ud800", "\u00e9", "\uC800", "\ud7ff"]"#,
    ] {
        assert_eq!(flagged(text), Some(false), "{text}");
        assert_same(text, 8);
    }
    assert_eq!(flagged(&format!("[{}]", "9".repeat(308))), Some(false));
}

#[test]
fn common_messages_split_into_their_elements() {
    let text = r#" ["push", ["pipeline", 0, ["add"], [1, 2]] ] "#;
    assert_eq!(
        ours(text, 10),
        Some((vec![r#""push""#, r#"["pipeline", 0, ["add"], [1, 2]]"#], 2))
    );
    assert_eq!(
        ours(r#"["release",3,1,{"x":[]},null]"#, 10),
        Some((vec![r#""release""#, "3", "1"], 5))
    );
    assert_eq!(ours("[]", 1), Some((vec![], 0)));
}

#[test]
fn edge_cases_are_judged_as_serde_json_judges_them() {
    let cases = [
        // Shapes.
        "[]",
        "[ ]",
        " [1] ",
        "\t\r\n[1]\n",
        "[1,]",
        "[,1]",
        "[1 2]",
        "[1]]",
        "[[1]",
        "[1] x",
        "{}",
        "1",
        "\"a\"",
        "",
        " ",
        "[",
        "]",
        "[{}]",
        "[{ }]",
        "[{,}]",
        r#"[{"a":1,}]"#,
        r#"[{"a" : 1 , "b":[ ] }]"#,
        r#"[{"a"}]"#,
        r#"[{"a":}]"#,
        r#"[{1:2}]"#,
        r#"[{"a":1 "b":2}]"#,
        "[[],[[]],{}]",
        // Literals.
        "[true,false,null]",
        "[tru]",
        "[nul]",
        "[True]",
        "[nulll]",
        "[truefalse]",
        // Numbers.
        "[0,-0,1,-1,10,1.5,-1.5e10,1E+2,1e-2,0.0,0e0]",
        "[01]",
        "[-]",
        "[-a]",
        "[1.]",
        "[.5]",
        "[1e]",
        "[1e+]",
        "[+1]",
        "[1.5.5]",
        "[0x10]",
        "[1e400,123456789012345678901234567890]",
        "[-01]",
        "[00]",
        // Strings and escapes.
        r#"["a\"b","\\","\/","\b\f\n\r\t"]"#,
        r#"["\u0041\u00e9\uD83D\uDE00"]"#,
        r#"["\ud800"]"#,
        r#"["\uDC00x"]"#,
        r#"["\u12"]"#,
        r#"["\u12G4"]"#,
        r#"["\x"]"#,
        r#"["\'"]"#,
        "[\"tab\there\"]",
        "[\"nul\u{0}\"]",
        "[\"del\u{7f}\"]",
        "[\"é ü 日本\"]",
        r#"["unterminated]"#,
        r#"["ends with backslash\"#,
        r#"["\"]"#,
        "[\"a\\\"]",
    ];
    for text in cases {
        for max in [0, 1, 2, 3, 64] {
            assert_same(text, max);
        }
    }
}

#[test]
fn nesting_is_bounded_as_precheck_bounds_it() {
    for depth in 1..8 {
        let array = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        let object = format!("[{}1{}]", r#"{"k":"#.repeat(depth), "}".repeat(depth));
        for max in 0..10 {
            assert_same(&array, max);
            assert_same(&object, max);
        }
    }
    // Objects and arrays alternating past the 64 levels the scanner keeps in one word.
    let mixed = format!("[{}1{}]", r#"{"k":["#.repeat(150), "]}".repeat(150));
    assert_same(&mixed, 1_000);
    assert_same(&mixed.replacen("]}]", "}]]", 1), 1_000);
    assert_same(&mixed.replacen("]}", "]]", 1), 1_000);
    // Deep enough to overflow a recursive scanner's stack.
    let deep = format!("{}{}", "[".repeat(200_000), "]".repeat(200_000));
    assert_same(&deep, 300_000);
}

/// A small deterministic generator (xorshift), so failures replay.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        usize::try_from(self.0 % n as u64).unwrap_or(0)
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

fn value(rng: &mut Rng, depth: usize, out: &mut String) {
    const SCALARS: &[&str] = &[
        "0",
        "-1",
        "12.5",
        "1e9",
        "-0.0e-3",
        "true",
        "false",
        "null",
        r#""""#,
        r#""push""#,
        r#""a\nb""#,
        r#""\u00e9""#,
        r#""\uD83D\uDE00""#,
        "\"日本\"",
        r#""\"q\"""#,
        "1e999",
        "-2E+400",
        r#""\udc00""#,
        r#""1e5""#,
    ];
    const SPACE: &[&str] = &["", "", "", " ", "\n", "\t ", "\r\n"];
    let kind = if depth == 0 { 0 } else { rng.below(4) };
    match kind {
        0 | 1 => out.push_str(rng.pick(SCALARS)),
        2 => {
            out.push('[');
            for i in 0..rng.below(4) {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(rng.pick(SPACE));
                value(rng, depth - 1, out);
                out.push_str(rng.pick(SPACE));
            }
            out.push(']');
        }
        _ => {
            out.push('{');
            for i in 0..rng.below(4) {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(rng.pick(SPACE));
                out.push_str(rng.pick(&[r#""k""#, r#""__proto__""#, r#""a\"b""#]));
                out.push_str(rng.pick(SPACE));
                out.push(':');
                value(rng, depth - 1, out);
            }
            out.push('}');
        }
    }
}

/// Changes one character: deleted, doubled, or replaced by one that matters to the grammar.
fn mangle(rng: &mut Rng, text: &str) -> String {
    const CHARS: &[&str] = &[
        "[", "]", "{", "}", ",", ":", "\"", "\\", "-", "0", "1", ".", "e", "+", " ", "\u{1}", "u",
        "x", "n", "é",
    ];
    let chars: Vec<char> = text.chars().collect();
    let at = rng.below(chars.len().max(1));
    let mut out = String::with_capacity(text.len() + 4);
    for (i, c) in chars.iter().enumerate() {
        if i == at {
            match rng.below(3) {
                0 => continue,
                1 => out.push(*c),
                _ => {
                    out.push_str(rng.pick(CHARS));
                    continue;
                }
            }
        }
        out.push(*c);
    }
    out
}

#[test]
fn generated_and_mangled_messages_split_as_serde_json_splits_them() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut accepted = 0;
    for _ in 0..4_000 {
        let mut text = String::from("[");
        text.push_str(rng.pick(&[r#""push","#, r#""release","#, ""]));
        value(&mut rng, 4, &mut text);
        text.push_str(rng.pick(&["]", ",1]", ", 2, 3 ]", "] "]));
        let max = 2 + rng.below(5);
        assert_same(&text, max);
        accepted += usize::from(ours(&text, max).is_some());
        let mut mangled = text;
        for _ in 0..1 + rng.below(3) {
            mangled = mangle(&mut rng, &mangled);
            assert_same(&mangled, max);
        }
    }
    // The generator must exercise acceptance, not only refusals.
    assert!(
        accepted > 1_000,
        "only {accepted} generated messages were valid"
    );
}

/// The short path for `["tag",int,...]` without whitespace (every `pull` and `release`) gives
/// what the general scan gives, and leaves to it whatever it does not take.
#[test]
fn flat_messages_split_as_serde_json_splits_them() {
    let long = format!(r#"["pull",{}]"#, "9".repeat(309));
    let twenty = format!(r#"["pull",-{}]"#, "9".repeat(19));
    for text in [
        r#"["pull",1]"#,
        r#"["release",12,1]"#,
        r#"["resolve",3,-7]"#,
        r#"["pull",0]"#,
        r#"["pull",-0]"#,
        r#"["release",1,2,3,4,5]"#,
        r#"["x"]"#,
        r#"[""]"#,
        r#"["日本",1]"#,
        r#"["pull",01]"#,
        r#"["pull",-]"#,
        r#"["pull",-01]"#,
        r#"["pull",1.5]"#,
        r#"["pull",1e5]"#,
        r#"["pull",]"#,
        r#"["pull",1,]"#,
        r#"["pull",,1]"#,
        r#"["pull"1]"#,
        r#"["pull",1]x"#,
        r#"["pull",1] "#,
        r#"["pull",1]]"#,
        r#"["pull",1"#,
        r#"["pull","#,
        r#"["pull"#,
        r#"["pu\"ll",1]"#,
        "[\"pu\u{1}ll\",1]",
        r#"["pull",[1]]"#,
        r#"["pull",true]"#,
        long.as_str(),
        twenty.as_str(),
    ] {
        for max in [0, 1, 2] {
            assert_same(text, max);
        }
    }
    assert_eq!(
        ours(r#"["release",12,1]"#, 1),
        Some((vec![r#""release""#, "12", "1"], 3))
    );
    // The short path takes the common forms and nothing with whitespace, fractions or nesting.
    for text in [
        r#"["pull",1]"#,
        r#"["release",12,1]"#,
        r#"["resolve",3,-7]"#,
    ] {
        assert!(split_flat(text).is_some(), "{text}");
    }
    for text in [
        r#"["pull", 1]"#,
        r#"["pull",1.5]"#,
        r#"["pull",[1]]"#,
        &long,
    ] {
        assert!(split_flat(text).is_none(), "{text}");
    }
    // Generated flat forms, then mangled.
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    for _ in 0..4_000 {
        let mut text = String::from("[");
        text.push_str(rng.pick(&[r#""pull""#, r#""release""#, r#""resolve""#, r#""""#]));
        for _ in 0..rng.below(4) {
            text.push(',');
            text.push_str(rng.pick(&[
                "0",
                "7",
                "-3",
                "12345678901234567890",
                "-1234567890123456789",
            ]));
        }
        text.push(']');
        assert_same(&text, 1 + rng.below(2));
        let mangled = mangle(&mut rng, &text);
        assert_same(&mangled, 1 + rng.below(2));
    }
}

/// The word-at-a-time search finds the first special byte wherever it is, next to any other
/// byte (the borrow of the bit tricks must never report a byte above the first match).
#[test]
fn the_first_special_byte_is_found_at_every_position() {
    let fillers = [
        b'a',
        b' ',
        b'!',
        b'#',
        b'[',
        b']',
        0x1f + 1,
        0x7f,
        0x80,
        0xc3,
        0xff,
    ];
    let specials = [b'"', b'\\', 0x00, 0x01, 0x1f];
    for len in 0..40 {
        for filler in fillers {
            let plain = vec![filler; len];
            assert_eq!(special_byte(&plain), None, "{plain:?}");
            for at in 0..len {
                for special in specials {
                    let mut bytes = plain.clone();
                    bytes[at] = special;
                    // A second special byte later must not hide the first.
                    if at + 1 < len {
                        bytes[len - 1] = b'"';
                    }
                    let naive = bytes
                        .iter()
                        .position(|&b| b == b'"' || b == b'\\' || b < 0x20);
                    assert_eq!(special_byte(&bytes), naive, "{bytes:?}");
                }
            }
        }
    }
}
