//! What can go wrong, how it is reported on stderr, and the exit status it gives.

use capnweb_runtime::RpcError;

use crate::inspect::{inspect, inspect_properties};

/// A failed command.
#[derive(Debug)]
pub enum Failure {
    /// Bad arguments or a bad expression (exit status 2).
    Usage(String),
    /// The server rejected the call (exit status 1).
    Remote(RpcError),
    /// No connection, a lost one, a timeout, an HTTP error status (exit status 3).
    Transport(RpcError),
    /// A local problem with a message of its own (exit status 1).
    Other(String),
}

impl Failure {
    /// Sorts an error from the runtime.
    pub fn from_rpc(error: RpcError) -> Failure {
        match error {
            RpcError::Remote(_)
            | RpcError::Thrown(_)
            | RpcError::Serialization(_)
            | RpcError::Capability(_) => Failure::Remote(error),
            other => Failure::Transport(other),
        }
    }

    /// The process's exit status.
    pub fn exit_code(&self) -> u8 {
        match self {
            Failure::Remote(_) | Failure::Other(_) => 1,
            Failure::Usage(_) => 2,
            Failure::Transport(_) => 3,
        }
    }

    /// The report for stderr: readable text, or one JSON object with `--json`.
    pub fn report(&self, json: bool) -> String {
        if json {
            return self.json().to_string();
        }
        match self {
            Failure::Usage(message) => format!("capnweb: {message}"),
            Failure::Other(message) => format!("capnweb: {message}"),
            Failure::Transport(error) => format!("capnweb: {error}"),
            Failure::Remote(RpcError::Remote(error)) => {
                let mut text = format!("{}: {}", error.name, error.message);
                for line in inspect_properties(&error.props, false) {
                    text.push_str("\n    ");
                    text.push_str(&line);
                }
                if let Some(stack) = &error.stack {
                    text.push_str("\n    stack: ");
                    text.push_str(stack);
                }
                text
            }
            Failure::Remote(RpcError::Thrown(value)) => {
                format!("Uncaught {}", inspect(value, false))
            }
            Failure::Remote(other) => format!("capnweb: {other}"),
        }
    }

    fn json(&self) -> serde_json::Value {
        use serde_json::json;
        match self {
            Failure::Remote(RpcError::Remote(error)) => {
                json!({ "error": crate::json::error_json(error) })
            }
            Failure::Remote(RpcError::Thrown(value)) => {
                json!({ "thrown": crate::json::to_json(value) })
            }
            Failure::Remote(error) | Failure::Transport(error) => json!({
                "error": { "name": error.name(), "message": error.message(), "properties": {} },
                "transport": matches!(self, Failure::Transport(_)),
            }),
            Failure::Usage(message) | Failure::Other(message) => json!({
                "error": { "name": "Error", "message": message, "properties": {} },
            }),
        }
    }
}

impl From<RpcError> for Failure {
    fn from(error: RpcError) -> Self {
        Failure::from_rpc(error)
    }
}
