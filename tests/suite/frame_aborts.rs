//! A frame the session cannot take (binary, text that is not UTF-8, over the frame limit, not
//! JSON) aborts it the way capnweb aborts for what its transport hands it: an `abort` message
//! saying why, then close code 3000 with the same reason. Another session keeps working.
//!
//! (npm capnweb 0.12.0 on Node's `ws` sends `abort` + 3000 for a binary frame and for bad
//! JSON; for bad UTF-8 and oversize frames `ws` closes first, with 1007 and 1009 and no
//! `abort`. We tell the peer why in every case.)

use std::time::Duration;

use capnweb_runtime::SessionOptions;
use capnweb_runtime::transport::websocket;
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};

use crate::server::RustServer;
use crate::support::assert_no_leaks;

/// Sends `frame` on a fresh connection and returns the `abort` message, the close code and
/// the close reason, in that order as they arrived (any other message first is a failure).
async fn abort_for(url: &str, frame: Message) -> (serde_json::Value, u16, String) {
    let (ws, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("connect");
    let (mut sink, mut stream) = ws.split();
    // Sent from its own task: the server stops reading a frame that is too large, and the
    // rest of it may never be taken.
    let sending = tokio::spawn(async move {
        let _ = sink.send(frame).await;
        sink
    });
    let mut next = async || {
        tokio::time::timeout(Duration::from_secs(5), stream.next())
            .await
            .expect("the server answered within 5 s")
            .expect("the server sent something before the connection ended")
            .expect("a frame, not a connection error")
    };
    let abort = match next().await {
        Message::Text(text) => serde_json::from_str(text.as_str()).expect("JSON"),
        other => panic!("expected the abort message, got {other:?}"),
    };
    let (code, reason) = match next().await {
        Message::Close(Some(close)) => (u16::from(close.code), close.reason.as_str().to_owned()),
        other => panic!("expected the close frame, got {other:?}"),
    };
    sending.abort();
    (abort, code, reason)
}

/// Asserts an `abort` with error class `name` whose message contains `needle`, and a close
/// with code 3000 and that message as its reason.
fn assert_abort(seen: (serde_json::Value, u16, String), name: &str, needle: &str) {
    let (abort, code, reason) = seen;
    assert_eq!(abort[0], "abort", "{abort}");
    assert_eq!(abort[1][0], "error", "{abort}");
    assert_eq!(abort[1][1], name, "{abort}");
    let message = abort[1][2].as_str().expect("a message");
    assert!(
        message.contains(needle),
        "{message:?} should mention {needle:?}"
    );
    assert_eq!(code, 3000);
    assert_eq!(reason, message);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_bad_frame_gets_an_abort_before_the_close() {
    let mut options = SessionOptions::default();
    // Frames over max(3 x this, 1 MiB) bytes are refused by the WebSocket layer itself.
    options.limits.max_message_size = 64 * 1024;
    let server = RustServer::start_with(options).await;
    let good = websocket::connect(&server.url()).await.unwrap();
    let api = good.main();
    assert_eq!(api.call("add", (1, 2)).typed::<f64>().await.unwrap(), 3.0);

    let binary = Message::Binary(br#"["pull",1]"#.to_vec().into());
    assert_abort(
        abort_for(&server.url(), binary).await,
        "Error",
        "binary WebSocket frame",
    );

    let not_utf8 = Frame::message(b"[\"\xff\xfe\"]".to_vec(), OpCode::Data(Data::Text), true);
    assert_abort(
        abort_for(&server.url(), Message::Frame(not_utf8)).await,
        "Error",
        "not valid UTF-8",
    );

    let oversize = Message::text(format!(r#"["push","{}"]"#, "x".repeat(2 << 20)));
    assert_abort(
        abort_for(&server.url(), oversize).await,
        "TypeError",
        "over the limit of 1048576 bytes",
    );

    let not_json = Message::text("not json at all");
    assert_abort(
        abort_for(&server.url(), not_json).await,
        "SyntaxError",
        "JSON",
    );

    // The good session is untouched.
    assert_eq!(api.call("add", (2, 2)).typed::<f64>().await.unwrap(), 4.0);
    let server_side = server.sessions().into_iter().next().unwrap();
    drop(api);
    assert_no_leaks(&[&good, &server_side]).await;
    good.close();
    server.stop().await;
}
