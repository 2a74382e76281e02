//! Which client runs against which server in each scenario.

use crate::cli::{Counts, OurServer};
use crate::serve::ServerKind;

/// A client implementation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Client {
    /// A Rust client of this bench (`client <kind>`): `ours`, `jsonrpsee`, `raw`, `raw-batched`.
    Rust(&'static str),
    /// `tests/node/bench/client.mjs` (npm capnweb).
    Node,
    /// `hold`: opens idle WebSocket connections (scenario g).
    Hold,
}

/// A server implementation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Server {
    /// `capnweb-bench serve <kind>`.
    Rust(ServerKind),
    /// `tests/node/bench/server.mjs` (npm capnweb).
    Node,
}

/// One implementation measured in a scenario.
#[derive(Clone, Copy, Debug)]
pub struct Case {
    /// What the tables call it.
    pub label: &'static str,
    /// Short key the targets refer to.
    pub key: &'static str,
    /// The client.
    pub client: Client,
    /// The server.
    pub server: Server,
    /// Whether a target is stated against this case (the others are diagnostic extras).
    pub diagnostic: bool,
}

const fn case(
    key: &'static str,
    label: &'static str,
    client: Client,
    server: Server,
    diagnostic: bool,
) -> Case {
    Case {
        label,
        key,
        client,
        server,
        diagnostic,
    }
}

/// The cases of `scenario`, in table order.
pub fn cases(scenario: char, our_server: OurServer) -> Vec<Case> {
    let ours_ws = match our_server {
        OurServer::Http => Server::Rust(ServerKind::OursHttp),
        OurServer::Ws => Server::Rust(ServerKind::OursWs),
    };
    let ours = case("ours", "capnweb-rs", Client::Rust("ours"), ours_ws, false);
    let node = case(
        "node",
        "npm capnweb (Node)",
        Client::Node,
        Server::Node,
        false,
    );
    let jsonrpsee = case(
        "jsonrpsee",
        "jsonrpsee (WS)",
        Client::Rust("jsonrpsee"),
        Server::Rust(ServerKind::Jsonrpsee),
        false,
    );
    let raw = case(
        "raw",
        "raw echo (one write per frame)",
        Client::Rust("raw"),
        Server::Rust(ServerKind::Raw),
        false,
    );
    match scenario {
        'a' => vec![ours, node, jsonrpsee, raw],
        'b' => vec![
            ours,
            node,
            jsonrpsee,
            raw,
            case(
                "raw-batched",
                "raw echo (batched flush)",
                Client::Rust("raw-batched"),
                Server::Rust(ServerKind::RawBatched),
                false,
            ),
        ],
        'c' => vec![ours, node],
        'd' => vec![ours, node, jsonrpsee, raw],
        'e' => vec![
            case(
                "ours",
                "capnweb-rs (BatchClient -> RpcService)",
                Client::Rust("ours"),
                Server::Rust(ServerKind::OursHttp),
                false,
            ),
            node,
        ],
        'f' => vec![
            case(
                "node-ours",
                "Node client -> capnweb-rs server",
                Client::Node,
                ours_ws,
                false,
            ),
            case(
                "node",
                "Node client -> Node server",
                Client::Node,
                Server::Node,
                false,
            ),
            // For reference: what the same load costs our server from our own client.
            case(
                "ours",
                "capnweb-rs client -> capnweb-rs server",
                Client::Rust("ours"),
                ours_ws,
                true,
            ),
        ],
        'g' => {
            let mut list = vec![
                case("ours", "capnweb-rs server", Client::Hold, ours_ws, false),
                case(
                    "node",
                    "npm capnweb server (Node)",
                    Client::Hold,
                    Server::Node,
                    false,
                ),
            ];
            list.push(case(
                "raw",
                "raw tokio-tungstenite echo server (default WebSocketConfig)",
                Client::Hold,
                Server::Rust(ServerKind::Raw),
                true,
            ));
            list.push(case(
                "raw-small-buffer",
                "raw tokio-tungstenite echo server, read_buffer_size 4 KiB",
                Client::Hold,
                Server::Rust(ServerKind::RawSmallBuffer),
                true,
            ));
            if our_server == OurServer::Http {
                list.push(case(
                    "ours-ws",
                    "capnweb-rs server, tungstenite accept (no hyper)",
                    Client::Hold,
                    Server::Rust(ServerKind::OursWs),
                    true,
                ));
            }
            list
        }
        // The crossed pairs tell which side is the slow one.
        'h' | 'i' => vec![
            ours,
            node,
            case(
                "ours-node",
                "our client -> Node server",
                Client::Rust("ours"),
                Server::Node,
                true,
            ),
            case(
                "node-ours",
                "Node client -> our server",
                Client::Node,
                ours_ws,
                true,
            ),
        ],
        _ => Vec::new(),
    }
}

/// Timed repetitions of `scenario`.
pub fn count(scenario: char, counts: &Counts) -> u64 {
    match scenario {
        'a' => counts.a,
        'b' | 'f' => counts.b,
        'c' => counts.c,
        'd' => counts.d,
        'e' => counts.e,
        'g' => counts.g,
        'h' => counts.h,
        'i' => counts.i,
        _ => 0,
    }
}

/// Scenario i: bytes per stream chunk (a `Uint8Array` in JavaScript, `Value::Bytes` here).
pub const STREAM_CHUNK_BYTES: u64 = 64 * 1024;

/// Scenario i: chunks per stream (64 MiB); a run's count of chunks is sent as streams of this
/// many chunks (the last one shorter).
pub const STREAM_CHUNKS: u64 = 1024;

/// Warm-up repetitions: a tenth of the count, at least two.
pub fn warmup(count: u64) -> u64 {
    (count / 10).max(2)
}

/// The scenario a client process runs: f is scenario b run by the Node client.
pub fn client_scenario(scenario: char) -> char {
    if scenario == 'f' { 'b' } else { scenario }
}

/// What performance.md calls the scenario.
pub fn title(scenario: char) -> &'static str {
    match scenario {
        'a' => "a. 20,000 sequential awaited add(i, 1) calls",
        'b' => "b. 200,000 add calls with 256 in flight",
        'c' => "c. pipelined chain next(1)...next(10) + one await vs the 10 calls each awaited",
        'd' => "d. echo of a 64 KiB nested JSON object (1,020 keys), 2,000 times",
        'e' => "e. 1,000 HTTP batches of 10 add calls",
        'f' => {
            "f. Node capnweb client, scenario b: server CPU per call, our server vs the Node server"
        }
        'g' => "g. 10,000 idle WebSocket sessions on one server",
        'h' => "h. .map() over 10,000 ids with one captured call per element",
        'i' => "i. 4 streams of 64 MiB in 64 KiB byte chunks, client to server (consume(stream))",
        _ => "?",
    }
}
