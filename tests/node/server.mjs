// The reference server of the interop suite: the real capnweb 0.12.0 serving
// the test API (api.mjs).
//
//   node server.mjs
//
// - Listens on 127.0.0.1 with an ephemeral port and prints exactly one line,
//   `LISTENING <port>`, on stdout once it accepts connections. Nothing else is
//   ever written to stdout; diagnostics go to stderr.
// - Every WebSocket connection (any path) gets a fresh capnweb session whose
//   main object is a fresh `TestApi`.
// - An HTTP POST (any path) is served as one capnweb HTTP-batch session with a
//   fresh `TestApi` (`stats()` is unavailable there: the batch helper does not
//   expose its session). Other HTTP requests get 404.
// - Exits when stdin reaches EOF (the Rust test that spawned it holds the pipe,
//   so the server dies with the test even if the test is killed) or on
//   SIGTERM / SIGINT.

import "./ws-global.mjs";
import fs from "node:fs";
import http from "node:http";
import https from "node:https";
import { WebSocketServer } from "ws";
import { RpcSession, WebSocketTransport, nodeHttpBatchRpcResponse } from "capnweb";
import { createTestApi } from "./api.mjs";

const log = (...args) => console.error("[node server]", ...args);

// A misbehaving peer must not take the whole server down: Node's default for
// an unhandled rejection is to exit. Log instead.
process.on("unhandledRejection", (reason) => log("unhandled rejection:", reason));
process.on("uncaughtException", (err) => log("uncaught exception:", err));

/** Ends of a session that are part of normal operation and not worth a log line. */
function isNormalClose(reason) {
  const message = reason instanceof Error ? reason.message : String(reason);
  return (
    /^Peer closed WebSocket: (1000|1001|1005|1006)\b/.test(message) ||
    message.includes("RPC session was shut down by disposing the main stub")
  );
}

/** Starts a capnweb session on an accepted WebSocket. */
function serveWebSocket(ws, request) {
  let session;
  const api = createTestApi({ getStats: () => session.getStats() });
  session = new RpcSession(new WebSocketTransport(ws), api);
  // The client's main stub (import 0) breaks when the session aborts, for
  // whatever reason; use it to log abnormal ends (protocol errors etc.).
  session.getRemoteMain().onRpcBroken((reason) => {
    if (!isNormalClose(reason)) {
      log(`session from ${request.socket.remoteAddress}:${request.socket.remotePort} aborted:`, reason);
    }
  });
}

/** Serves one HTTP-batch session (POST body = messages joined by "\n"). */
async function serveHttpBatch(req, res) {
  try {
    await nodeHttpBatchRpcResponse(req, res, createTestApi());
  } catch (err) {
    // The batch helper throws when the session aborts (e.g. a malformed
    // message) instead of answering; answer 500 with the reason.
    log("HTTP batch session failed:", err);
    if (!res.headersSent) {
      res.writeHead(500, { "content-type": "text/plain; charset=utf-8" });
    }
    res.end(err instanceof Error ? err.message : String(err));
  }
}

function handleRequest(req, res) {
  if (req.method === "POST") {
    serveHttpBatch(req, res);
  } else {
    res.writeHead(404, { "content-type": "text/plain; charset=utf-8" });
    res.end("POST for HTTP batch, or a WebSocket upgrade\n");
  }
}

// With TLS_CERT_FILE and TLS_KEY_FILE (PEM) it serves wss:// and https:// instead.
const tls = process.env.TLS_CERT_FILE && process.env.TLS_KEY_FILE
  ? { cert: fs.readFileSync(process.env.TLS_CERT_FILE), key: fs.readFileSync(process.env.TLS_KEY_FILE) }
  : null;
const httpServer = tls ? https.createServer(tls, handleRequest) : http.createServer(handleRequest);

const wss = new WebSocketServer({ server: httpServer });
wss.on("connection", (ws, request) => {
  try {
    serveWebSocket(ws, request);
  } catch (err) {
    log("could not start a session:", err);
    ws.terminate();
  }
});
wss.on("error", (err) => log("WebSocket server error:", err));

let shuttingDown = false;
function shutdown() {
  if (shuttingDown) return;
  shuttingDown = true;
  for (const client of wss.clients) client.terminate();
  wss.close();
  httpServer.close();
  // Do not wait for lingering sockets or timers (e.g. `hang()`): exit now.
  process.exit(0);
}

process.on("SIGTERM", () => shutdown());
process.on("SIGINT", () => shutdown());
// EOF on stdin means the parent is gone (or wants us gone).
process.stdin.on("end", () => shutdown());
process.stdin.on("close", () => shutdown());
process.stdin.on("error", () => shutdown());
process.stdin.resume();

httpServer.on("error", (err) => {
  log("HTTP server error:", err);
  process.exit(1);
});
httpServer.listen(0, "127.0.0.1", () => {
  process.stdout.write(`LISTENING ${httpServer.address().port}\n`);
});
