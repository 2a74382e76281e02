//! Looking at eight bytes of text at a time: the word-wide byte tests that the scans over
//! every received message (`js_json`'s prefilter, `split`'s strings) are built from.

/// `byte` in each of a word's eight bytes.
pub(crate) const fn splat(byte: u8) -> u64 {
    u64::from_ne_bytes([byte; 8])
}

/// The high bit of each byte of `word` that is zero, and no other bit.
pub(crate) fn zero_bytes(word: u64) -> u64 {
    let low7 = splat(0x7f);
    // Adding 0x7f to the low seven bits carries into the high bit unless they are all zero;
    // no carry crosses into the next byte.
    !(((word & low7) + low7) | word) & splat(0x80)
}
