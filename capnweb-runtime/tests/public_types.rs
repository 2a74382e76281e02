//! Compile-time proof that the runtime's public types can cross threads: handles, builders,
//! options, errors and the futures of starting and stopping things are `Send` (and the shared
//! handles `Sync`), so they can be stored in application state and used from spawned tasks.
//! If any of this stops holding, this file stops compiling.

use std::future::Future;

use capnweb_runtime::batch::{BatchReply, BatchServerOptions, BatchSession};
use capnweb_runtime::http::{BatchClient, RpcService, SessionContext, SessionKind};
use capnweb_runtime::transport::CloseInfo;
use capnweb_runtime::transport::memory::MemoryTransport;
use capnweb_runtime::transport::websocket::Connector;
use capnweb_runtime::wire::{Expr, Message, MessageKind};
use capnweb_runtime::{
    Limits, OnBroken, RpcError, Server, ServerBuilder, Session, SessionBuilder, SessionOptions,
    SessionStats, Value,
};

fn send_sync<T: Send + Sync>() {}
fn send<T: Send>() {}
fn send_future<F: Future + Send>(_: F) {}

#[test]
fn handles_options_and_errors_are_send_and_sync() {
    send_sync::<Server>();
    send_sync::<Session>();
    send_sync::<RpcService>();
    send_sync::<BatchSession>();
    send_sync::<BatchClient>();
    send_sync::<SessionContext>();
    send_sync::<SessionKind>();
    send_sync::<SessionOptions>();
    send_sync::<SessionStats>();
    send_sync::<Limits>();
    send_sync::<BatchServerOptions>();
    send_sync::<BatchReply>();
    send_sync::<CloseInfo>();
    send_sync::<RpcError>();
    send_sync::<Value>();
    send_sync::<Message<'static>>();
    send_sync::<Expr<'static>>();
    send_sync::<MessageKind>();
    send_sync::<OnBroken>();
    send::<ServerBuilder>();
    send::<SessionBuilder>();
    send::<Connector>();
    send::<MemoryTransport>();
}

/// Never run: only type-checked, so the futures need no runtime or peer.
#[allow(dead_code, unreachable_code, clippy::diverging_sub_expression)]
fn starting_and_stopping_futures_are_send(server: Server, session: Session, batch: BatchSession) {
    send_future(Server::builder(|_| unimplemented!()).bind("127.0.0.1:0"));
    send_future(server.shutdown());
    send_future(Connector::new("ws://127.0.0.1:1/").connect());
    send_future(capnweb_runtime::transport::websocket::connect(
        "ws://127.0.0.1:1/",
    ));
    send_future(async move { session.closed().await });
    send_future(async move { batch.send().await });
}
