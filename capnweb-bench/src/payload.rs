//! The payload of scenario d: a deterministic nested JSON object of about 64 KiB with about
//! 1,000 keys (30 sections of 25 fields; strings, numbers, booleans, small arrays and objects).

use serde_json::{Map, Value, json};

/// Sections at the top level.
const SECTIONS: usize = 30;
/// Fields per section: with the sections and the small inner objects (two keys each, four per
/// section), 30 + 30 * 25 + 30 * 8 = 1,020 keys in all.
const FIELDS: usize = 25;
/// The serialized size the payload is grown to (at least).
pub const TARGET_BYTES: usize = 64 * 1024;

/// A tiny deterministic generator (64-bit LCG), so every run and every language sees the same
/// bytes (the Node client reads the payload from a file the bench writes).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    fn word(&mut self, len: usize) -> String {
        (0..len)
            .map(|_| char::from(b'a' + (self.next() % 26) as u8))
            .collect()
    }

    fn text(&mut self, len: usize) -> String {
        let mut out = String::with_capacity(len);
        while out.len() < len {
            if !out.is_empty() {
                out.push(' ');
            }
            let word_len = 2 + (self.next() % 8) as usize;
            out.push_str(&self.word(word_len));
        }
        out.truncate(len);
        out
    }
}

fn build(text_len: usize) -> Value {
    let mut rng = Lcg(0x00C0_FFEE);
    let mut root = Map::new();
    for s in 0..SECTIONS {
        let mut section = Map::new();
        for f in 0..FIELDS {
            let key = format!("{}_{f:02}", rng.word(6));
            let value = match f % 6 {
                0 => json!(rng.next() % 1_000_000),
                // Never integral: JavaScript has one number type, so 5.0 would come back as 5.
                1 => json!((rng.next() % 100_000) as f64 / 8.0 + 0.0625),
                2 => json!([rng.next() % 1000, rng.next() % 1000, rng.word(5)]),
                3 => json!(rng.next().is_multiple_of(2)),
                4 => json!({ "label": rng.text(text_len / 2), "rank": rng.next() % 100 }),
                _ => json!(rng.text(text_len)),
            };
            section.insert(key, value);
        }
        root.insert(format!("section_{s:02}"), Value::Object(section));
    }
    Value::Object(root)
}

/// The payload: the smallest string length that makes it at least [`TARGET_BYTES`] long.
pub fn payload() -> Value {
    let mut text_len = 16;
    loop {
        let value = build(text_len);
        if serialized_len(&value) >= TARGET_BYTES {
            return value;
        }
        text_len += 4;
    }
}

/// Size of the compact JSON text of `value`, in bytes.
pub fn serialized_len(value: &Value) -> usize {
    serde_json::to_string(value).map_or(0, |s| s.len())
}

/// Counts the object keys in `value`, at every depth.
#[cfg(test)]
fn count_keys(value: &Value) -> usize {
    match value {
        Value::Object(map) => map.len() + map.values().map(count_keys).sum::<usize>(),
        Value::Array(items) => items.iter().map(count_keys).sum(),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn about_64_kib_and_1000_keys_deterministic() {
        let p = payload();
        let len = serialized_len(&p);
        assert!((TARGET_BYTES..TARGET_BYTES + 4096).contains(&len), "{len}");
        assert_eq!(
            count_keys(&p),
            SECTIONS + SECTIONS * FIELDS + SECTIONS * 4 * 2
        );
        assert_eq!(count_keys(&p), 1020);
        assert_eq!(p, payload());
    }
}
