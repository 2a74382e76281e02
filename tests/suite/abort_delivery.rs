//! An abort loses nothing, even while the peer is still sending: everything we wrote before
//! it arrives, then the `abort` message, then close code 3000 with the reason. (Dropping the
//! socket with unread input made the kernel reset the connection, and the peer then lost the
//! answers, the abort message or the close frame.)

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use crate::http_server::HttpServer;

const CALLS: usize = 200;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_the_abort_and_the_close_all_arrive_while_the_peer_keeps_sending() {
    let before = crate::support::alive_tasks();
    let server = HttpServer::start().await;
    for round in 0..5 {
        let (ws, _) = tokio_tungstenite::connect_async(server.ws_url())
            .await
            .expect("connect");
        let (mut tx, mut rx) = ws.split();
        let text = "y".repeat(1024);
        let mut frames = Vec::new();
        for i in 1..=CALLS {
            frames.push(format!(r#"["push",["pipeline",0,["echo"],["{text}"]]]"#));
            frames.push(format!(r#"["pull",{i}]"#));
        }
        // A pull of an export that does not exist: the server aborts.
        frames.push(r#"["pull",999999]"#.to_owned());
        // ... and the client keeps sending well past it.
        let flood = format!(
            r#"["push",["pipeline",0,["echo"],["{}"]]]"#,
            "z".repeat(16 * 1024)
        );
        let sending = tokio::spawn(async move {
            for frame in frames {
                if tx.send(Message::text(frame)).await.is_err() {
                    return;
                }
            }
            for _ in 0..2000 {
                if tx.send(Message::text(flood.clone())).await.is_err() {
                    return;
                }
            }
        });

        // Read only once the server has long finished: what it wrote waits in our socket while
        // the flood sits unread in its.
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let mut answers = 0;
        let mut abort = None;
        let close = loop {
            let next = tokio::time::timeout(std::time::Duration::from_secs(10), rx.next())
                .await
                .expect("the server closes within 10 s");
            match next {
                Some(Ok(Message::Text(t))) if t.as_str().starts_with(r#"["resolve","#) => {
                    assert!(abort.is_none(), "round {round}: an answer after the abort");
                    answers += 1;
                }
                Some(Ok(Message::Text(t))) if t.as_str().starts_with(r#"["abort","#) => {
                    abort = Some(t.as_str().to_owned());
                }
                Some(Ok(Message::Close(frame))) => break frame,
                Some(Ok(other)) => panic!("round {round}: unexpected {other:?}"),
                Some(Err(e)) => panic!(
                    "round {round}: the connection failed after {answers} answers (abort seen: \
                     {}): {e}",
                    abort.is_some()
                ),
                None => panic!("round {round}: the connection ended without a close frame"),
            }
        };
        assert_eq!(
            answers, CALLS,
            "round {round}: every earlier answer arrived"
        );
        let abort = abort.expect("the abort message arrived");
        assert!(abort.contains("no such export ID: 999999"), "{abort}");
        let close = close.expect("a close frame with a code");
        assert_eq!(close.code, CloseCode::from(3000), "round {round}");
        assert!(
            close.reason.contains("no such export ID"),
            "{}",
            close.reason
        );
        sending.abort();
    }
    // Every session ended: no reader is left draining, nothing of the server runs.
    server.stop().await;
    crate::support::assert_tasks_at_most(before).await;
}
