//! The pipeline language of `capnweb call` and `capnweb repl`: parsing text into a
//! [`Statement`]. The grammar is in the crate documentation.

use capnweb_runtime::value::PropertyKey;

/// One line: `let NAME = CHAIN` or a `CHAIN` to evaluate.
#[derive(Clone, Debug, PartialEq)]
pub enum Statement {
    /// `let name = chain`: evaluate and keep the result under `name`.
    Let(String, Chain),
    /// A chain whose value is printed.
    Eval(Chain),
}

/// `head.step.step(...)...`: property reads and calls, starting at a variable or at a member
/// of the server's main object.
#[derive(Clone, Debug, PartialEq)]
pub struct Chain {
    /// The first name: a variable if one has that name, otherwise a member of the main object.
    pub head: String,
    /// What follows the head, in order.
    pub steps: Vec<Step>,
}

/// One step of a chain.
#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    /// `.name`, `[0]` or `["name"]`.
    Get(PropertyKey),
    /// `(arg, ...)`: a call of what the chain names so far.
    Call(Vec<Literal>),
}

/// An argument: JSON, the special values, or a chain (a variable or a pipelined call).
#[derive(Clone, Debug, PartialEq)]
pub enum Literal {
    /// `undefined`
    Undefined,
    /// `null`
    Null,
    /// `true` / `false`
    Bool(bool),
    /// A number, including `NaN`, `Infinity` and `-Infinity`.
    Number(f64),
    /// `123n`, kept as its decimal digits.
    BigInt(String),
    /// A string in double or single quotes (JSON escapes).
    String(String),
    /// `date(ms)` or `date("ISO 8601 text")`, as milliseconds since the epoch.
    Date(f64),
    /// `bytes("base64")`.
    Bytes(Vec<u8>),
    /// `[a, b]`
    Array(Vec<Literal>),
    /// `{key: value, "key": value}`, in order.
    Object(Vec<(String, Literal)>),
    /// A variable, or a chain on the main object, passed as a (pipelined) promise.
    Chain(Chain),
}

/// What was wrong with a line, and where (a character offset).
#[derive(Clone, Debug, PartialEq)]
pub struct ParseError {
    /// The offset, in characters, where the problem was found.
    pub at: usize,
    /// What was expected or found.
    pub message: String,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (at character {})", self.message, self.at + 1)
    }
}

impl std::error::Error for ParseError {}

impl ParseError {
    /// The line with a caret under the position of the problem, then the message.
    pub fn pointing_into(&self, line: &str) -> String {
        format!("{line}\n{}^ {}", " ".repeat(self.at), self.message)
    }
}

/// Parses one line of the language.
pub fn parse_statement(text: &str) -> Result<Statement, ParseError> {
    let mut parser = Parser::new(text);
    parser.skip_space();
    let statement = if parser.keyword("let") {
        parser.skip_space();
        let at = parser.pos;
        let name = parser
            .identifier()
            .ok_or_else(|| parser.error_at(at, "expected a variable name after `let`"))?;
        if is_reserved(&name) {
            return Err(parser.error_at(at, format!("`{name}` is a reserved word")));
        }
        parser.skip_space();
        parser.expect('=')?;
        parser.skip_space();
        Statement::Let(name, parser.chain()?)
    } else {
        Statement::Eval(parser.chain()?)
    };
    parser.skip_space();
    if let Some(c) = parser.peek() {
        return Err(parser.error(format!("unexpected `{c}`")));
    }
    Ok(statement)
}

/// Names that are values, not members or variables.
fn is_reserved(name: &str) -> bool {
    matches!(
        name,
        "let" | "true" | "false" | "null" | "undefined" | "NaN" | "Infinity" | "date" | "bytes"
    )
}

/// Whether `c` may be part of an identifier (`$meta` is one).
pub fn is_identifier_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '$'
}

/// How deep values may nest (arrays, objects, chains as arguments): far beyond what anyone
/// types, and a bound on the parser's recursion, so deep input is an error, not a crash.
const MAX_NESTING: usize = 128;

struct Parser {
    chars: Vec<char>,
    pos: usize,
    /// How many values are being parsed inside one another right now.
    depth: usize,
}

impl Parser {
    fn new(text: &str) -> Parser {
        Parser {
            chars: text.chars().collect(),
            pos: 0,
            depth: 0,
        }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn error(&self, message: impl Into<String>) -> ParseError {
        self.error_at(self.pos, message)
    }

    fn error_at(&self, at: usize, message: impl Into<String>) -> ParseError {
        ParseError {
            at,
            message: message.into(),
        }
    }

    fn skip_space(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    fn expect(&mut self, c: char) -> Result<(), ParseError> {
        match self.peek() {
            Some(found) if found == c => {
                self.pos += 1;
                Ok(())
            }
            Some(found) => Err(self.error(format!("expected `{c}`, found `{found}`"))),
            None => Err(self.error(format!("expected `{c}`, found the end of the line"))),
        }
    }

    /// Consumes `word` if it is next as a whole identifier.
    fn keyword(&mut self, word: &str) -> bool {
        let start = self.pos;
        match self.identifier() {
            Some(found) if found == word => true,
            _ => {
                self.pos = start;
                false
            }
        }
    }

    fn identifier(&mut self) -> Option<String> {
        let start = self.pos;
        if self
            .peek()
            .is_none_or(|c| !is_identifier_char(c) || c.is_ascii_digit())
        {
            return None;
        }
        while self.peek().is_some_and(is_identifier_char) {
            self.pos += 1;
        }
        Some(self.chars[start..self.pos].iter().collect())
    }

    fn chain(&mut self) -> Result<Chain, ParseError> {
        let at = self.pos;
        let head = self.identifier().ok_or_else(|| {
            self.error("expected a name (a member of the main object or a variable)")
        })?;
        if is_reserved(&head) {
            return Err(self.error_at(at, format!("expected a name, found the value `{head}`")));
        }
        let mut steps = Vec::new();
        loop {
            self.skip_space();
            match self.peek() {
                Some('.') => {
                    self.pos += 1;
                    self.skip_space();
                    let name = self
                        .identifier()
                        .ok_or_else(|| self.error("expected a member name after `.`"))?;
                    steps.push(Step::Get(PropertyKey::Name(name)));
                }
                Some('[') => {
                    self.pos += 1;
                    self.skip_space();
                    let key = match self.literal()? {
                        Literal::String(name) => PropertyKey::Name(name),
                        Literal::Number(n) if n >= 0.0 && n.fract() == 0.0 && n < 9.0e15 => {
                            PropertyKey::Index(n as u64)
                        }
                        _ => return Err(self.error("expected a string or an index inside `[]`")),
                    };
                    self.skip_space();
                    self.expect(']')?;
                    steps.push(Step::Get(key));
                }
                Some('(') => {
                    self.pos += 1;
                    steps.push(Step::Call(self.list(')')?));
                }
                _ => return Ok(Chain { head, steps }),
            }
        }
    }

    /// Comma-separated literals up to `close` (the opening bracket is consumed).
    fn list(&mut self, close: char) -> Result<Vec<Literal>, ParseError> {
        let mut items = Vec::new();
        loop {
            self.skip_space();
            if self.peek() == Some(close) {
                self.pos += 1;
                return Ok(items);
            }
            items.push(self.literal()?);
            self.skip_space();
            match self.peek() {
                Some(',') => self.pos += 1,
                Some(c) if c == close => {}
                _ => return Err(self.error(format!("expected `,` or `{close}`"))),
            }
        }
    }

    fn literal(&mut self) -> Result<Literal, ParseError> {
        if self.depth == MAX_NESTING {
            return Err(self.error(format!("values nest more than {MAX_NESTING} deep")));
        }
        self.depth += 1;
        let parsed = self.literal_within_bound();
        self.depth -= 1;
        parsed
    }

    fn literal_within_bound(&mut self) -> Result<Literal, ParseError> {
        self.skip_space();
        let at = self.pos;
        match self.peek() {
            None => Err(self.error("expected a value, found the end of the line")),
            Some('"' | '\'') => Ok(Literal::String(self.string()?)),
            Some('[') => {
                self.pos += 1;
                Ok(Literal::Array(self.list(']')?))
            }
            Some('{') => {
                self.pos += 1;
                self.object()
            }
            Some(c) if c == '-' || c == '+' || c.is_ascii_digit() || c == '.' => self.number(),
            Some(c) if is_identifier_char(c) => {
                let start = self.pos;
                let word = self.identifier().unwrap_or_default();
                match word.as_str() {
                    "undefined" => Ok(Literal::Undefined),
                    "null" => Ok(Literal::Null),
                    "true" => Ok(Literal::Bool(true)),
                    "false" => Ok(Literal::Bool(false)),
                    "NaN" => Ok(Literal::Number(f64::NAN)),
                    "Infinity" => Ok(Literal::Number(f64::INFINITY)),
                    "date" => self.date(at),
                    "bytes" => self.bytes(at),
                    _ => {
                        self.pos = start;
                        Ok(Literal::Chain(self.chain()?))
                    }
                }
            }
            Some(c) => Err(self.error(format!("expected a value, found `{c}`"))),
        }
    }

    fn object(&mut self) -> Result<Literal, ParseError> {
        let mut entries = Vec::new();
        loop {
            self.skip_space();
            if self.peek() == Some('}') {
                self.pos += 1;
                return Ok(Literal::Object(entries));
            }
            let key = match self.peek() {
                Some('"' | '\'') => self.string()?,
                _ => self
                    .identifier()
                    .ok_or_else(|| self.error("expected a property name"))?,
            };
            self.skip_space();
            self.expect(':')?;
            let value = self.literal()?;
            entries.push((key, value));
            self.skip_space();
            match self.peek() {
                Some(',') => self.pos += 1,
                Some('}') => {}
                _ => return Err(self.error("expected `,` or `}`")),
            }
        }
    }

    /// A number, `-Infinity`, or a bigint (`123n`).
    fn number(&mut self) -> Result<Literal, ParseError> {
        let start = self.pos;
        if matches!(self.peek(), Some('-' | '+')) {
            self.pos += 1;
        }
        if self.keyword("Infinity") {
            let negative = self.chars[start] == '-';
            return Ok(Literal::Number(if negative {
                f64::NEG_INFINITY
            } else {
                f64::INFINITY
            }));
        }
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_')
            || (matches!(self.peek(), Some('-' | '+'))
                && matches!(self.chars.get(self.pos - 1), Some('e' | 'E')))
        {
            self.pos += 1;
        }
        let text: String = self.chars[start..self.pos].iter().collect();
        if let Some(digits) = text.strip_suffix('n') {
            let digits = digits.strip_prefix('+').unwrap_or(digits);
            let body = digits.strip_prefix('-').unwrap_or(digits);
            if !body.is_empty() && body.chars().all(|c| c.is_ascii_digit()) {
                return Ok(Literal::BigInt(digits.to_owned()));
            }
            return Err(self.error_at(start, format!("`{text}` is not a bigint")));
        }
        text.parse::<f64>()
            .ok()
            .filter(|n| n.is_finite())
            .map(Literal::Number)
            .ok_or_else(|| self.error_at(start, format!("`{text}` is not a number")))
    }

    /// A string in `"` or `'`, with JSON's escapes (and `\'`).
    fn string(&mut self) -> Result<String, ParseError> {
        let start = self.pos;
        let quote = self.peek().unwrap_or('"');
        self.pos += 1;
        let mut out = String::new();
        loop {
            let Some(c) = self.peek() else {
                return Err(self.error_at(start, "this string is not closed"));
            };
            self.pos += 1;
            match c {
                c if c == quote => return Ok(out),
                '\\' => {
                    let Some(escaped) = self.peek() else {
                        return Err(self.error_at(start, "this string is not closed"));
                    };
                    self.pos += 1;
                    match escaped {
                        'n' => out.push('\n'),
                        't' => out.push('\t'),
                        'r' => out.push('\r'),
                        'b' => out.push('\u{8}'),
                        'f' => out.push('\u{c}'),
                        '0' => out.push('\0'),
                        'u' => out.push(self.unicode_escape()?),
                        other => out.push(other),
                    }
                }
                c => out.push(c),
            }
        }
    }

    fn unicode_escape(&mut self) -> Result<char, ParseError> {
        let unit = self.hex4()?;
        if (0xD800..0xDC00).contains(&unit)
            && self.chars.get(self.pos) == Some(&'\\')
            && self.chars.get(self.pos + 1) == Some(&'u')
        {
            let save = self.pos;
            self.pos += 2;
            let low = self.hex4()?;
            if (0xDC00..0xE000).contains(&low) {
                let code = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
                return Ok(char::from_u32(code).unwrap_or('\u{FFFD}'));
            }
            self.pos = save;
        }
        Ok(char::from_u32(unit).unwrap_or('\u{FFFD}'))
    }

    fn hex4(&mut self) -> Result<u32, ParseError> {
        let digits: String = self.chars.iter().skip(self.pos).take(4).collect();
        let value = (digits.len() == 4)
            .then(|| u32::from_str_radix(&digits, 16).ok())
            .flatten()
            .ok_or_else(|| self.error("expected four hex digits after `\\u`"))?;
        self.pos += 4;
        Ok(value)
    }

    /// `date(ms)` or `date("2024-01-02T03:04:05Z")` (after the word `date`).
    fn date(&mut self, at: usize) -> Result<Literal, ParseError> {
        self.skip_space();
        self.expect('(')?;
        let args = self.list(')')?;
        match args.as_slice() {
            [Literal::Number(ms)] => Ok(Literal::Date(*ms)),
            [Literal::String(text)] => {
                crate::time::parse_iso(text)
                    .map(Literal::Date)
                    .ok_or_else(|| {
                        self.error_at(
                            at,
                            format!("`{text}` is not a date like 2024-01-02T03:04:05Z"),
                        )
                    })
            }
            _ => Err(self.error_at(
                at,
                "date takes milliseconds since the epoch or an ISO 8601 string",
            )),
        }
    }

    /// `bytes("base64")` (after the word `bytes`).
    fn bytes(&mut self, at: usize) -> Result<Literal, ParseError> {
        use base64::Engine;
        self.skip_space();
        self.expect('(')?;
        let args = self.list(')')?;
        match args.as_slice() {
            [Literal::String(text)] => base64::engine::general_purpose::STANDARD
                .decode(text)
                .map(Literal::Bytes)
                .map_err(|e| self.error_at(at, format!("bytes(...) needs base64: {e}"))),
            _ => Err(self.error_at(at, "bytes takes one base64 string")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(name: &str) -> Step {
        Step::Get(PropertyKey::Name(name.into()))
    }

    #[test]
    fn chains_of_reads_and_calls() {
        let parsed = parse_statement("users.get(1).profile().name").unwrap();
        assert_eq!(
            parsed,
            Statement::Eval(Chain {
                head: "users".into(),
                steps: vec![
                    get("get"),
                    Step::Call(vec![Literal::Number(1.0)]),
                    get("profile"),
                    Step::Call(vec![]),
                    get("name"),
                ],
            })
        );
        let parsed = parse_statement("let u = list()[0][\"x\"]").unwrap();
        let Statement::Let(name, chain) = parsed else {
            panic!()
        };
        assert_eq!(name, "u");
        assert_eq!(chain.steps[1], Step::Get(PropertyKey::Index(0)));
        assert_eq!(chain.steps[2], get("x"));
    }

    #[test]
    fn special_values_and_json() {
        let Statement::Eval(chain) = parse_statement(
            r#"echo(123n, -7n, date(1700000000000), date("1970-01-01T00:00:01.5Z"), bytes("aGk="), undefined, NaN, -Infinity, {a: [1, "x"], 'b c': null, "d": true}, u.name, 'it\'s', 1.5e3)"#,
        )
        .unwrap() else {
            panic!()
        };
        let Step::Call(args) = &chain.steps[0] else {
            panic!()
        };
        assert_eq!(args[0], Literal::BigInt("123".into()));
        assert_eq!(args[1], Literal::BigInt("-7".into()));
        assert_eq!(args[2], Literal::Date(1_700_000_000_000.0));
        assert_eq!(args[3], Literal::Date(1500.0));
        assert_eq!(args[4], Literal::Bytes(b"hi".to_vec()));
        assert_eq!(args[5], Literal::Undefined);
        assert!(matches!(args[6], Literal::Number(n) if n.is_nan()));
        assert_eq!(args[7], Literal::Number(f64::NEG_INFINITY));
        assert_eq!(
            args[8],
            Literal::Object(vec![
                (
                    "a".into(),
                    Literal::Array(vec![Literal::Number(1.0), Literal::String("x".into())])
                ),
                ("b c".into(), Literal::Null),
                ("d".into(), Literal::Bool(true)),
            ])
        );
        assert_eq!(
            args[9],
            Literal::Chain(Chain {
                head: "u".into(),
                steps: vec![get("name")]
            })
        );
        assert_eq!(args[10], Literal::String("it's".into()));
        assert_eq!(args[11], Literal::Number(1500.0));
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let deep = format!("f({})", "[".repeat(100_000));
        let error = parse_statement(&deep).unwrap_err();
        assert!(
            error.message.contains("nest more than"),
            "{}",
            error.message
        );
        let chained = format!("f({}1{})", "g(".repeat(100_000), ")".repeat(100_000));
        assert!(parse_statement(&chained).is_err());
        let fine = format!("f({}1{})", "[".repeat(100), "]".repeat(100));
        assert!(parse_statement(&fine).is_ok());
    }

    #[test]
    fn errors_say_where() {
        let error = parse_statement("users.get(1").unwrap_err();
        assert_eq!(error.at, 11);
        assert!(error.message.contains("`,` or `)`"), "{error}");
        assert_eq!(
            error.pointing_into("users.get(1"),
            "users.get(1\n           ^ expected `,` or `)`"
        );
        assert!(parse_statement("echo(12x)").is_err());
        assert!(parse_statement("echo(1.5n)").is_err());
        assert!(parse_statement("let true = a").is_err());
        assert!(parse_statement("a b").is_err());
        assert!(parse_statement("echo(bytes(\"@@\"))").is_err());
        assert!(parse_statement("").is_err());
    }
}
