//! The `capnweb` command: call, explore, describe and watch any Cap'n Web server (Rust or
//! TypeScript), over WebSocket or HTTP batch.
//!
//! ```text
//! capnweb call ws://localhost:8080/ 'users.get(1).profile().name'
//! capnweb call http://localhost:8080/rpc 'echo({n: 123n, at: date("2024-01-02T03:04:05Z")})' --json
//! capnweb repl ws://localhost:8080/
//! capnweb describe ws://localhost:8080/
//! capnweb proxy --listen 127.0.0.1:9000 --to ws://localhost:8080/
//! ```
//!
//! # The expression language
//!
//! A line is a *chain*, or `let NAME = CHAIN` in the REPL:
//!
//! ```text
//! chain    = name { "." name | "[" (index | string) "]" | "(" [ value { "," value } ] ")" }
//! value    = JSON | 123n | -7n | date(ms) | date("ISO 8601") | bytes("base64") | undefined
//!          | NaN | Infinity | -Infinity | 'single-quoted string' | { key: value } | chain
//! ```
//!
//! - The first name is a variable if the REPL has one by that name, otherwise a member of the
//!   server's main object. `users.get(1).profile().name` calls `users.get(1)` (one message:
//!   the path `users.get` with the arguments), calls `profile()` on the result, and reads
//!   `name` of that. Everything is sent before anything is awaited (promise pipelining), so
//!   the whole chain costs one round trip; over HTTP batch it is one request.
//! - Arguments are JSON (object keys may be unquoted, strings may use single quotes) plus the
//!   special values above: `123n` is a bigint, `date(1700000000000)` and
//!   `date("2024-01-02T03:04:05Z")` are `Date`s, `bytes("aGk=")` is a `Uint8Array` of the
//!   decoded base64. A chain as an argument is passed as a pipelined promise:
//!   `describeUser(users.get(1))`, or a variable: `describeUser(u)`.
//! - The REPL (`capnweb repl`, WebSocket only) keeps `let` results: a capability stays a
//!   capability, and later lines call it (`u.profile()`). `.vars` lists them, `.clear`
//!   releases them, `.exit` (or the end of input) releases them and leaves. On a terminal it
//!   has history (`~/.capnweb_history`) and completes member names from the server's
//!   introspection (`$meta`), when it offers it, and variable names.
//!
//! # Output and exit status
//!
//! Results print as Node's `util.inspect` shows them: `123n`, `'text'`,
//! `Date(2024-01-02T03:04:05.000Z)`, `Uint8Array(2) [ 104, 105 ]`, `{ id: 1, tags: [ 'a' ] }`,
//! `[capability]`; in colour on a terminal (`--color`). `--json` prints JSON instead, special
//! values tagged (`{"$bigint":"123"}`, `{"$date":"..."}`, `{"$bytes":"aGk=","kind":"Uint8Array"}`,
//! `{"$undefined":true}`; the table is in the `json` module). An error goes to stderr with its
//! name, message and properties (with `--json`, as one JSON object). The exit status is 0 on
//! success, 1 when the server rejected the call, 2 for bad arguments or a bad expression, 3
//! for a transport failure (no connection, a lost one, a timeout, an HTTP error status).
//!
//! # The proxy
//!
//! `capnweb proxy` forwards WebSocket sessions and HTTP batches to `--to` and prints every
//! message, both ways, as indented JSON under a line with the session's number and kind, the
//! time since it began and the direction:
//!
//! ```text
//! [#1 ws +0.412 ms] client -> server
//!   [
//!     "push",
//!     ...
//! ```
//!
//! Message contents are forwarded unchanged; see the `proxy` module for what it does with
//! headers.

mod args;
mod call;
pub mod complete;
mod connect;
mod describe;
mod eval;
pub mod expr;
mod failure;
pub mod inspect;
pub mod json;
pub mod proxy;
mod repl;
mod time;

use std::process::ExitCode;

use clap::Parser;

use crate::args::{Cli, Command};
use crate::failure::Failure;

/// Runs the command line and returns the exit status.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("capnweb: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let (result, json) = run(&runtime, cli.command);
    // Do not wait for tasks a server left running (a call that never answers).
    runtime.shutdown_background();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("{}", failure.report(json));
            ExitCode::from(failure.exit_code())
        }
    }
}

/// Runs one subcommand; the flag says whether errors are reported as JSON.
fn run(runtime: &tokio::runtime::Runtime, command: Command) -> (Result<(), Failure>, bool) {
    match command {
        Command::Call {
            url,
            expr,
            json,
            output,
            connect,
        } => {
            let result = runtime
                .block_on(call::call(&url, &expr, &connect))
                .map(|value| {
                    println!("{}", call::render(&value, json, output.color.enabled()));
                });
            (result, json)
        }
        Command::Repl {
            url,
            output,
            connect,
        } => (
            repl::run(runtime, &url, &connect, output.color.enabled()),
            false,
        ),
        Command::Describe { url, json, connect } => {
            let result = runtime
                .block_on(describe::fetch(&url, &connect))
                .map(|description| {
                    if json {
                        println!("{}", json::to_json(&description));
                    } else {
                        print!("{}", describe::render(&description));
                    }
                });
            (result, json)
        }
        Command::Proxy {
            listen,
            to,
            log,
            ca_cert,
        } => {
            let out: Box<dyn std::io::Write + Send> = match &log {
                Some(path) => match std::fs::File::create(path) {
                    Ok(file) => Box::new(file),
                    Err(e) => {
                        let message = format!("cannot write the log {}: {e}", path.display());
                        return (Err(Failure::Usage(message)), false);
                    }
                },
                None => Box::new(std::io::stdout()),
            };
            let result = runtime.block_on(proxy::run(&listen, &to, out, ca_cert.as_deref()));
            (result, false)
        }
    }
}
