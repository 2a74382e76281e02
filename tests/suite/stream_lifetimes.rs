//! Stream lifetimes and flow control: a reader that stops early ends the writer's stream, a
//! disconnect mid-stream fails both ends, a slow reader holds the writer to its window (the
//! source is not drained ahead of the reader), and the tables and tasks are clean afterwards.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use capnweb_runtime::stream::{PIPE_BUFFER, ReadableStream, STREAM_WINDOW};
use capnweb_runtime::transport::memory;
use capnweb_runtime::{Args, CallFuture, RpcError, RpcTarget, Session, Stub, Value};
use futures_util::StreamExt;

use crate::support::{alive_tasks, assert_no_leaks, assert_tasks_at_most, eventually};
use crate::transports::{Over, over_each};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_that_stops_early_ends_the_writers_stream() {
    over_each(Over::SESSIONS, |api: Stub, over| async move {
        let Value::ReadableStream(mut stream) = api.call("readChunks", (100_000,)).await.unwrap()
        else {
            panic!("{over:?}: a ReadableStream");
        };
        assert!(stream.next().await.unwrap().is_ok(), "{over:?}");
        assert!(stream.next().await.unwrap().is_ok(), "{over:?}");
        // Dropped with 99,998 chunks to go: the writer's next write fails and it stops (the
        // leak check after the body sees both tables clean).
        drop(stream);
        assert_eq!(
            api.call("ping", ()).await.unwrap(),
            "pong".into(),
            "{over:?}"
        );
    })
    .await;
}

/// `readSome(stream, k)` reads `k` chunks and keeps the stream unread; `dropHeld()` drops it.
#[derive(Default)]
struct SlowReader {
    held: Mutex<Option<ReadableStream>>,
}

impl RpcTarget for SlowReader {
    fn call(self: Arc<Self>, method: &str, args: Args) -> CallFuture {
        let mut args = args.into_values().into_iter();
        match method {
            "readSome" => Box::pin(async move {
                let Some(Value::ReadableStream(mut stream)) = args.next() else {
                    return Err(RpcError::type_error("a ReadableStream"));
                };
                let k: u32 = capnweb_runtime::from_value(args.next().unwrap_or_default())?;
                for _ in 0..k {
                    stream.next().await.transpose()?;
                }
                *self.held.lock().unwrap() = Some(stream);
                Ok(Value::from(k))
            }),
            "dropHeld" => {
                self.held.lock().unwrap().take();
                Box::pin(std::future::ready(Ok(Value::Undefined)))
            }
            other => Box::pin(std::future::ready(Err(RpcError::no_such_method(other)))),
        }
    }
}

/// A source of `count` chunks of 1 KiB that counts how many were taken from it.
fn counted_source(count: u32, taken: Arc<AtomicU32>) -> ReadableStream {
    let chunk = "x".repeat(1024);
    ReadableStream::new(futures_util::stream::iter(0..count).map(move |_| {
        taken.fetch_add(1, Ordering::SeqCst);
        Ok(Value::from(chunk.as_str()))
    }))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_reader_holds_the_writer_to_its_window() {
    let before = alive_tasks();
    let (near, far) = memory::pair();
    let server = Session::new(far, Some(Stub::new(SlowReader::default())));
    let client = Session::new(near, None);
    let api = client.main();
    let taken = Arc::new(AtomicU32::new(0));
    let source = counted_source(10_000, taken.clone());
    let read = api.call("readSome", vec![Value::ReadableStream(source), 5.into()]);
    assert_eq!(read.await.unwrap(), Value::from(5));

    // The reader stopped after 5 chunks: the writer sends until its window is full and then
    // waits, so the source stays mostly untouched. Wait until the count settles.
    let mut last = u32::MAX;
    for _ in 0..100 {
        let now = taken.load(Ordering::SeqCst);
        if now == last {
            break;
        }
        last = now;
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    // Each chunk is a message a little over 1 KiB; a window's worth, the pipe's buffer and
    // the chunks read are in flight at most.
    let bound = (STREAM_WINDOW / 1024 + PIPE_BUFFER + 5 + 2) as u32;
    assert!(
        last <= bound,
        "{last} chunks taken, at most {bound} expected"
    );
    assert!(
        last > 5,
        "the writer ran ahead of the reader by its window: {last}"
    );

    // The reader goes away: the writer stops, and nothing is left behind.
    api.call("dropHeld", ()).await.unwrap();
    eventually("the writer stopped after the reader went away", || {
        server.stats().exports == 1 && client.stats().imports == 1
    })
    .await;
    assert!(taken.load(Ordering::SeqCst) <= bound + 1);
    drop(api);
    assert_no_leaks(&[&client, &server]).await;
    drop((client, server));
    assert_tasks_at_most(before).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disconnect_mid_stream_fails_both_ends() {
    let before = alive_tasks();
    let (api_target, slot) = crate::api::TestApi::new();
    let (near, far) = memory::pair();
    let server = Session::new(far, Some(Stub::new(api_target)));
    let _ = slot.set(server.clone());
    let client = Session::new(near, None);
    let api = client.main();

    // Reading: the server's stream to us is cut.
    let Value::ReadableStream(mut incoming) = api.call("readChunks", (100_000,)).await.unwrap()
    else {
        panic!("a ReadableStream");
    };
    assert!(incoming.next().await.unwrap().is_ok());
    // Writing: our endless stream to the server is cut too.
    let endless = ReadableStream::new(futures_util::stream::repeat_with(|| Ok(Value::from(1))));
    let summing = api.call("sumStream", vec![Value::ReadableStream(endless)]);

    client.abort("the network went away");
    let error = loop {
        match incoming.next().await {
            Some(Ok(_)) => continue,
            Some(Err(error)) => break error,
            None => panic!("the stream must not look complete"),
        }
    };
    assert!(
        error.to_string().contains("without being closed"),
        "{error}"
    );
    assert!(summing.await.is_err(), "the call reading our stream fails");
    assert!(incoming.next().await.is_none());
    drop((api, incoming));
    tokio::time::timeout(Duration::from_secs(5), server.closed())
        .await
        .expect("the server session ends");
    drop((client, server));
    assert_tasks_at_most(before).await;
}

/// `drain(stream)` reads every chunk slowly (a pause every 16 chunks) and records the most
/// chunks the writer was ahead of it at any read.
struct Drainer {
    taken: Arc<AtomicU32>,
    most_ahead: Arc<AtomicU32>,
}

impl RpcTarget for Drainer {
    fn call(self: Arc<Self>, _method: &str, args: Args) -> CallFuture {
        Box::pin(async move {
            let Some(Value::ReadableStream(mut stream)) = args.into_values().into_iter().next()
            else {
                return Err(RpcError::type_error("a ReadableStream"));
            };
            let mut read = 0u32;
            let mut bytes = 0usize;
            while let Some(chunk) = stream.next().await {
                if let Value::String(s) = chunk? {
                    bytes += s.len();
                }
                read += 1;
                let ahead = self.taken.load(Ordering::SeqCst) - read;
                self.most_ahead.fetch_max(ahead, Ordering::SeqCst);
                if read.is_multiple_of(16) {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            }
            Ok(Value::from(bytes as f64))
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_megabytes_through_a_slow_reader_stay_within_the_window() {
    const CHUNK: usize = 64 * 1024;
    const CHUNKS: u32 = 1600; // 100 MiB
    let before = alive_tasks();
    let taken = Arc::new(AtomicU32::new(0));
    let most_ahead = Arc::new(AtomicU32::new(0));
    let (near, far) = memory::pair();
    let drainer = Drainer {
        taken: taken.clone(),
        most_ahead: most_ahead.clone(),
    };
    let server = Session::new(far, Some(Stub::new(drainer)));
    let client = Session::new(near, None);
    let chunk = "x".repeat(CHUNK);
    let counter = taken.clone();
    let source = ReadableStream::new(futures_util::stream::iter(0..CHUNKS).map(move |_| {
        counter.fetch_add(1, Ordering::SeqCst);
        Ok(Value::from(chunk.as_str()))
    }));
    let drained = client
        .main()
        .call("drain", vec![Value::ReadableStream(source)]);
    let total = tokio::time::timeout(Duration::from_secs(120), drained)
        .await
        .expect("100 MiB within 2 minutes")
        .unwrap();
    assert_eq!(total, Value::from((CHUNK as u32 * CHUNKS) as f64));
    // In flight at most: a window of messages (each a little over a chunk), the pipe's
    // buffer, and the chunk each side holds.
    let bound = (STREAM_WINDOW / CHUNK + 1 + PIPE_BUFFER + 2) as u32;
    let most = most_ahead.load(Ordering::SeqCst);
    assert!(
        most <= bound,
        "the writer ran {most} chunks ({} KiB) ahead of the reader; the bound is {bound}",
        most as usize * CHUNK / 1024
    );
    assert_no_leaks(&[&client, &server]).await;
    drop((client, server));
    assert_tasks_at_most(before).await;
}
