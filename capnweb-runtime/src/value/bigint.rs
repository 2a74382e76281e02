//! JavaScript `BigInt(string)` parsing into canonical decimal text.
//!
//! capnweb hands the wire's bigint text straight to `BigInt()`, so a compatible receiver must
//! accept the same inputs: surrounding whitespace, an empty string (zero), an optional sign on
//! decimal digits, and `0x`/`0o`/`0b` literals (without a sign). The value is kept as decimal
//! text, so non-decimal input is converted here with a small schoolbook base conversion.

/// Parses `text` with `StringToBigInt` semantics; returns the canonical decimal text or `None`.
pub(crate) fn parse_js(text: &str) -> Option<String> {
    let s = text.trim_matches(is_js_whitespace);
    if s.is_empty() {
        return Some("0".to_owned());
    }
    let bytes = s.as_bytes();
    if bytes.len() > 2 && bytes[0] == b'0' {
        let radix = match bytes[1] {
            b'x' | b'X' => Some(16),
            b'o' | b'O' => Some(8),
            b'b' | b'B' => Some(2),
            _ => None,
        };
        if let Some(radix) = radix {
            return radix_to_decimal(&s[2..], radix);
        }
    } else if bytes.len() == 2
        && bytes[0] == b'0'
        && matches!(bytes[1], b'x' | b'X' | b'o' | b'O' | b'b' | b'B')
    {
        // A prefix without digits ("0x") is not a number.
        return None;
    }
    let (negative, digits) = match bytes[0] {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let trimmed = digits.trim_start_matches('0');
    if trimmed.is_empty() {
        return Some("0".to_owned());
    }
    Some(if negative {
        format!("-{trimmed}")
    } else {
        trimmed.to_owned()
    })
}

/// ECMAScript `StrWhiteSpaceChar`: WhiteSpace plus LineTerminator. Differs from Rust's
/// `char::is_whitespace` (JS has U+FEFF, lacks U+0085).
fn is_js_whitespace(c: char) -> bool {
    matches!(
        c,
        '\u{9}' | '\u{a}' | '\u{b}' | '\u{c}' | '\u{d}' | ' ' | '\u{a0}' | '\u{1680}' | '\u{2000}'
            ..='\u{200a}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{202f}'
                | '\u{205f}'
                | '\u{3000}'
                | '\u{feff}'
    )
}

/// Converts non-empty `digits` in `radix` (2, 8 or 16) to decimal text.
fn radix_to_decimal(digits: &str, radix: u32) -> Option<String> {
    if digits.is_empty() {
        return None;
    }
    // Little-endian limbs in base 10^9. Digits are consumed in chunks whose multiplier stays
    // below 2^28 so `limb * mult + carry` always fits in a u64.
    const LIMB: u64 = 1_000_000_000;
    let chunk = match radix {
        16 => 7,
        8 => 9,
        _ => 28,
    };
    let mut limbs: Vec<u64> = vec![0];
    let chars: Vec<char> = digits.chars().collect();
    for part in chars.chunks(chunk) {
        let mut mult: u64 = 1;
        let mut add: u64 = 0;
        for c in part {
            let d = c.to_digit(radix)?;
            mult *= u64::from(radix);
            add = add * u64::from(radix) + u64::from(d);
        }
        let mut carry = add;
        for limb in limbs.iter_mut() {
            let v = *limb * mult + carry;
            *limb = v % LIMB;
            carry = v / LIMB;
        }
        while carry > 0 {
            limbs.push(carry % LIMB);
            carry /= LIMB;
        }
    }
    while limbs.len() > 1 && limbs.last() == Some(&0) {
        limbs.pop();
    }
    let mut out = String::with_capacity(limbs.len() * 9);
    let mut iter = limbs.iter().rev();
    if let Some(first) = iter.next() {
        out.push_str(&first.to_string());
    }
    for limb in iter {
        out.push_str(&format!("{limb:09}"));
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn radix_conversion() {
        assert_eq!(radix_to_decimal("ff", 16).as_deref(), Some("255"));
        assert_eq!(radix_to_decimal("0", 16).as_deref(), Some("0"));
        assert_eq!(
            radix_to_decimal("ffffffffffffffffffffffffffffffff", 16).as_deref(),
            Some("340282366920938463463374607431768211455")
        );
        assert_eq!(radix_to_decimal("777", 8).as_deref(), Some("511"));
        assert_eq!(
            radix_to_decimal(&"1".repeat(64), 2).as_deref(),
            Some("18446744073709551615")
        );
        assert_eq!(radix_to_decimal("1g", 16), None);
        // The largest accepted input converts quickly and exactly (checked against Python).
        let big = radix_to_decimal(&"f".repeat(16382), 16).unwrap();
        assert_eq!(big.len(), 19726);
        assert!(big.starts_with("78262") && big.ends_with("15455"));
    }

    #[test]
    fn prefixes() {
        assert_eq!(parse_js("0x").as_deref(), None);
        assert_eq!(parse_js("0").as_deref(), Some("0"));
        assert_eq!(parse_js("0X0a").as_deref(), Some("10"));
        assert_eq!(parse_js("-12").as_deref(), Some("-12"));
        assert_eq!(parse_js("\u{feff}5\u{2029}").as_deref(), Some("5"));
    }
}
