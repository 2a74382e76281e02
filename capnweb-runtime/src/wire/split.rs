//! Splitting a received message into its first elements, in one validating pass.
//!
//! Nearly every message is a small array of which the engine reads only the first three
//! elements (`push`, `pull`, `resolve`, `reject`, `release`). [`split_message`] checks that
//! the whole text is one JSON array within the nesting bound and hands those elements back as
//! text. It accepts exactly the texts that serde_json accepts as an array of raw values and
//! that pass [`precheck`](super::json::precheck)'s nesting bound, and returns the same slices
//! (`split_tests.rs` holds the two together); serde_json needs several times the instructions
//! for that answer. Whatever it does not accept goes to the general parser, which says what is
//! wrong.
//!
//! The two messages every call brings to its callee, `["pull",id]` and `["release",id,n]`, take
//! a short path ([`split_flat`]) that reads only a tag and integers; what it does not take goes
//! to the full scan.
//!
//! Strings are checked as serde_json checks a value it skips: no raw control character, only
//! JSON's escapes, and four hex digits after `\u` whatever code unit they name (a lone
//! surrogate is refused later, where a string is read).

use super::words::{splat, zero_bytes};

/// The first three elements of a message array as text (without surrounding whitespace), and
/// how many elements it has.
pub(crate) struct Elements<'a> {
    first: [&'a str; 3],
    count: usize,
    /// Whether a number has an exponent or more than 308 characters, or a string has a `\u`
    /// escape of a UTF-16 surrogate: what [`js_json`](super::js_json) may have to rewrite.
    /// When false, it has nothing to rewrite.
    pub(crate) may_need_rewriting: bool,
}

impl<'a> Elements<'a> {
    /// Element `i`, if the array has it and it is among the first three.
    pub(crate) fn get(&self, i: usize) -> Option<&'a str> {
        (i < self.count)
            .then(|| self.first.get(i).copied())
            .flatten()
    }

    /// How many elements the array has.
    pub(crate) fn len(&self) -> usize {
        self.count
    }
}

/// The elements of `text` if it is one JSON array (surrounding whitespace allowed) whose
/// containers nest at most `max_nesting` deep, the array itself counting as one; `None`
/// otherwise.
pub(crate) fn split_message(text: &str, max_nesting: usize) -> Option<Elements<'_>> {
    if max_nesting > 0
        && let Some(flat) = split_flat(text)
    {
        return Some(flat);
    }
    split_general(text, max_nesting)
}

/// [`split_message`] for any text. Kept out of line: inlined next to [`split_flat`], its
/// loop was compiled into slower code (1.2% more instructions for scenario d's 64 KiB echo).
#[inline(never)]
fn split_general(text: &str, max_nesting: usize) -> Option<Elements<'_>> {
    let mut s = Scan {
        bytes: text.as_bytes(),
        at: 0,
        may_need_rewriting: false,
    };
    s.skip_whitespace();
    if s.next()? != b'[' || max_nesting == 0 {
        return None;
    }
    let mut out = Elements {
        first: [""; 3],
        count: 0,
        may_need_rewriting: false,
    };
    s.skip_whitespace();
    if s.peek()? == b']' {
        s.at += 1;
        return s.only_whitespace_left().then_some(out);
    }
    // The containers open below the message array. Iterative, so a deep text costs no stack.
    let mut open = Containers::default();
    let mut element_start = 0;
    loop {
        // A value starts here.
        s.skip_whitespace();
        if open.depth == 0 {
            element_start = s.at;
        }
        match s.next()? {
            b @ (b'[' | b'{') => {
                // The message array is level 1; this container is one below the innermost.
                if open.depth + 2 > max_nesting {
                    return None;
                }
                s.skip_whitespace();
                let object = b == b'{';
                if s.peek()? == if object { b'}' } else { b']' } {
                    s.at += 1;
                } else {
                    open.push(object);
                    if object {
                        s.key()?;
                    }
                    continue;
                }
            }
            b'"' => s.string()?,
            b't' => s.literal(b"rue")?,
            b'f' => s.literal(b"alse")?,
            b'n' => s.literal(b"ull")?,
            b @ (b'-' | b'0'..=b'9') => s.number(b)?,
            _ => return None,
        }
        // A value ended: close the containers it ends, up to where the next value starts.
        loop {
            if open.depth == 0 {
                if let Some(slot) = out.first.get_mut(out.count) {
                    *slot = &text[element_start..s.at];
                }
                out.count += 1;
            }
            s.skip_whitespace();
            match (s.next()?, open.depth, open.in_object()) {
                (b',', 0, _) | (b',', _, false) => break,
                (b',', _, true) => {
                    s.key()?;
                    break;
                }
                (b']', 0, _) => {
                    out.may_need_rewriting = s.may_need_rewriting;
                    return s.only_whitespace_left().then_some(out);
                }
                (b']', _, false) | (b'}', 1.., true) => open.pop(),
                _ => return None,
            }
        }
    }
}

/// `["tag",int,...]` written without whitespace: the form of every `pull` and `release` (two
/// of the messages each call brings) and of a `resolve` with an integer, split without the
/// general scan (about half its instructions for a `pull`). Anything else, including what the
/// general scan would refuse, returns `None` and goes there, so the answers are the same.
pub(super) fn split_flat(text: &str) -> Option<Elements<'_>> {
    let bytes = text.as_bytes();
    let tag = bytes.strip_prefix(b"[\"")?;
    // The tag: plain characters up to its closing quote (no escape, no control character).
    let quote = special_byte(tag)?;
    if tag[quote] != b'"' {
        return None;
    }
    let mut at = quote + 3;
    let mut out = Elements {
        first: [&text[1..at], "", ""],
        count: 1,
        may_need_rewriting: false,
    };
    loop {
        match *bytes.get(at)? {
            b']' => return (at + 1 == bytes.len()).then_some(out),
            b',' => {
                let start = at + 1;
                let end = flat_integer_end(bytes, start)?;
                if let Some(slot) = out.first.get_mut(out.count) {
                    *slot = &text[start..end];
                }
                out.count += 1;
                at = end;
            }
            _ => return None,
        }
    }
}

/// Where a JSON integer of at most 20 characters starting at `start` ends (`-?(0|[1-9][0-9]*)`;
/// what may follow it is the caller's check). Longer ones are left to the general scan, which
/// flags those a double cannot hold.
fn flat_integer_end(bytes: &[u8], start: usize) -> Option<usize> {
    let mut end = start + usize::from(bytes.get(start) == Some(&b'-'));
    match *bytes.get(end)? {
        b'0' => end += 1,
        b'1'..=b'9' => {
            end += 1;
            while matches!(bytes.get(end), Some(b'0'..=b'9')) {
                end += 1;
            }
        }
        _ => return None,
    }
    (end - start <= 20).then_some(end)
}

/// The kinds of the containers open inside the message array, one bit each (set for an
/// object), the innermost in the lowest bit; words that fill up move to `spilled`.
#[derive(Default)]
struct Containers {
    depth: usize,
    bits: u64,
    spilled: Vec<u64>,
}

impl Containers {
    fn push(&mut self, object: bool) {
        if self.depth > 0 && self.depth.is_multiple_of(64) {
            self.spilled.push(self.bits);
            self.bits = 0;
        }
        self.bits = (self.bits << 1) | u64::from(object);
        self.depth += 1;
    }

    fn pop(&mut self) {
        self.bits >>= 1;
        self.depth -= 1;
        if self.depth > 0 && self.depth.is_multiple_of(64) {
            self.bits = self.spilled.pop().unwrap_or_default();
        }
    }

    /// Whether the innermost container is an object (false when none is open).
    fn in_object(&self) -> bool {
        self.depth > 0 && self.bits & 1 == 1
    }
}

/// A position in the text being split.
struct Scan<'a> {
    bytes: &'a [u8],
    at: usize,
    /// See [`Elements::may_need_rewriting`].
    may_need_rewriting: bool,
}

impl Scan<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let b = self.peek()?;
        self.at += 1;
        Some(b)
    }

    /// Skips JSON whitespace (the four characters serde_json skips).
    fn skip_whitespace(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\n' | b'\t' | b'\r')) {
            self.at += 1;
        }
    }

    fn only_whitespace_left(&mut self) -> bool {
        self.skip_whitespace();
        self.at == self.bytes.len()
    }

    /// An object's key and its colon, with the whitespace around them.
    fn key(&mut self) -> Option<()> {
        self.skip_whitespace();
        if self.next()? != b'"' {
            return None;
        }
        self.string()?;
        self.skip_whitespace();
        (self.next()? == b':').then_some(())
    }

    /// The rest of a string whose opening quote was read.
    fn string(&mut self) -> Option<()> {
        loop {
            let rest = self.bytes.get(self.at..)?;
            let end = special_byte(rest)?;
            self.at += end + 1;
            match rest[end] {
                b'"' => return Some(()),
                b'\\' => {}
                _ => return None,
            }
            match self.next()? {
                b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => {}
                b'u' => {
                    let digits = self.bytes.get(self.at..self.at + 4)?;
                    if !digits.iter().all(u8::is_ascii_hexdigit) {
                        return None;
                    }
                    // D800-DFFF: `d` or `D`, then 8, 9 or a letter (every hex letter is above 8).
                    self.may_need_rewriting |= digits[0] | 0x20 == b'd' && digits[1] >= b'8';
                    self.at += 4;
                }
                _ => return None,
            }
        }
    }

    /// The rest of a number whose first character (`-` or a digit) was read. What may follow
    /// it is the caller's check: `01` ends after the `0` and then fails there.
    fn number(&mut self, first: u8) -> Option<()> {
        let start = self.at - 1;
        let first = if first == b'-' { self.next()? } else { first };
        match first {
            b'0' => {}
            b'1'..=b'9' => {
                self.digits();
            }
            _ => return None,
        }
        if self.peek() == Some(b'.') {
            self.at += 1;
            if self.digits() == 0 {
                return None;
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.may_need_rewriting = true;
            self.at += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.at += 1;
            }
            if self.digits() == 0 {
                return None;
            }
        }
        // Without an exponent only a literal this long can overflow a double.
        self.may_need_rewriting |= self.at - start > 308;
        Some(())
    }

    /// Skips a run of digits and says how long it was.
    fn digits(&mut self) -> usize {
        let start = self.at;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.at += 1;
        }
        self.at - start
    }

    /// The rest of `true`, `false` or `null`.
    fn literal(&mut self, rest: &[u8]) -> Option<()> {
        let end = self.at + rest.len();
        (self.bytes.get(self.at..end)? == rest).then(|| self.at = end)
    }
}

/// The index of the first quote, backslash or control character in `bytes`: what ends a run
/// of plain characters in a string. Eight bytes at a time, then one by one.
pub(crate) fn special_byte(bytes: &[u8]) -> Option<usize> {
    let mut chunks = bytes.chunks_exact(8);
    for (n, chunk) in chunks.by_ref().enumerate() {
        let mut word = [0; 8];
        word.copy_from_slice(chunk);
        // Little-endian, so the lowest flagged bit is the first byte in the text.
        let w = u64::from_le_bytes(word);
        let found = zero_bytes(w ^ splat(b'"'))
            | zero_bytes(w ^ splat(b'\\'))
            // A control character is a byte whose top three bits are clear.
            | zero_bytes(w & splat(0xe0));
        if found != 0 {
            return Some(n * 8 + found.trailing_zeros() as usize / 8);
        }
    }
    let done = bytes.len() - chunks.remainder().len();
    let tail = chunks.remainder();
    let at = tail
        .iter()
        .position(|&b| b == b'"' || b == b'\\' || b < 0x20)?;
    Some(done + at)
}
