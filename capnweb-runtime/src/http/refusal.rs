//! [`Refusal`]: turning a connection away with an HTTP status before its session starts.

use ::http::header::{CONTENT_TYPE, HeaderName, HeaderValue};
use ::http::{Response, StatusCode};
use bytes::Bytes;
use http_body_util::Full;

use super::SessionContext;

/// Why a connection is turned away before its session starts: the HTTP status the WebSocket
/// upgrade or the batch `POST` is answered with instead (`401`, `403`, `429`, ...), a message
/// for the body, and headers such as `WWW-Authenticate` or `Retry-After`.
///
/// Returned by the check given to [`ServerBuilder::admit`](crate::ServerBuilder::admit).
///
/// ```
/// use capnweb_runtime::http::Refusal;
/// use http::header::{HeaderValue, WWW_AUTHENTICATE};
///
/// let refusal = Refusal::unauthorized("a bearer token is required")
///     .header(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
/// assert_eq!(refusal.status, http::StatusCode::UNAUTHORIZED);
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Refusal {
    /// The response status; a client sees a failed connection naming it.
    pub status: StatusCode,
    /// The response body (plain text).
    pub message: String,
    /// Extra response headers, in order (a list, not a map, to keep a refusal small: it is the
    /// error of a `Result` the check returns).
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

impl Refusal {
    /// A refusal with `status` and `message`.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Refusal {
        Refusal {
            status,
            message: message.into(),
            headers: Vec::new(),
        }
    }

    /// `401 Unauthorized`: no credentials, or ones that are not valid.
    pub fn unauthorized(message: impl Into<String>) -> Refusal {
        Refusal::new(StatusCode::UNAUTHORIZED, message)
    }

    /// `403 Forbidden`: valid credentials that do not allow this (or a foreign `Origin`).
    pub fn forbidden(message: impl Into<String>) -> Refusal {
        Refusal::new(StatusCode::FORBIDDEN, message)
    }

    /// Adds a response header (several values of one name are all sent).
    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Refusal {
        self.headers.push((name, value));
        self
    }

    pub(crate) fn into_response(self) -> Response<Full<Bytes>> {
        let mut response = Response::new(Full::new(Bytes::from(self.message)));
        *response.status_mut() = self.status;
        let headers = response.headers_mut();
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("text/plain;charset=UTF-8"),
        );
        for (name, value) in self.headers {
            headers.append(name, value);
        }
        response
    }
}

/// The check of [`ServerBuilder::admit`](crate::ServerBuilder::admit).
pub(crate) type Admit = dyn Fn(&SessionContext) -> Result<(), Refusal> + Send + Sync + 'static;
