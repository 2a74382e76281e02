// Shows capnweb 0.12.0's missing embargo (protocol.md section 11, rule 5): a
// call made after a promise resolved to one of our own objects overtakes a call
// pipelined on that promise earlier, when the path back from the server is slow.
//
//   node eorder.mjs <ws-url>
//
// Prints one JSON line: {"order": [...]}, the order in which our object saw the
// two calls ("first" was made first). The transport delays every frame that
// follows the resolution of import 1 by DELAY_MS, standing in for a slow network.

import { WebSocket } from "./ws-global.mjs";
import { RpcSession, RpcTarget, WebSocketTransport } from "capnweb";

const DELAY_MS = 150;

class SlowReturnPath {
  #inner;
  #delayNext = false;
  constructor(inner) {
    this.#inner = inner;
  }
  send(message) {
    return this.#inner.send(message);
  }
  async receive() {
    const message = await this.#inner.receive();
    if (this.#delayNext) await new Promise((r) => setTimeout(r, DELAY_MS));
    if (typeof message === "string" && message.startsWith('["resolve",1,')) this.#delayNext = true;
    return message;
  }
  abort(reason) {
    return this.#inner.abort(reason);
  }
}

class Recorder extends RpcTarget {
  seen = [];
  record(label) {
    this.seen.push(label);
    return this.seen.length;
  }
}

const url = process.argv[2];
const ws = new WebSocket(url);
const session = new RpcSession(new SlowReturnPath(new WebSocketTransport(ws)));
const api = session.getRemoteMain();
const recorder = new Recorder();

const p = api.wrapCallback(recorder);
const resolving = p.then((v) => v); // the pull goes out now
const first = p.cb.record("first"); // pipelined through the server, forwarded back to us
const value = await resolving; // p resolved to our own object
const second = value.cb.record("second"); // delivered locally at once
await Promise.all([first, second]);

console.log(JSON.stringify({ order: recorder.seen }));
api[Symbol.dispose]();
setTimeout(() => process.exit(0), 50);
