//! A raw WebSocket peer sends each class of bad input; the server must answer with an `abort`
//! that says what was wrong and close code 3000, without panicking, while another session on the
//! same server keeps working.

use std::time::Duration;

use capnweb_runtime::SessionOptions;
use capnweb_runtime::transport::websocket;
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

use crate::server::RustServer;
use crate::support::assert_no_leaks;

/// What the server did after the bad input.
struct AbortSeen {
    abort: String,
    close_code: u16,
    close_reason: String,
}

async fn send_raw(url: &str, messages: &[String]) -> AbortSeen {
    let (mut ws, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("connect");
    for m in messages {
        ws.send(Message::text(m.clone())).await.expect("send");
    }
    let mut abort = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let next = tokio::time::timeout_at(deadline, ws.next())
            .await
            .expect("the server neither aborted nor closed within 5 s");
        match next {
            Some(Ok(Message::Text(t))) if t.starts_with("[\"abort\"") => {
                abort = t.as_str().to_owned()
            }
            Some(Ok(Message::Text(_))) => {}
            Some(Ok(Message::Close(frame))) => {
                let frame = frame.expect("a close frame with a code");
                return AbortSeen {
                    abort,
                    close_code: u16::from(frame.code),
                    close_reason: frame.reason.as_str().to_owned(),
                };
            }
            Some(Ok(_)) => {}
            Some(Err(e)) => panic!("connection failed instead of closing cleanly: {e}"),
            None => panic!("connection ended without a close frame"),
        }
    }
}

fn abort_text(name: &str, message: &str) -> String {
    serde_json::to_string(&serde_json::json!(["abort", ["error", name, message]])).unwrap()
}

async fn expect_abort(server: &RustServer, messages: &[String], name: &str, message: &str) {
    let seen = send_raw(&server.url(), messages).await;
    let sent = short(messages);
    assert_eq!(
        seen.abort,
        abort_text(name, message),
        "abort message for {sent:?}"
    );
    assert_eq!(seen.close_code, 3000, "close code for {sent:?}");
    let mut reason = message.to_owned();
    while reason.len() > 123 {
        reason.pop();
    }
    assert_eq!(seen.close_reason, reason, "close reason for {sent:?}");
}

async fn expect_abort_containing(
    server: &RustServer,
    messages: &[String],
    name: &str,
    needle: &str,
) {
    let seen = send_raw(&server.url(), messages).await;
    let parsed: serde_json::Value = serde_json::from_str(&seen.abort)
        .unwrap_or_else(|_| panic!("no abort message for {:?}", short(messages)));
    assert_eq!(parsed[1][1], name, "error class in {}", seen.abort);
    let text = parsed[1][2].as_str().unwrap_or_default();
    assert!(
        text.contains(needle),
        "abort message {text:?} should mention {needle:?}"
    );
    assert_eq!(seen.close_code, 3000);
}

fn short(messages: &[String]) -> Vec<String> {
    messages
        .iter()
        .map(|m| m.chars().take(60).collect())
        .collect()
}

fn s(text: &str) -> String {
    text.to_owned()
}

#[tokio::test]
async fn each_class_of_bad_input_aborts_only_its_session() {
    let mut options = SessionOptions::default();
    options.limits.max_message_size = 64 * 1024;
    let server = RustServer::start_with(options).await;

    // A well-behaved session that must survive every bad one.
    let good = websocket::connect(&server.url()).await.unwrap();
    let api = good.main();
    assert_eq!(api.call("add", (1, 2)).typed::<f64>().await.unwrap(), 3.0);

    expect_abort(
        &server,
        &[s(r#"["bogus"]"#)],
        "Error",
        r#"bad RPC message: ["bogus"]"#,
    )
    .await;
    expect_abort(
        &server,
        &[s(r#"["hello",1]"#)],
        "Error",
        r#"bad RPC message: ["hello",1]"#,
    )
    .await;
    expect_abort(
        &server,
        &[s(r#"{"push":1}"#)],
        "Error",
        r#"bad RPC message: {"push":1}"#,
    )
    .await;
    expect_abort_containing(&server, &[s("not json at all")], "SyntaxError", "JSON").await;
    expect_abort(
        &server,
        &[s(r#"["push",["pipeline",0,["echo"],[[]]]]"#)],
        "TypeError",
        "unknown special value: []",
    )
    .await;
    expect_abort(
        &server,
        &[s(r#"["push",["pipeline",0,["echo"],[["whatever",1]]]]"#)],
        "TypeError",
        r#"unknown special value: ["whatever",1]"#,
    )
    .await;
    expect_abort(
        &server,
        &[s(r#"["pull",5]"#)],
        "Error",
        "no such export ID: 5",
    )
    .await;
    expect_abort(
        &server,
        &[s(r#"["push",["pipeline",-5,["x"],[]]]"#)],
        "Error",
        "no such entry on exports table: -5",
    )
    .await;
    let ping = s(r#"["push",["pipeline",0,["ping"],[]]]"#);
    expect_abort(
        &server,
        &[
            ping.clone(),
            s(r#"["release",1,1]"#),
            s(r#"["release",1,1]"#),
        ],
        "Error",
        "no such export ID: 1",
    )
    .await;
    expect_abort(
        &server,
        &[ping.clone(), s(r#"["release",1,2]"#)],
        "Error",
        "refcount would go negative: 1 < 2",
    )
    .await;
    expect_abort(
        &server,
        &[s(
            r#"["push",["pipeline",0,["echo"],[["bigint","12abc"]]]]"#,
        )],
        "SyntaxError",
        "Cannot convert 12abc to a BigInt",
    )
    .await;

    let deep = format!(
        r#"["push",["pipeline",0,["echo"],[{}1{}]]]"#,
        r#"{"a":"#.repeat(300),
        "}".repeat(300)
    );
    let depth_error = "Deserialization exceeded maximum allowed message depth of 256.";
    expect_abort(&server, &[deep], "TypeError", depth_error).await;
    let huge_bigint = format!(
        r#"["push",["pipeline",0,["echo"],[["bigint","{}"]]]]"#,
        "9".repeat(16385)
    );
    expect_abort(
        &server,
        &[huge_bigint],
        "TypeError",
        "Deserialized bigint exceeds maximum length of 16384 digits.",
    )
    .await;
    let oversized = format!(
        r#"["push",["pipeline",0,["echo"],["{}"]]]"#,
        "x".repeat(70 * 1024)
    );
    expect_abort(
        &server,
        &[oversized],
        "TypeError",
        "Incoming message exceeds maximum size of 65536 UTF-16 code units.",
    )
    .await;
    let very_deep = format!("{}{}", "[".repeat(30_000), "]".repeat(30_000));
    expect_abort(&server, &[very_deep], "TypeError", depth_error).await;

    // The good session is untouched and its tables are clean.
    assert_eq!(api.call("add", (2, 2)).typed::<f64>().await.unwrap(), 4.0);
    let server_side = server
        .sessions()
        .into_iter()
        .next()
        .expect("the good session");
    drop(api);
    assert_no_leaks(&[&good, &server_side]).await;
}
