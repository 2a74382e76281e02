//! Streams, over memory, our WebSocket server and the npm capnweb server: a `ReadableStream`
//! the server returns is read here as a `futures::Stream`, one we send it is read there, past
//! the flow-control window; an error mid-stream reaches the reader after the chunks before it;
//! the tables are clean afterwards (the leak check of `over_each`).

use capnweb_runtime::stream::{ReadableStream, WritableStream};
use capnweb_runtime::{RpcError, Stub, Value};
use std::future::IntoFuture;

use futures_util::{SinkExt, StreamExt};

use crate::transports::{Over, over_each};

const OVER: &[Over] = Over::SESSIONS;

fn seq(n: u32) -> Value {
    let mut object = capnweb_runtime::value::Object::new();
    object.insert("seq".into(), Value::from(n));
    Value::Object(object)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_readable_stream_from_the_server_is_a_rust_stream() {
    over_each(OVER, |api: Stub, over| async move {
        let Value::ReadableStream(stream) = api.call("readChunks", (3,)).await.unwrap() else {
            panic!("{over:?}: readChunks returns a ReadableStream");
        };
        let chunks: Vec<Value> = stream.map(Result::unwrap).collect().await;
        assert_eq!(chunks, [seq(1), seq(2), seq(3)], "{over:?}");

        // Fails after its first chunk: the error arrives after the chunk, then the end.
        let Value::ReadableStream(mut failing) = api.call("failingStream", ()).await.unwrap()
        else {
            panic!("{over:?}: failingStream returns a ReadableStream");
        };
        assert_eq!(failing.next().await.unwrap().unwrap(), Value::from("a"));
        let error = failing.next().await.unwrap().unwrap_err();
        assert_eq!(error.name(), "RangeError", "{over:?}: {error:?}");
        assert!(error.to_string().contains("broken"), "{over:?}: {error}");
        assert!(failing.next().await.is_none(), "{over:?}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_writes_into_a_rust_sink() {
    over_each(OVER, |api: Stub, over| async move {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Value>();
        let sink = futures_util::sink::unfold(tx, |tx, chunk: Value| async move {
            tx.send(chunk)
                .map_err(|_| RpcError::new("Error", "the test stopped reading"))?;
            Ok::<_, RpcError>(tx)
        });
        let writable = WritableStream::new(sink);
        let n = api.call(
            "writeChunks",
            vec![Value::WritableStream(writable), 3.into()],
        );
        assert_eq!(n.await.unwrap(), Value::from(3), "{over:?}");
        // Closed after the last chunk: the channel ends.
        let mut chunks = Vec::new();
        while let Some(chunk) = rx.recv().await {
            chunks.push(chunk);
        }
        assert_eq!(
            chunks,
            ["chunk 1", "chunk 2", "chunk 3"].map(Value::from),
            "{over:?}"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_reads_a_rust_stream() {
    over_each(OVER, |api: Stub, over| async move {
        let numbers = futures_util::stream::iter(1..=4).map(|n| Ok(Value::from(n)));
        let sum = api.call(
            "sumStream",
            vec![Value::ReadableStream(ReadableStream::new(numbers))],
        );
        assert_eq!(sum.await.unwrap(), Value::from(10), "{over:?}");

        // Many chunks, well past the window: flow control keeps it going without loss.
        let many = futures_util::stream::iter(0..2000).map(|_| Ok(Value::from(1)));
        let sum = api.call(
            "sumStream",
            vec![Value::ReadableStream(ReadableStream::new(many))],
        );
        assert_eq!(sum.await.unwrap(), Value::from(2000), "{over:?}");

        // A stream that fails: the reader there sees the error.
        let failing = futures_util::stream::iter([
            Ok(Value::from(1)),
            Err(RpcError::new("RangeError", "ran dry")),
        ]);
        let sum = api.call(
            "sumStream",
            vec![Value::ReadableStream(ReadableStream::new(failing))],
        );
        let error = sum.await.unwrap_err();
        assert!(error.to_string().contains("ran dry"), "{over:?}: {error:?}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blobs_travel_both_ways() {
    over_each(OVER, |api: Stub, over| async move {
        let blob = api
            .call("makeBlob", ("hello, blob", "text/plain"))
            .await
            .unwrap();
        let expected = capnweb_runtime::value::Blob {
            content_type: "text/plain".into(),
            bytes: b"hello, blob".to_vec(),
        };
        assert_eq!(blob, Value::Blob(expected), "{over:?}");

        let ours = capnweb_runtime::value::Blob {
            content_type: "application/octet-stream".into(),
            bytes: vec![0x68, 0x69, 0x21],
        };
        let described = api.call("describeBlob", vec![Value::Blob(ours)]);
        assert_eq!(
            described.await.unwrap(),
            Value::from("application/octet-stream: hi!"),
            "{over:?}"
        );
    })
    .await;
}

/// capnweb cannot send a stream inside a `.map()` program either (it is replayed per
/// element): using one in the callback fails the map with a clear error, and nothing is sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_in_a_map_callback_is_refused() {
    over_each(
        &[Over::Memory, Over::NodeWebSocket],
        |api: Stub, over| async move {
            let stream = ReadableStream::new(futures_util::stream::iter([Ok(Value::from(1))]));
            let ids = api.call("listUserIds", ());
            let mapped = ids.map(|_id| {
                Value::Promise(api.call("echo", vec![Value::ReadableStream(stream.clone())]))
            });
            let error = mapped.await.unwrap_err();
            assert!(
                error
                    .to_string()
                    .contains("cannot be used inside a .map() callback"),
                "{over:?}: {error:?}"
            );
        },
    )
    .await;
}

/// An HTTP batch is one request and one response: a stream's chunks and their answers cannot
/// fit, so streams are refused there with a clear error, whichever way they would go, and
/// nothing waits forever.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_are_refused_in_an_http_batch_with_a_clear_error() {
    over_each(&[Over::HttpBatch], |api: Stub, _| async move {
        let numbers = futures_util::stream::iter(1..=4).map(|n| Ok(Value::from(n)));
        let readable = Value::ReadableStream(ReadableStream::new(numbers));
        let writable =
            WritableStream::new(futures_util::sink::drain().sink_map_err(|e| match e {}));
        let (sum, written, chunks) = tokio::join!(
            api.call("sumStream", vec![readable]).into_future(),
            api.call(
                "writeChunks",
                vec![Value::WritableStream(writable), 3.into()]
            )
            .into_future(),
            api.call("readChunks", (3,)).into_future(),
        );
        for outcome in [sum, written] {
            let error = outcome.unwrap_err();
            assert!(
                error.to_string().contains("cannot travel in an HTTP batch"),
                "{error:?}"
            );
        }
        // The server cannot send one either: the batch fails with the server's reason.
        let error = chunks.unwrap_err();
        assert!(error.to_string().contains("HTTP batch"), "{error:?}");
    })
    .await;
}

/// A Response's body from TypeScript is a stream we read; a Request we send can carry a
/// stream body that TypeScript reads with `request.text()`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_and_response_bodies_are_streams() {
    use capnweb_runtime::value::{Bytes, BytesKind, Object, RequestValue};
    over_each(OVER, |api: Stub, _| async move {
        let Value::Response(response) = api.call("makeResponse", ("a body",)).await.unwrap() else {
            panic!("makeResponse returns a Response");
        };
        assert_eq!(response.init.get("status"), Some(&Value::from(201)));
        let Value::ReadableStream(body) = response.body else {
            panic!("the body is a stream: {:?}", response.body);
        };
        let mut text = Vec::new();
        for chunk in body.collect::<Vec<_>>().await {
            match chunk.unwrap() {
                Value::Bytes(b) => text.extend_from_slice(&b.data),
                other => panic!("a body chunk is bytes: {other:?}"),
            }
        }
        assert_eq!(text, b"a body");

        let part = |s: &str| {
            Ok(Value::Bytes(Bytes {
                data: s.as_bytes().to_vec(),
                kind: BytesKind::Uint8Array,
            }))
        };
        let body = ReadableStream::new(futures_util::stream::iter([
            part("part 1, "),
            part("part 2"),
        ]));
        let mut init = Object::new();
        init.insert("method".into(), Value::from("POST"));
        init.insert("body".into(), Value::ReadableStream(body));
        let request = Value::Request(Box::new(RequestValue {
            url: "https://example.com/upload".into(),
            init,
        }));
        let described = api.call("describeRequest", vec![request]).await.unwrap();
        assert_eq!(
            described,
            Value::from("POST https://example.com/upload: part 1, part 2")
        );
    })
    .await;
}
