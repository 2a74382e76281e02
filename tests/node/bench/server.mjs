// The Node reference server of the benchmark (capnweb-bench): npm capnweb 0.12.0
// serving the benchmark API (the same API as capnweb-bench/src/api.rs), set up
// the way capnweb's README shows for Node (ws + node:http).
//
//   node server.mjs
//
// Listens on 127.0.0.1 with an ephemeral port and prints `LISTENING <port>`.
// Every WebSocket connection (any path) is a session with a fresh `BenchApi`;
// every POST is one HTTP batch. Exits when stdin closes (the bench holds it).

import "../ws-global.mjs";
import http from "node:http";
import { WebSocketServer } from "ws";
import { RpcTarget, newWebSocketRpcSession, nodeHttpBatchRpcResponse } from "capnweb";

const log = (...args) => console.error("[node bench server]", ...args);
process.on("unhandledRejection", (reason) => log("unhandled rejection:", reason));

/** One link of a chain (scenario c). */
class Chain extends RpcTarget {
  #total;
  constructor(total) {
    super();
    this.#total = total;
  }
  next(n) {
    return new Chain(this.#total + n);
  }
  total() {
    return this.#total;
  }
}

/** The user directory captured by the mapper of scenario h. */
class Users extends RpcTarget {
  get(id) {
    return `user-${id}`;
  }
}

/** The main object. */
class BenchApi extends RpcTarget {
  add(a, b) {
    return a + b;
  }
  next(n) {
    return new Chain(n);
  }
  echo(value) {
    return value;
  }
  ids(n) {
    return Array.from({ length: n }, (_, i) => i + 1);
  }
  users() {
    return new Users();
  }
  /** Reads `stream` (byte chunks) to its end; -> the number of bytes read (scenario i). */
  async consume(stream) {
    let total = 0;
    for await (const chunk of stream) total += chunk.byteLength;
    return total;
  }
}

const httpServer = http.createServer(async (request, response) => {
  if (request.headers.upgrade?.toLowerCase() === "websocket") return;
  if (request.method !== "POST") {
    response.writeHead(404);
    response.end();
    return;
  }
  try {
    await nodeHttpBatchRpcResponse(request, response, new BenchApi());
  } catch (err) {
    log("batch failed:", err);
    if (!response.headersSent) response.writeHead(500);
    response.end(String(err));
  }
});

const wsServer = new WebSocketServer({ server: httpServer });
wsServer.on("connection", (ws) => {
  newWebSocketRpcSession(ws, new BenchApi());
});

const shutdown = () => process.exit(0);
process.stdin.on("end", shutdown);
process.stdin.on("close", shutdown);
process.stdin.on("error", shutdown);
process.stdin.resume();
process.on("SIGTERM", shutdown);

httpServer.listen(0, "127.0.0.1", () => {
  process.stdout.write(`LISTENING ${httpServer.address().port}\n`);
});
