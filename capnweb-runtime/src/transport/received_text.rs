//! [`ReceivedText`]: a received message in whatever buffer the transport read it into.

/// A received text message: a `String`, or the buffer a transport read the frame into
/// (which saves copying it), read as a `&str` either way.
///
/// ```
/// use capnweb_runtime::transport::ReceivedText;
///
/// let text = ReceivedText::from(String::from(r#"["pull",1]"#));
/// assert_eq!(text.as_str(), r#"["pull",1]"#);
/// assert!(text.starts_with("[\"pull\""));
/// ```
pub struct ReceivedText(TextBuffer);

/// Where a [`ReceivedText`] keeps its text.
enum TextBuffer {
    Owned(String),
    Frame(tokio_tungstenite::tungstenite::Utf8Bytes),
}

impl ReceivedText {
    /// The text.
    pub fn as_str(&self) -> &str {
        match &self.0 {
            TextBuffer::Owned(text) => text,
            TextBuffer::Frame(text) => text.as_str(),
        }
    }
}

/// The text of a WebSocket frame, kept in tungstenite's buffer.
impl From<tokio_tungstenite::tungstenite::Utf8Bytes> for ReceivedText {
    fn from(text: tokio_tungstenite::tungstenite::Utf8Bytes) -> ReceivedText {
        ReceivedText(TextBuffer::Frame(text))
    }
}

impl From<String> for ReceivedText {
    fn from(text: String) -> ReceivedText {
        ReceivedText(TextBuffer::Owned(text))
    }
}

impl From<ReceivedText> for String {
    fn from(text: ReceivedText) -> String {
        match text.0 {
            TextBuffer::Owned(text) => text,
            TextBuffer::Frame(text) => text.as_str().to_owned(),
        }
    }
}

impl std::ops::Deref for ReceivedText {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl std::fmt::Debug for ReceivedText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.as_str(), f)
    }
}

#[cfg(test)]
mod tests {
    use super::ReceivedText;
    use tokio_tungstenite::tungstenite::Utf8Bytes;

    #[test]
    fn received_text_reads_the_same_from_either_buffer() {
        let owned = ReceivedText::from(String::from(r#"["pull",7]"#));
        let frame = ReceivedText::from(Utf8Bytes::from_static(r#"["pull",7]"#));
        assert_eq!(owned.as_str(), frame.as_str());
        assert_eq!(&*frame, r#"["pull",7]"#);
        assert_eq!(format!("{frame:?}"), format!("{:?}", r#"["pull",7]"#));
        assert_eq!(String::from(frame), String::from(owned));
    }
}
