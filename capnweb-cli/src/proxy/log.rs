//! The proxy's log: every message with its session, direction and time since the session
//! began, decoded from JSON and indented.

use std::io::Write;
use std::sync::Mutex;
use std::time::Instant;

/// Which way a message went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// From the client to the server.
    ToServer,
    /// From the server to the client.
    ToClient,
}

impl Direction {
    fn arrow(self) -> &'static str {
        match self {
            Direction::ToServer => "client -> server",
            Direction::ToClient => "server -> client",
        }
    }
}

/// One proxied session (a WebSocket connection or one HTTP batch).
#[derive(Clone, Copy, Debug)]
pub struct SessionTag {
    /// Its number, counting from 1 in the order sessions began.
    pub number: u64,
    /// `ws` or `batch`.
    pub kind: &'static str,
    /// When it began.
    pub start: Instant,
}

/// Where log entries go; each entry is written whole and flushed.
pub struct Log {
    out: Mutex<Box<dyn Write + Send>>,
}

impl Log {
    /// A log writing to `out`.
    pub fn new(out: Box<dyn Write + Send>) -> Log {
        Log {
            out: Mutex::new(out),
        }
    }

    /// A one-line event of a session (opened, closed, an HTTP status).
    pub fn event(&self, session: &SessionTag, text: &str) {
        self.write(&format!("{} {text}\n", header(session)));
    }

    /// A message: the header line, then the message indented.
    pub fn message(&self, session: &SessionTag, direction: Direction, text: &str) {
        self.write(&format!(
            "{} {}\n{}\n",
            header(session),
            direction.arrow(),
            indent(&decode(text))
        ));
    }

    fn write(&self, entry: &str) {
        let mut out = self.out.lock().unwrap_or_else(|e| e.into_inner());
        let _ = out.write_all(entry.as_bytes());
        let _ = out.flush();
    }
}

/// `[#3 ws +1.250 ms]`
fn header(session: &SessionTag) -> String {
    let elapsed = session.start.elapsed().as_secs_f64() * 1000.0;
    format!("[#{} {} +{elapsed:.3} ms]", session.number, session.kind)
}

/// The message as indented JSON, or as it came if it is not JSON.
fn decode(text: &str) -> String {
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(json) => serde_json::to_string_pretty(&json).unwrap_or_else(|_| text.to_owned()),
        Err(_) => format!("(not JSON) {text}"),
    }
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|line| format!("  {line}"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    /// A writer the test can read back.
    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn messages_are_indented_json() {
        let out = Shared::default();
        let log = Log::new(Box::new(out.clone()));
        let session = SessionTag {
            number: 2,
            kind: "ws",
            start: Instant::now(),
        };
        log.message(&session, Direction::ToServer, r#"["pull",1]"#);
        log.message(&session, Direction::ToClient, "hello");
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("[#2 ws +"), "{text}");
        assert!(lines[0].ends_with(" ms] client -> server"), "{text}");
        assert_eq!(&lines[1..5], ["  [", "    \"pull\",", "    1", "  ]"]);
        assert!(lines[5].ends_with("server -> client"), "{text}");
        assert_eq!(lines[6], "  (not JSON) hello");
    }
}
