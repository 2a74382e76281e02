//! The one error type of the crate.

use crate::value::{JsError, Value};

/// The underlying cause of an [`RpcError`], kept for [`std::error::Error::source`].
pub type ErrorSource = std::sync::Arc<dyn std::error::Error + Send + Sync + 'static>;

/// Everything that can go wrong with an RPC, as one flat enum. New kinds may be added, so a
/// `match` needs a catch-all arm.
///
/// ```
/// use capnweb_runtime::RpcError;
///
/// fn describe(error: &RpcError) -> String {
///     match error {
///         // What the remote method threw: JS class name, message, properties such as `code`.
///         RpcError::Remote(e) => format!("{} says: {}", e.name, e.message),
///         RpcError::Disconnected { .. } => "connection lost, try again later".into(),
///         other => other.to_string(),
///     }
/// }
///
/// assert_eq!(
///     describe(&RpcError::new("NotFoundError", "no user 7")),
///     "NotFoundError says: no user 7"
/// );
/// ```
#[derive(Clone, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RpcError {
    /// The call threw (remotely or in a local target): name, message, stack and properties as the
    /// wire carries them.
    #[error("{}: {}", .0.name, .0.message)]
    Remote(Box<JsError>),
    /// The call was rejected with a value that is not an `Error` (JS can `throw "a string"`).
    #[error("rejected with a non-Error value: {0:?}")]
    Thrown(Box<Value>),
    /// The peer aborted the session, with its reason.
    #[error("the peer aborted the RPC session: {}: {}", .0.name, .0.message)]
    PeerAborted(Box<JsError>),
    /// The session was aborted locally (by the application or because the peer misbehaved).
    #[error("the RPC session was aborted: {0}")]
    Aborted(String),
    /// The session was closed normally on this side: [`Session::close`](crate::Session::close),
    /// its last handle dropped, or the server shutting down. What was still waiting fails
    /// with this, and [`Session::closed`](crate::Session::closed) returns it.
    #[error("the RPC session is closed ({0})")]
    Closed(String),
    /// The connection could not be opened: refused, unreachable, a failed handshake, a bad
    /// URL or header, or no answer within the connect timeout. Nothing was sent.
    #[error("could not connect: {message}")]
    Connect {
        /// What went wrong, e.g. `WebSocket connection to ws://... timed out after 2s`.
        message: String,
        /// The underlying error, when there is one (an I/O or WebSocket error).
        #[source]
        source: Option<ErrorSource>,
    },
    /// The transport closed or failed after the connection was open.
    #[error("the RPC connection was lost: {message}")]
    Disconnected {
        /// What happened, e.g. `Peer closed WebSocket: 1001 going away`.
        message: String,
        /// The transport's own error, when there is one (an I/O or WebSocket error).
        #[source]
        source: Option<ErrorSource>,
    },
    /// The peer sent something that breaks the protocol. `name` is the JS error class we report
    /// to the peer in the `abort` message (`Error`, `TypeError`, `RangeError`, `SyntaxError`).
    #[error("protocol violation by the peer: {message}")]
    Protocol {
        /// The JS error class name sent in the `abort` message.
        name: &'static str,
        /// What was wrong.
        message: String,
    },
    /// A value could not be converted to or from the wire (or to the requested Rust type).
    #[error("serialization failed: {0}")]
    Serialization(String),
    /// A capability was used after it was disposed, or does not exist.
    #[error("capability error: {0}")]
    Capability(String),
    /// An HTTP batch ended before this call was answered, or the call was made after it ended.
    #[error("the HTTP batch has ended: {0}")]
    BatchEnded(String),
    /// The operation did not finish in time.
    #[error("the RPC timed out")]
    Timeout,
}

impl RpcError {
    /// An application error with a JS error class name and message, e.g.
    /// `RpcError::new("NotFoundError", "no user 7")`.
    pub fn new(name: impl Into<String>, message: impl Into<String>) -> Self {
        RpcError::Remote(Box::new(JsError {
            name: name.into(),
            message: message.into(),
            ..JsError::default()
        }))
    }

    /// Adds an own property (such as `code`) to an application error; other kinds are unchanged.
    pub fn with_property(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        if let RpcError::Remote(e) = &mut self {
            e.props.insert(key.into(), value.into());
        }
        self
    }

    /// A `TypeError`, the class JS uses for most misuse ("'x' is not a function.").
    pub fn type_error(message: impl Into<String>) -> Self {
        RpcError::new("TypeError", message)
    }

    /// A lost connection, described by `message`.
    pub fn disconnected(message: impl Into<String>) -> Self {
        RpcError::Disconnected {
            message: message.into(),
            source: None,
        }
    }

    /// A lost connection whose cause is `source` (kept as [`std::error::Error::source`]).
    pub fn disconnected_by(
        message: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        RpcError::Disconnected {
            message: message.into(),
            source: Some(std::sync::Arc::new(source)),
        }
    }

    /// A connection that could not be opened, described by `message`.
    pub fn connect_failed(message: impl Into<String>) -> Self {
        RpcError::Connect {
            message: message.into(),
            source: None,
        }
    }

    /// A connection that could not be opened because of `source`.
    pub fn connect_failed_by(
        message: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        RpcError::Connect {
            message: message.into(),
            source: Some(std::sync::Arc::new(source)),
        }
    }

    /// A protocol violation reported to the peer as a plain `Error`.
    pub fn protocol(message: impl Into<String>) -> Self {
        RpcError::Protocol {
            name: "Error",
            message: message.into(),
        }
    }

    /// A protocol violation reported to the peer with a specific JS error class.
    pub fn protocol_as(name: &'static str, message: impl Into<String>) -> Self {
        RpcError::Protocol {
            name,
            message: message.into(),
        }
    }

    /// Whether the call failed because of the connection, not because of what it asked: a
    /// connect failure, a lost connection, or a timeout. Only such a failure is worth retrying
    /// (for a call that is safe to repeat); see [`reconnect::retry`](crate::reconnect::retry).
    ///
    /// ```
    /// use capnweb_runtime::RpcError;
    ///
    /// assert!(RpcError::disconnected("socket closed").is_transport_failure());
    /// assert!(RpcError::Timeout.is_transport_failure());
    /// assert!(!RpcError::new("NotFoundError", "no user 7").is_transport_failure());
    /// ```
    pub fn is_transport_failure(&self) -> bool {
        matches!(
            self,
            RpcError::Connect { .. } | RpcError::Disconnected { .. } | RpcError::Timeout
        )
    }

    /// The application-level error, if this is one (`Remote`).
    pub fn as_js_error(&self) -> Option<&JsError> {
        match self {
            RpcError::Remote(e) | RpcError::PeerAborted(e) => Some(e),
            _ => None,
        }
    }

    /// A property the error carries besides its name and message (such as `code`), when it is
    /// an application error ([`as_js_error`](Self::as_js_error)).
    ///
    /// ```
    /// use capnweb_runtime::RpcError;
    ///
    /// let error = RpcError::new("NotFoundError", "no user 7").with_property("code", "NOT_FOUND");
    /// match error.property("code").and_then(|code| code.as_str()) {
    ///     Some("NOT_FOUND") => {} // e.g. show a 404 page
    ///     other => panic!("unexpected code {other:?}"),
    /// }
    /// assert!(error.property("status").is_none());
    /// ```
    pub fn property(&self, name: &str) -> Option<&Value> {
        self.as_js_error()?.props.get(name)
    }

    /// The error's JS class name as it would travel on the wire.
    pub fn name(&self) -> &str {
        match self {
            RpcError::Remote(e) | RpcError::PeerAborted(e) => &e.name,
            RpcError::Protocol { name, .. } => name,
            _ => "Error",
        }
    }

    /// The error's message without the variant prefix, as it would travel on the wire.
    pub fn message(&self) -> String {
        match self {
            RpcError::Remote(e) | RpcError::PeerAborted(e) => e.message.clone(),
            RpcError::Protocol { message, .. } => message.clone(),
            RpcError::Disconnected { message, .. } | RpcError::Connect { message, .. } => {
                message.clone()
            }
            RpcError::Aborted(m)
            | RpcError::Closed(m)
            | RpcError::Serialization(m)
            | RpcError::Capability(m)
            | RpcError::BatchEnded(m) => m.clone(),
            RpcError::Thrown(v) => format!("{v:?}"),
            RpcError::Timeout => "timed out".to_owned(),
        }
    }

    /// The value this error travels as in a `reject` or `abort` message.
    pub fn to_wire_value(&self) -> Value {
        match self {
            RpcError::Remote(e) => Value::Error(e.clone()),
            RpcError::Thrown(v) => (**v).clone(),
            other => Value::Error(Box::new(JsError {
                name: other.name().to_owned(),
                message: other.message(),
                ..JsError::default()
            })),
        }
    }

    /// The error a received `reject` value stands for.
    pub fn from_wire_value(value: Value) -> Self {
        match value {
            Value::Error(e) => RpcError::Remote(e),
            other => RpcError::Thrown(Box::new(other)),
        }
    }
}

impl From<JsError> for RpcError {
    fn from(e: JsError) -> Self {
        RpcError::Remote(Box::new(e))
    }
}

impl std::fmt::Display for JsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.name, self.message)
    }
}

impl std::error::Error for JsError {}
