//! Values printed the way Node's `util.inspect` shows them: `123n`, `'text'`,
//! `Uint8Array(2) [ 104, 105 ]`, `{ id: 1, tags: [ 'a' ] }`, broken over lines when long, with
//! Node's colours when asked.

use capnweb_runtime::Value;
use capnweb_runtime::value::{Bytes, BytesKind, JsError, Object};

/// Past this width a compound value is broken over lines (Node's `breakLength` is 80; it
/// leaves room for the indentation).
const BREAK_WIDTH: usize = 72;

/// Elements shown of a long array or byte buffer (Node's `maxArrayLength`).
const MAX_ITEMS: usize = 100;

/// Renders `value`; `colour` adds ANSI colours (for a terminal).
pub fn inspect(value: &Value, colour: bool) -> String {
    Inspector { colour }.value(value, 0).text
}

/// Renders the properties of an error (`code: 'E_NOT_FOUND'`), one per line, for error
/// reports.
pub fn inspect_properties(props: &Object, colour: bool) -> Vec<String> {
    let inspector = Inspector { colour };
    props
        .iter()
        .map(|(key, value)| format!("{}: {}", key_text(key), inspector.value(value, 1).text))
        .collect()
}

/// A rendered piece: its text (possibly with colour codes) and its visible width.
struct Piece {
    text: String,
    width: usize,
    multiline: bool,
}

impl Piece {
    fn plain(text: String) -> Piece {
        Piece {
            width: text.chars().count(),
            multiline: text.contains('\n'),
            text,
        }
    }
}

struct Inspector {
    colour: bool,
}

/// Node's default styles.
#[derive(Clone, Copy)]
enum Style {
    Number,
    String,
    Date,
    Null,
    Undefined,
    Special,
}

impl Inspector {
    fn styled(&self, text: String, style: Style) -> Piece {
        let width = text.chars().count();
        if !self.colour {
            return Piece::plain(text);
        }
        let (open, close) = match style {
            Style::Number => (33, 39),
            Style::String => (32, 39),
            Style::Date => (35, 39),
            Style::Null => (1, 22),
            Style::Undefined => (90, 39),
            Style::Special => (36, 39),
        };
        Piece {
            text: format!("\x1b[{open}m{text}\x1b[{close}m"),
            width,
            multiline: false,
        }
    }

    fn value(&self, value: &Value, depth: usize) -> Piece {
        match value {
            Value::Undefined => self.styled("undefined".into(), Style::Undefined),
            Value::Null => self.styled("null".into(), Style::Null),
            Value::Bool(b) => self.styled(b.to_string(), Style::Number),
            Value::Number(n) => self.styled(number_text(*n), Style::Number),
            Value::BigInt(b) => self.styled(format!("{b}n"), Style::Number),
            Value::String(s) => self.styled(quote(s), Style::String),
            Value::Array(items) => {
                let mut pieces: Vec<Piece> = items
                    .iter()
                    .take(MAX_ITEMS)
                    .map(|item| self.value(item, depth + 1))
                    .collect();
                if items.len() > MAX_ITEMS {
                    pieces.push(more_items(items.len() - MAX_ITEMS));
                }
                self.group("", '[', ']', pieces, depth)
            }
            Value::Object(map) => self.object("", map, depth),
            Value::Date(date) => match date.millis() {
                Some(ms) => self.styled(
                    format!("Date({})", crate::time::format_iso(ms)),
                    Style::Date,
                ),
                None => self.styled("Invalid Date".into(), Style::Date),
            },
            Value::Bytes(bytes) => self.bytes(bytes, depth),
            Value::Error(error) => self.error(error, depth),
            Value::Url(url) => Piece::plain(format!(
                "URL({})",
                self.styled(quote(url), Style::String).text
            ))
            .with_width(url.chars().count() + 7),
            Value::Headers(pairs) => {
                let pieces = pairs
                    .iter()
                    .map(|(name, value)| self.entry(name, &Value::String(value.clone()), depth))
                    .collect();
                self.group("Headers ", '{', '}', pieces, depth)
            }
            Value::Request(request) => {
                let mut fields = Object::new();
                fields.insert("url".into(), Value::String(request.url.clone()));
                fields.extend(request.init.iter().map(|(k, v)| (k.clone(), v.clone())));
                self.object("Request ", &fields, depth)
            }
            Value::Response(response) => {
                let mut fields = response.init.clone();
                fields.insert("body".into(), response.body.clone());
                self.object("Response ", &fields, depth)
            }
            Value::Stub(_) => self.styled("[capability]".into(), Style::Special),
            Value::Promise(_) => self.styled("[promise]".into(), Style::Special),
            Value::ReadableStream(_) => self.styled("ReadableStream {}".into(), Style::Special),
            Value::WritableStream(_) => self.styled("WritableStream {}".into(), Style::Special),
            Value::Blob(blob) => {
                let mut fields = Object::new();
                fields.insert("size".into(), Value::from(blob.bytes.len() as f64));
                fields.insert("type".into(), Value::String(blob.content_type.clone()));
                self.object("Blob ", &fields, depth)
            }
            other => Piece::plain(format!("[{}]", other.kind())),
        }
    }

    fn object(&self, prefix: &str, map: &Object, depth: usize) -> Piece {
        let pieces = map
            .iter()
            .map(|(key, value)| self.entry(key, value, depth))
            .collect();
        self.group(prefix, '{', '}', pieces, depth)
    }

    fn entry(&self, key: &str, value: &Value, depth: usize) -> Piece {
        let key = key_text(key);
        let value = self.value(value, depth + 1);
        Piece {
            width: key.chars().count() + 2 + value.width,
            multiline: value.multiline,
            text: format!("{key}: {}", value.text),
        }
    }

    /// `prefix{ a, b }` on one line when it fits, else one element per line.
    fn group(
        &self,
        prefix: &str,
        open: char,
        close: char,
        pieces: Vec<Piece>,
        depth: usize,
    ) -> Piece {
        if pieces.is_empty() {
            return Piece::plain(format!("{prefix}{open}{close}"));
        }
        let width = prefix.len() + 4 + pieces.iter().map(|p| p.width + 2).sum::<usize>();
        if width <= BREAK_WIDTH && !pieces.iter().any(|p| p.multiline) {
            let inner: Vec<&str> = pieces.iter().map(|p| p.text.as_str()).collect();
            return Piece {
                text: format!("{prefix}{open} {} {close}", inner.join(", ")),
                width,
                multiline: false,
            };
        }
        let indent = "  ".repeat(depth + 1);
        let inner: Vec<String> = pieces
            .iter()
            .map(|p| format!("{indent}{}", p.text))
            .collect();
        Piece {
            text: format!(
                "{prefix}{open}\n{}\n{}{close}",
                inner.join(",\n"),
                "  ".repeat(depth)
            ),
            width: BREAK_WIDTH + 1,
            multiline: true,
        }
    }

    fn bytes(&self, bytes: &Bytes, depth: usize) -> Piece {
        let name = bytes.kind.name();
        if matches!(bytes.kind, BytesKind::ArrayBuffer | BytesKind::DataView) {
            let shown: Vec<String> = bytes
                .data
                .iter()
                .take(MAX_ITEMS)
                .map(|b| format!("{b:02x}"))
                .collect();
            let more = if bytes.data.len() > MAX_ITEMS {
                format!(" ... {} more bytes", bytes.data.len() - MAX_ITEMS)
            } else {
                String::new()
            };
            return Piece::plain(format!(
                "{name} {{ [Uint8Contents]: <{}{more}>, byteLength: {} }}",
                shown.join(" "),
                bytes.data.len()
            ));
        }
        let elements = elements(bytes);
        let count = elements.len();
        let mut pieces: Vec<Piece> = elements
            .into_iter()
            .take(MAX_ITEMS)
            .map(|e| self.styled(e, Style::Number))
            .collect();
        if count > MAX_ITEMS {
            pieces.push(more_items(count - MAX_ITEMS));
        }
        self.group(&format!("{name}({count}) "), '[', ']', pieces, depth)
    }

    fn error(&self, error: &JsError, depth: usize) -> Piece {
        let head = format!("[{}: {}]", error.name, error.message);
        if error.props.is_empty() {
            return Piece::plain(head);
        }
        self.object(&format!("{head} "), &error.props, depth)
    }
}

impl Piece {
    fn with_width(mut self, width: usize) -> Piece {
        self.width = width;
        self
    }
}

fn more_items(n: usize) -> Piece {
    Piece::plain(format!(
        "... {n} more item{}",
        if n == 1 { "" } else { "s" }
    ))
}

/// The elements of a typed array, as JavaScript reads them (little-endian).
fn elements(bytes: &Bytes) -> Vec<String> {
    let size = bytes.kind.element_size();
    bytes
        .data
        .chunks_exact(size)
        .map(|c| {
            let word = |n: usize| -> [u8; 8] {
                let mut buf = [0; 8];
                buf[..n].copy_from_slice(&c[..n]);
                buf
            };
            match bytes.kind {
                BytesKind::Int8Array => (c[0] as i8).to_string(),
                BytesKind::Int16Array => i16::from_le_bytes([c[0], c[1]]).to_string(),
                BytesKind::Uint16Array => u16::from_le_bytes([c[0], c[1]]).to_string(),
                BytesKind::Int32Array => i32::from_le_bytes([c[0], c[1], c[2], c[3]]).to_string(),
                BytesKind::Uint32Array => u32::from_le_bytes([c[0], c[1], c[2], c[3]]).to_string(),
                BytesKind::Float32Array => {
                    number_text(f64::from(f32::from_le_bytes([c[0], c[1], c[2], c[3]])))
                }
                BytesKind::Float64Array => number_text(f64::from_le_bytes(word(8))),
                BytesKind::BigInt64Array => format!("{}n", i64::from_le_bytes(word(8))),
                BytesKind::BigUint64Array => format!("{}n", u64::from_le_bytes(word(8))),
                _ => c[0].to_string(),
            }
        })
        .collect()
}

/// A number as JavaScript prints it (`-0` kept, as `util.inspect` does).
pub fn number_text(n: f64) -> String {
    if n == 0.0 && n.is_sign_negative() {
        return "-0".into();
    }
    ryu_js::Buffer::new().format(n).to_owned()
}

/// A property name: bare when it is an identifier, else quoted.
fn key_text(key: &str) -> String {
    let mut chars = key.chars();
    let identifier = chars
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_' || c == '$')
        && chars.all(|c| c.is_alphanumeric() || c == '_' || c == '$');
    if identifier {
        key.to_owned()
    } else {
        quote(key)
    }
}

/// A string in single quotes (double quotes if it holds single quotes only), escaped as
/// JavaScript would.
pub fn quote(s: &str) -> String {
    let q = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(q);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\u{8}' => out.push_str("\\b"),
            '\u{b}' => out.push_str("\\v"),
            '\u{c}' => out.push_str("\\f"),
            '\\' => out.push_str("\\\\"),
            c if c == q => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\x{:02X}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push(q);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use capnweb_runtime::value::{BigInt, Date};

    fn obj(entries: &[(&str, Value)]) -> Value {
        Value::Object(
            entries
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone()))
                .collect(),
        )
    }

    #[test]
    fn scalars_as_node_prints_them() {
        let cases = [
            (Value::Undefined, "undefined"),
            (Value::Null, "null"),
            (Value::Bool(true), "true"),
            (Value::from(1.0), "1"),
            (Value::from(-0.0), "-0"),
            (Value::from(1e21), "1e+21"),
            (Value::from(f64::NAN), "NaN"),
            (Value::from(f64::NEG_INFINITY), "-Infinity"),
            (Value::BigInt(BigInt::from(123)), "123n"),
            (Value::from("it's"), "\"it's\""),
            (Value::from("a\nb'\""), "'a\\nb\\'\"'"),
            (
                Value::Date(Date::from_millis(1_579_089_600_000.0)),
                "Date(2020-01-15T12:00:00.000Z)",
            ),
            (Value::Date(Date::invalid()), "Invalid Date"),
            (
                Value::Bytes(Bytes::new(b"hi".to_vec())),
                "Uint8Array(2) [ 104, 105 ]",
            ),
            (
                Value::Bytes(Bytes::with_kind(vec![1, 0, 2, 0], BytesKind::Uint16Array)),
                "Uint16Array(2) [ 1, 2 ]",
            ),
            (
                Value::Bytes(Bytes::with_kind(b"hi".to_vec(), BytesKind::ArrayBuffer)),
                "ArrayBuffer { [Uint8Contents]: <68 69>, byteLength: 2 }",
            ),
            (
                Value::Url("https://a.example/".into()),
                "URL('https://a.example/')",
            ),
        ];
        for (value, expected) in cases {
            assert_eq!(inspect(&value, false), expected, "{value:?}");
        }
    }

    #[test]
    fn compound_values_fit_or_break() {
        let small = obj(&[
            ("id", Value::from(1.0)),
            ("tags", Value::Array(vec!["math".into(), "engines".into()])),
            ("odd key", Value::Null),
        ]);
        assert_eq!(
            inspect(&small, false),
            "{ id: 1, tags: [ 'math', 'engines' ], 'odd key': null }"
        );
        let long = obj(&[
            ("bio", Value::from("a fairly long biography that goes on")),
            (
                "more",
                Value::from("and on and on, past the width of a line"),
            ),
        ]);
        assert_eq!(
            inspect(&long, false),
            "{\n  bio: 'a fairly long biography that goes on',\n  more: 'and on and on, past the width of a line'\n}"
        );
        let error =
            Value::from(JsError::new("NotFoundError", "gone").with_prop("code", "E_NOT_FOUND"));
        assert_eq!(
            inspect(&error, false),
            "[NotFoundError: gone] { code: 'E_NOT_FOUND' }"
        );
        let many = Value::Array((0..101).map(Value::from).collect());
        assert!(inspect(&many, false).ends_with("99,\n  ... 1 more item\n]"));
    }

    #[test]
    fn colours_are_node_styles() {
        assert_eq!(inspect(&Value::from(1.0), true), "\x1b[33m1\x1b[39m");
        assert_eq!(inspect(&Value::from("a"), true), "\x1b[32m'a'\x1b[39m");
        // Colour codes do not count towards the width.
        let list = Value::Array((0..10).map(Value::from).collect());
        assert!(!inspect(&list, true).contains('\n'));
    }
}
