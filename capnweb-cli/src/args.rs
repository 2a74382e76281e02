//! Command-line arguments (clap).

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// The language, shown by `capnweb call --help` and `capnweb repl --help`.
const LANGUAGE: &str = "\
EXPRESSIONS
  users.get(1).profile().name     property reads and calls, chained; sent pipelined, one round trip
  list()[0]  obj[\"odd key\"]        index and quoted property reads
  Arguments are JSON plus: 123n (bigint), date(1700000000000) or date(\"2024-01-02T03:04:05Z\"),
  bytes(\"aGk=\") (base64, a Uint8Array), undefined, NaN, Infinity, -Infinity, 'single-quoted'
  strings, unquoted object keys, and chains: describeUser(users.get(1)) passes a pipelined promise.
  In the REPL, `let u = users.get(1)` keeps the result (a capability stays one) for later lines:
  u.profile(). A name that is a variable means the variable, otherwise a member of the main object.

OUTPUT
  Results as Node's util.inspect shows them (123n, Date(...), Uint8Array(2) [ 104, 105 ], 'text'),
  in colour on a terminal; --json prints JSON (special values as {\"$bigint\":\"123\"} and the like).
  Errors go to stderr with their name, message and properties.

EXIT STATUS
  0 success, 1 the server rejected the call, 2 bad arguments or expression,
  3 transport failure (could not connect, connection lost, timeout, HTTP error status)";

/// Talk to any Cap'n Web server from the command line.
#[derive(Debug, Parser)]
#[command(name = "capnweb", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Evaluate one expression on the server's main object and print the result.
    #[command(after_long_help = LANGUAGE)]
    Call {
        /// ws:// or wss:// for WebSocket, http:// or https:// for HTTP batch.
        url: String,
        /// What to evaluate, e.g. `users.get(1).profile().name`.
        expr: String,
        /// Print JSON instead of JavaScript-style values.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        output: OutputArgs,
        #[command(flatten)]
        connect: ConnectArgs,
    },
    /// Evaluate expressions line by line, keeping results in variables (`let u = ...`).
    #[command(after_long_help = LANGUAGE)]
    Repl {
        /// A ws:// or wss:// URL (an HTTP batch ends after one request, so it cannot keep
        /// variables).
        url: String,
        #[command(flatten)]
        output: OutputArgs,
        #[command(flatten)]
        connect: ConnectArgs,
    },
    /// Print the interface of the server's main object, if the server offers introspection
    /// (`$meta`, `#[rpc_interface(introspect)]`).
    Describe {
        /// ws://, wss://, http:// or https://.
        url: String,
        /// Print the description as JSON, as the server sent it.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        connect: ConnectArgs,
    },
    /// Forward WebSocket and HTTP batch traffic to a server, printing every message both ways.
    Proxy {
        /// Where to listen, e.g. 127.0.0.1:8080 (port 0 picks a free port; the address is
        /// printed on stderr).
        #[arg(long)]
        listen: String,
        /// The server: ws://, wss://, http:// or https:// (WebSocket and batch are forwarded
        /// to the same host). Its path, unless `/`, replaces the request's.
        #[arg(long)]
        to: String,
        /// Write the log to this file instead of stdout.
        #[arg(long)]
        log: Option<PathBuf>,
        /// Trust this PEM certificate authority for a wss:// or https:// server (otherwise the
        /// system's certificate store).
        #[arg(long)]
        ca_cert: Option<PathBuf>,
    },
}

/// How to reach the server.
#[derive(Debug, Args)]
pub struct ConnectArgs {
    /// Use WebSocket or HTTP batch whatever the URL's scheme (ws/wss or http/https) says.
    #[arg(long, value_enum)]
    pub transport: Option<Transport>,
    /// An HTTP header for the WebSocket handshake or every batch request, as `Name: value`
    /// (repeatable).
    #[arg(long = "header", short = 'H', value_name = "NAME:VALUE")]
    pub headers: Vec<String>,
    /// Give up connecting, and waiting for each result, after this long (`500ms`, `10s`,
    /// `2m`; a bare number is seconds).
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub timeout: Duration,
    /// Trust this PEM certificate authority for wss:// and https:// (otherwise the system's
    /// certificate store).
    #[arg(long)]
    pub ca_cert: Option<PathBuf>,
}

/// How results are shown.
#[derive(Debug, Args)]
pub struct OutputArgs {
    /// Colours: on a terminal (auto), always, or never.
    #[arg(long, value_enum, default_value = "auto")]
    pub color: Colour,
}

/// A transport.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Transport {
    /// One WebSocket session.
    Ws,
    /// One HTTP POST per expression.
    Batch,
}

/// When to colour output.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Colour {
    /// When stdout is a terminal and NO_COLOR is not set.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

impl Colour {
    /// Whether to colour what goes to stdout.
    pub fn enabled(self) -> bool {
        use std::io::IsTerminal;
        match self {
            Colour::Always => true,
            Colour::Never => false,
            Colour::Auto => {
                std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
            }
        }
    }
}

/// `500ms`, `1.5s`, `2m` or a bare number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, scale) = if let Some(n) = text.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = text.strip_suffix('m') {
        (n, 60.0)
    } else {
        (text, 1.0)
    };
    number
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|n| n.is_finite() && *n > 0.0)
        .map(|n| Duration::from_secs_f64(n * scale))
        .ok_or_else(|| format!("`{text}` is not a duration like 500ms, 10s or 2m"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("0").is_err());
    }

    #[test]
    fn arguments_parse() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
        let cli = Cli::try_parse_from([
            "capnweb",
            "call",
            "ws://h/",
            "a.b(1)",
            "-H",
            "x: 1",
            "--timeout",
            "2s",
            "--json",
        ])
        .unwrap();
        let Command::Call { connect, json, .. } = cli.command else {
            panic!()
        };
        assert!(json);
        assert_eq!(connect.headers, ["x: 1"]);
        assert_eq!(connect.timeout, Duration::from_secs(2));
    }
}
