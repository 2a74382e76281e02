//! Back-pressure: a client that sends calls but does not read the answers stops being read,
//! so the server holds a bounded amount for it (and TCP makes the client wait); other sessions
//! keep working; once the client reads, every answer arrives in order and the session goes
//! on. A client that reads slowly is slowed down, never aborted. An HTTP batch cannot be
//! slowed down: its response has a hard limit.

use std::time::Duration;

use capnweb_runtime::transport::websocket;
use capnweb_runtime::{Session, SessionOptions, Value};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::http_server::{HttpServer, raw_request};
use crate::support::{alive_tasks, assert_no_leaks, assert_tasks_at_most, eventually};

/// The server's marks in these tests (small, so the tests move little data).
const HIGH: usize = 256 * 1024;
const LOW: usize = 64 * 1024;
/// What a session may hold above the high-water mark: the answers to the messages its reader
/// applies between two checks (32 answers of about 1 KiB here).
const SLACK: usize = 64 * 1024;
/// Without back-pressure the server would read all of these and queue ~200 MB of answers.
const MAX_CALLS: usize = 200_000;
/// How long a write may stall before the client concludes the server stopped reading. (It
/// only decides when to stop sending: every assertion holds however long the stall is.)
const STALL: Duration = Duration::from_secs(1);

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

fn options() -> SessionOptions {
    let mut options = SessionOptions::default();
    options.pause_reading_above = HIGH;
    options.resume_reading_at = LOW;
    options
}

/// The 1 KiB string call `i` echoes (numbered, so the order of the answers shows).
fn payload(i: usize) -> String {
    format!("{i:08}{}", "x".repeat(1016))
}

/// The `k`-th message of the flood: call `k / 2 + 1`, its push then its pull.
fn message(k: usize) -> String {
    let call = k / 2 + 1;
    if k.is_multiple_of(2) {
        format!(r#"["push",["pipeline",0,["echo"],["{}"]]]"#, payload(call))
    } else {
        format!(r#"["pull",{call}]"#)
    }
}

fn answer(i: usize) -> String {
    format!(r#"["resolve",{i},"{}"]"#, payload(i))
}

/// A raw WebSocket client to `server`, and the server's session for it.
async fn connect(server: &HttpServer) -> (SplitSink<Ws, Message>, SplitStream<Ws>, Session) {
    let known = server.served.sessions().len();
    let (ws, _) = tokio_tungstenite::connect_async(server.ws_url())
        .await
        .expect("connect");
    let (sink, stream) = ws.split();
    eventually("the server's session starts", || {
        server.served.sessions().len() > known
    })
    .await;
    let session = server.served.sessions().pop().unwrap();
    (sink, stream, session)
}

/// Asserts what the server holds for `session` is within the bound.
fn assert_bounded(session: &Session, when: &str) {
    let queued = session.queued_bytes();
    assert!(
        queued <= HIGH + SLACK,
        "{when}: the server holds {queued} bytes for a client that does not read (bound {})",
        HIGH + SLACK
    );
}

/// Reads the next text frame (bounded wait).
async fn next_text(stream: &mut SplitStream<Ws>) -> String {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(10), stream.next())
            .await
            .expect("an answer within 10 s")
            .expect("the connection is open")
            .expect("a frame");
        if let Message::Text(text) = frame {
            return text.as_str().to_owned();
        }
    }
}

/// Reads answers `from..=to` and checks each is the next in order.
async fn read_answers(stream: &mut SplitStream<Ws>, from: usize, to: usize, server: &Session) {
    for i in from..=to {
        assert_eq!(next_text(stream).await, answer(i), "answer {i}");
        if i.is_multiple_of(256) {
            assert_bounded(server, "while the client reads");
        }
    }
}

/// Releases the results of calls `1..=calls` and makes one more call, whose answer shows the
/// session is reading again.
async fn finish(
    sink: &mut SplitSink<Ws, Message>,
    stream: &mut SplitStream<Ws>,
    calls: usize,
    server: &Session,
) {
    for i in 1..=calls {
        sink.feed(Message::text(format!(r#"["release",{i},1]"#)))
            .await
            .unwrap();
    }
    let last = calls + 1;
    sink.feed(Message::text(message(2 * calls))).await.unwrap();
    sink.feed(Message::text(message(2 * calls + 1)))
        .await
        .unwrap();
    sink.flush().await.unwrap();
    read_answers(stream, last, last, server).await;
    sink.send(Message::text(format!(r#"["release",{last},1]"#)))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_reads_is_not_read_and_resumes_when_it_reads() {
    let tasks_before = alive_tasks();
    let server = HttpServer::start_with(|builder| builder.session_options(options())).await;
    let (mut sink, mut stream, session) = connect(&server).await;

    // Flood: calls until a write stalls because the server stopped reading.
    let mut sent = 0;
    let mut stalled = false;
    while sent < 2 * MAX_CALLS {
        match tokio::time::timeout(STALL, sink.feed(Message::text(message(sent)))).await {
            Ok(fed) => fed.expect("the connection stays open"),
            Err(_) => {
                stalled = true;
                break;
            }
        }
        sent += 1;
        if sent.is_multiple_of(64) {
            assert_bounded(&session, "during the flood");
            if tokio::time::timeout(STALL, sink.flush()).await.is_err() {
                stalled = true;
                break;
            }
        }
    }
    assert!(
        stalled,
        "the client sent {MAX_CALLS} calls without its writes ever stalling: the server kept \
         reading a client that reads nothing"
    );
    assert_bounded(&session, "once the client's writes stall");
    // Paused, not just slow: reading resumes only at the low-water mark, and nothing drains.
    assert!(
        session.queued_bytes() > LOW,
        "the server holds {} bytes, at or below the low-water mark, yet does not read",
        session.queued_bytes()
    );
    assert!(session.broken_reason().is_none());

    // Another session on the same server is not affected.
    let other = websocket::connect(&server.ws_url()).await.unwrap();
    let echoed = tokio::time::timeout(
        Duration::from_secs(5),
        other.main().call("echo", ("still here",)),
    )
    .await
    .expect("another session answers while one client does not read")
    .unwrap();
    assert_eq!(echoed, Value::String("still here".into()));
    let other_server = server.served.sessions().pop().unwrap();
    assert_no_leaks(&[&other, &other_server]).await;
    other.close();

    // The client reads: every answer, in order, while the rest of its calls go out.
    let calls = sent.div_ceil(2);
    let rest = async {
        for k in sent..2 * calls {
            sink.feed(Message::text(message(k))).await.unwrap();
        }
        sink.flush().await.unwrap();
    };
    tokio::join!(rest, read_answers(&mut stream, 1, calls, &session));
    finish(&mut sink, &mut stream, calls, &session).await;
    assert_no_leaks(&[&session]).await;
    eventually("nothing is queued any more", || session.queued_bytes() == 0).await;
    assert!(session.broken_reason().is_none());

    sink.send(Message::Close(None)).await.unwrap();
    drop((sink, stream, session));
    server.stop().await;
    assert_tasks_at_most(tasks_before).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_reader_is_slowed_down_never_aborted() {
    const CALLS: usize = 20_000;
    let tasks_before = alive_tasks();
    let server = HttpServer::start_with(|builder| builder.session_options(options())).await;
    let (mut sink, mut stream, session) = connect(&server).await;

    // All the calls at once (20 MB of answers, far more than the socket buffers and the
    // high-water mark), read slowly (a pause every 10 answers): the server pauses and resumes
    // many times. (Without back-pressure it would read every call at once and queue it all.)
    let writer = tokio::spawn(async move {
        for k in 0..2 * CALLS {
            sink.feed(Message::text(message(k))).await.unwrap();
            if k % 64 == 63 {
                sink.flush().await.unwrap();
            }
        }
        sink.flush().await.unwrap();
        sink
    });
    for i in 1..=CALLS {
        assert_eq!(next_text(&mut stream).await, answer(i), "answer {i}");
        if i.is_multiple_of(10) {
            assert_bounded(&session, "while the client reads slowly");
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
    let mut sink = tokio::time::timeout(Duration::from_secs(10), writer)
        .await
        .expect("every call was sent")
        .unwrap();
    assert!(session.broken_reason().is_none());
    finish(&mut sink, &mut stream, CALLS, &session).await;
    assert_no_leaks(&[&session]).await;

    sink.send(Message::Close(None)).await.unwrap();
    drop((sink, stream, session));
    server.stop().await;
    assert_tasks_at_most(tasks_before).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_whose_response_outgrows_its_limit_gets_500_naming_it() {
    const LIMIT: usize = 64 * 1024;
    let tasks_before = alive_tasks();
    let server = HttpServer::start_with(|builder| builder.max_batch_response_bytes(LIMIT)).await;
    let batch = |calls: usize| (0..2 * calls).map(message).collect::<Vec<_>>().join("\n");

    // 32 answers of 1 KiB fit.
    let small = raw_request(server.port, "POST", &[], batch(32).as_bytes()).await;
    assert_eq!(small.status, 200, "{}", small.body);
    let expected: Vec<String> = (1..=32).map(answer).collect();
    assert_eq!(small.body, expected.join("\n"));

    // 100 do not: the batch is aborted with a reason naming the limit.
    let large = raw_request(server.port, "POST", &[], batch(100).as_bytes()).await;
    assert_eq!(large.status, 500);
    assert_eq!(
        large.body,
        format!(
            "the batch's response exceeds the limit of {LIMIT} bytes \
             (BatchServerOptions::max_response_bytes)"
        )
    );

    // Answers that arrive after the request was applied count too (`delay` answers from its
    // own task, 100 ms later, by when the whole batch has been applied).
    let slow: Vec<String> = (1..=100)
        .flat_map(|i| {
            [
                format!(
                    r#"["push",["pipeline",0,["delay"],[100,"{}"]]]"#,
                    payload(i)
                ),
                format!(r#"["pull",{i}]"#),
            ]
        })
        .collect();
    let late = raw_request(server.port, "POST", &[], slow.join("\n").as_bytes()).await;
    assert_eq!(late.status, 500, "{}", late.body);
    assert!(late.body.contains("max_response_bytes"), "{}", late.body);
    server.stop().await;
    assert_tasks_at_most(tasks_before).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_own_burst_of_calls_does_not_pause_our_reading() {
    // Both ends with small marks; the client queues 20 MB of calls at once. Were its own calls
    // counted, it would stop reading the answers while the server, its answers unread, stops
    // reading the calls: both would wait forever.
    const CALLS: usize = 20_000;
    let tasks_before = alive_tasks();
    let server = HttpServer::start_with(|builder| builder.session_options(options())).await;
    let client = websocket::Connector::new(server.ws_url())
        .options(options())
        .connect()
        .await
        .unwrap();
    let api = client.main();
    // Each awaited on a task of its own, so pulls go out among the pushes and answers come
    // back while most of the calls are still queued.
    let calls: Vec<_> = (1..=CALLS)
        .map(|i| tokio::spawn(api.call("echo", (payload(i),)).into_future()))
        .collect();
    let answers = tokio::time::timeout(
        Duration::from_secs(60),
        futures_util::future::join_all(calls),
    )
    .await
    .expect("every call answered within 60 s");
    for (i, answer) in (1..=CALLS).zip(answers) {
        assert_eq!(
            answer.unwrap().unwrap(),
            Value::String(payload(i)),
            "answer {i}"
        );
    }
    let server_session = server.served.sessions().pop().unwrap();
    drop(api);
    assert_no_leaks(&[&client, &server_session]).await;
    client.close();
    drop(server_session);
    server.stop().await;
    assert_tasks_at_most(tasks_before).await;
}
