//! Mutations of an input: frame-level (drop, duplicate, swap, splice, insert a generated
//! message) and text-level (truncation, byte flips, numbers and strings swapped for edge
//! values). Text stays UTF-8, since every transport here carries strings.

use crate::generate;
use crate::rng::Rng;

/// Largest frame a mutation makes by repeating text.
const MAX_FRAME: usize = 16 * 1024;
/// Most frames in a mutated input.
const MAX_FRAMES: usize = 40;

/// Applies 1 to 4 mutations to `input`; `donor` is another input to splice from.
pub fn mutate(rng: &mut Rng, input: &mut Vec<String>, donor: &[String]) {
    for _ in 0..1 + rng.below(4) {
        mutate_once(rng, input, donor);
    }
    input.truncate(MAX_FRAMES);
    if input.is_empty() {
        input.push(generate::message_text(rng));
    }
}

fn mutate_once(rng: &mut Rng, input: &mut Vec<String>, donor: &[String]) {
    if input.is_empty() {
        input.push(generate::message_text(rng));
        return;
    }
    let i = rng.below(input.len());
    match rng.below(12) {
        0 => {
            input.remove(i);
        }
        1 => {
            let frame = input[i].clone();
            input.insert(i, frame);
        }
        2 => {
            let j = rng.below(input.len());
            input.swap(i, j);
        }
        3 if !donor.is_empty() => {
            let from = rng.below(donor.len());
            let n = 1 + rng.below(3.min(donor.len() - from));
            let at = rng.below(input.len() + 1);
            for (k, frame) in donor[from..from + n].iter().enumerate() {
                input.insert(at + k, frame.clone());
            }
        }
        4 => input.insert(rng.below(input.len() + 1), generate::message_text(rng)),
        5 => truncate(rng, &mut input[i]),
        6 => flip(rng, &mut input[i]),
        7 | 8 => replace_number(rng, &mut input[i]),
        9 => replace_string(rng, &mut input[i]),
        10 => repeat_part(rng, &mut input[i]),
        _ => match rng.below(4) {
            0 => input.insert(i, String::new()),
            // Two frames in one: a batch line with a newline inside, or text after the JSON.
            1 if i + 1 < input.len() => {
                let next = input.remove(i + 1);
                let sep = if rng.one_in(2) { "\n" } else { " " };
                input[i] = format!("{}{sep}{next}", input[i]);
            }
            2 => input[i].push_str(rng.pick::<&str>(&[" ", "\n", "\r\n", "]", ",", "\u{feff}"])),
            _ => input[i].insert(0, *rng.pick(&[' ', '\u{feff}', '\n'])),
        },
    }
}

/// Char boundaries of `text` (positions a cut or an insertion may use).
fn boundary(rng: &mut Rng, text: &str) -> usize {
    let mut at = rng.below(text.len() + 1);
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

fn truncate(rng: &mut Rng, frame: &mut String) {
    let at = boundary(rng, frame);
    frame.truncate(at);
}

/// Replaces one character by a structural one (or a stray non-ASCII one).
fn flip(rng: &mut Rng, frame: &mut String) {
    if frame.is_empty() {
        return;
    }
    let at = boundary(rng, frame).min(frame.len() - 1);
    let at = (0..=at)
        .rev()
        .find(|&k| frame.is_char_boundary(k))
        .unwrap_or(0);
    let len = frame[at..].chars().next().map_or(0, char::len_utf8);
    let with = *rng.pick(&[
        "[", "]", "{", "}", "\"", ",", ":", "0", "1", "-", "9", "e", ".", "\\", "x", " ", "é",
        "\u{0}",
    ]);
    frame.replace_range(at..at + len, with);
}

/// Edge values for a number found in the text.
const NUMBERS: &[&str] = &[
    "0",
    "1",
    "2",
    "3",
    "-1",
    "-2",
    "-3",
    "-0",
    "0.5",
    "1e309",
    "-1e309",
    "9007199254740993",
    "18446744073709551616",
    "1e2",
    "4294967295",
    "-2147483648",
];

/// Replaces one number in the text (an ID, a count, an argument) by an edge value.
fn replace_number(rng: &mut Rng, frame: &mut String) {
    let bytes = frame.as_bytes();
    let starts: Vec<usize> = (0..bytes.len())
        .filter(|&k| {
            (bytes[k].is_ascii_digit() || bytes[k] == b'-')
                && (k == 0 || matches!(bytes[k - 1], b',' | b'[' | b':'))
        })
        .collect();
    if starts.is_empty() {
        return;
    }
    let start = *rng.pick(&starts);
    let mut end = start + 1;
    while end < bytes.len() && matches!(bytes[end], b'0'..=b'9' | b'.' | b'e' | b'E' | b'+' | b'-')
    {
        end += 1;
    }
    frame.replace_range(start..end, rng.pick::<&str>(NUMBERS));
}

/// Edge values for a string found in the text (a method name, a tag, a key).
const STRINGS: &[&str] = &[
    "\"\"",
    "\"__proto__\"",
    "\"constructor\"",
    "\"then\"",
    "\"toString\"",
    "\"push\"",
    "\"pipeline\"",
    "\"import\"",
    "\"export\"",
    "\"promise\"",
    "\"remap\"",
    "\"error\"",
    "\"bigint\"",
    "\"undefined\"",
    "\"\\ud800\"",
    "\"\\u0000\"",
    "\"echo\"",
    "\"callCb\"",
    "null",
    "[]",
    "{}",
    "[[]]",
];

/// Replaces one string literal (without escapes) by an edge value.
fn replace_string(rng: &mut Rng, frame: &mut String) {
    let quotes: Vec<usize> = frame.match_indices('"').map(|(k, _)| k).collect();
    if quotes.len() < 2 {
        return;
    }
    let pair = rng.below(quotes.len() / 2);
    let (start, end) = (quotes[2 * pair], quotes[2 * pair + 1]);
    if frame[start..end].contains('\\') {
        return;
    }
    frame.replace_range(start..=end, rng.pick::<&str>(STRINGS));
}

/// Repeats a slice of the text a few times (deeper nesting, longer lists).
fn repeat_part(rng: &mut Rng, frame: &mut String) {
    let a = boundary(rng, frame);
    let b = boundary(rng, frame);
    let (a, b) = (a.min(b), a.max(b));
    if a == b {
        return;
    }
    let part = frame[a..b].to_owned();
    let times = 1 + rng.below(8);
    if frame.len() + part.len() * times > MAX_FRAME {
        return;
    }
    frame.insert_str(b, &part.repeat(times));
}
