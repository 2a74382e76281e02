// Golden messages for the Rust codec: prints, as one JSON array on stdout, every frame two real
// capnweb 0.12.0 sessions send each other over an in-memory transport while they go through a
// scenario that uses all eight message kinds. The Rust side (tests/suite/golden.rs) parses each
// frame with the public codec and checks that encoding it again gives the same bytes.
//
// Run from this folder: `node golden-messages.mjs`.

import { RpcSession, RpcTarget } from "capnweb";

const frames = [];

/** One direction of the in-memory connection. */
class Queue {
  constructor() {
    this.items = [];
    this.waiters = [];
  }
  put(message) {
    const waiter = this.waiters.shift();
    if (waiter) waiter(message);
    else this.items.push(message);
  }
  take() {
    if (this.items.length > 0) return Promise.resolve(this.items.shift());
    return new Promise((resolve) => this.waiters.push(resolve));
  }
}

function transport(outgoing, incoming) {
  return {
    send(message) {
      frames.push(message);
      outgoing.put(message);
    },
    receive: () => incoming.take(),
    abort() {},
  };
}

class Api extends RpcTarget {
  add(a, b) {
    return a + b;
  }
  fail() {
    throw new TypeError("failed on purpose");
  }
  values() {
    return {
      n: [1.5, -0, 1e21, 0.000001, NaN],
      big: 12n,
      when: new Date(0),
      bytes: new Uint8Array([1, 2, 3]),
      nothing: undefined,
      b: "bee",
      2: "two",
      text: "ünï \"q\"\n",
      error: new RangeError("as a value"),
    };
  }
  async callBack(callback) {
    return await callback.hello("server");
  }
  async readAll(stream) {
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    return chunks;
  }
}

class Callback extends RpcTarget {
  hello(name) {
    return `hello ${name}`;
  }
}

const toServer = new Queue();
const toClient = new Queue();
new RpcSession(transport(toClient, toServer), new Api());
const client = new RpcSession(transport(toServer, toClient));
const api = client.getRemoteMain();

await api.add(2, 3);
await api.fail().catch(() => {});
await api.values();
await api.values().n;
await api.callBack(new Callback());
await api.readAll(
  new ReadableStream({
    start(controller) {
      controller.enqueue("a");
      controller.enqueue({ x: [1, 2] });
      controller.close();
    },
  }),
);
// A message the server cannot read: it answers with an abort.
toServer.put('["bogus"]');
await new Promise((resolve) => setTimeout(resolve, 50));

process.stdout.write(JSON.stringify(frames), () => process.exit(0));
