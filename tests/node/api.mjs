// The shared test API of the interop suite.
//
// This file is the SPECIFICATION of the API. The Node server (server.mjs)
// serves it with the real capnweb 0.12.0, and the Rust suite re-implements it
// with the Rust runtime; client.mjs (and the Rust clients) run the same
// scenarios against either. Keep both implementations in step with this file:
// same method names (camelCase), same argument order, same results, same error
// names, messages and properties.
//
// How JS semantics map onto the wire (what the Rust copy must reproduce):
//
// - Every `class ... extends RpcTarget` is passed BY REFERENCE: returning one
//   sends `["export", -n]`, and the peer gets a stub. Its prototype methods and
//   getters are callable / readable over RPC; its instance fields are NOT
//   (reading one rejects with a TypeError, see `User.secret`), and `#private`
//   members are invisible.
// - A plain function (e.g. the result of `makeMultiplier`) is also passed by
//   reference; the peer calls it with an empty path: `["pipeline", id, [], args]`.
// - Plain objects and arrays are passed BY VALUE (deep copy).
// - Stubs received as ARGUMENTS are disposed by capnweb when the method
//   returns (the server sends `release` for them right before the `resolve`).
//   A method that wants to keep one must `dup()` it (see `holdCallback`).
// - A thrown value becomes `["reject", id, <value>]`. Errors travel as
//   `["error", name, message, null, {own enumerable props}]`; the JS receiver
//   maps unknown names (like "NotFoundError") to a plain `Error` but keeps the
//   props, so clients check `code`, not `name`.
// - A `[Symbol.dispose]()` method on a target runs when the peer has released
//   the LAST reference to it (or when the session ends).

import { RpcTarget } from "capnweb";

// ---------------------------------------------------------------------------
// Module-level state (shared by every session of one server process)
// ---------------------------------------------------------------------------

/**
 * How many times a tracked object (a `Counter`) created with a given key has
 * been disposed. Module-level on purpose: the disposal of a session's objects
 * must be observable from another call (or another session) after the fact.
 * Clients use unique keys, so concurrent sessions never interfere.
 */
const disposeCounts = new Map();

function noteDisposed(key) {
  disposeCounts.set(key, (disposeCounts.get(key) ?? 0) + 1);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

/**
 * Thrown by `Users.get` for an unknown id and by `fail("not-found")`.
 * On the wire: `["error","NotFoundError","<message>",null,{"code":"E_NOT_FOUND"}]`
 * (`name` is an own property, but capnweb never puts `name`, `message` or
 * `stack` into the props object).
 */
export class NotFoundError extends Error {
  constructor(message) {
    super(message);
    this.name = "NotFoundError";
    this.code = "E_NOT_FOUND";
  }
}

// ---------------------------------------------------------------------------
// Users
// ---------------------------------------------------------------------------

/** The fixed user directory. `joined` is milliseconds since the epoch. */
const USER_RECORDS = [
  {
    id: 1,
    name: "Ada Lovelace",
    email: "ada@example.com",
    bio: "First programmer",
    joined: 1579089600000,
    tags: ["math", "engines"],
    friendIds: [2, 3],
  },
  {
    id: 2,
    name: "Alan Turing",
    email: "alan@example.com",
    bio: "Codebreaker",
    joined: 1600000000000,
    tags: ["logic"],
    friendIds: [1],
  },
  {
    id: 3,
    name: "Grace Hopper",
    email: "grace@example.com",
    bio: "Compiler pioneer",
    joined: 1670607900000,
    tags: ["cobol", "navy"],
    friendIds: [1, 2],
  },
];

/** One user, passed by reference. A fresh `User` is created per lookup. */
export class User extends RpcTarget {
  /**
   * An instance field: it must NOT be readable over RPC. capnweb rejects
   * `["pipeline", id, ["secret"]]` with
   * `TypeError("Attempted to access property 'secret', which is an instance property of the RpcTarget. ...")`.
   */
  secret = "hidden";

  #record;

  constructor(record) {
    super();
    this.#record = record;
  }

  /** Getter, readable over RPC: the user's full name. */
  get name() {
    return this.#record.name;
  }

  /** Getter, readable over RPC: the user's email address. */
  get email() {
    return this.#record.email;
  }

  /** -> `{id, bio, joined: Date, tags: string[]}` (a fresh copy each time). */
  profile() {
    const r = this.#record;
    return { id: r.id, bio: r.bio, joined: new Date(r.joined), tags: [...r.tags] };
  }

  /** -> the ids of this user's friends, e.g. `[2, 3]` for user 1. */
  friendIds() {
    return [...this.#record.friendIds];
  }
}

/** The user directory, passed by reference (returned by `TestApi.users()`). */
export class Users extends RpcTarget {
  /** -> a `User` stub for id 1, 2 or 3; otherwise throws `NotFoundError("no user with id <id>")`. */
  get(id) {
    const record = USER_RECORDS.find((r) => r.id === id);
    if (!record) throw new NotFoundError(`no user with id ${id}`);
    return new User(record);
  }

  /** -> the `User` whose name is exactly `name`, or `null`. */
  find(name) {
    const record = USER_RECORDS.find((r) => r.name === name);
    return record ? new User(record) : null;
  }
}

// ---------------------------------------------------------------------------
// Counter (observable disposal)
// ---------------------------------------------------------------------------

/**
 * A counter passed by reference. Its disposer increments the module-level
 * dispose count for its key, so a client can observe WHEN the server dropped
 * its last reference (see `TestApi.disposeCount`).
 */
export class Counter extends RpcTarget {
  #key;
  #value;

  constructor(key, start) {
    super();
    this.#key = key;
    this.#value = start;
  }

  /** Adds `n` (default 1) and returns the new value. */
  increment(n = 1) {
    this.#value += n;
    return this.#value;
  }

  /** Getter: the current value. */
  get value() {
    return this.#value;
  }

  /** Runs once, when the last reference (export or local stub) is released. */
  [Symbol.dispose]() {
    noteDisposed(this.#key);
  }
}

// ---------------------------------------------------------------------------
// The main object
// ---------------------------------------------------------------------------

/**
 * The main ("bootstrap") object of a session: import/export ID 0.
 * One instance per session; `record`/`recorded` and `holdCallback`/`callHeld`
 * state is per session.
 */
export class TestApi extends RpcTarget {
  /** `() => {imports, exports}` of this session, or undefined. */
  #getStats;
  /** Values appended by `record`, in call order. */
  #recorded = [];
  /** The stub kept by `holdCallback` (a `dup()` of the argument), or null. */
  #held = null;

  constructor(getStats) {
    super();
    this.#getStats = getStats;
  }

  // --- plain calls -------------------------------------------------------

  /** -> `a + b` (numbers; JS `+` semantics). */
  add(a, b) {
    return a + b;
  }

  /** -> `"pong"`. */
  ping() {
    return "pong";
  }

  /** -> its argument, unchanged (any value type; no argument -> undefined). */
  echo(x) {
    return x;
  }

  // --- capabilities ------------------------------------------------------

  /** -> a `Users` stub. */
  users() {
    return new Users();
  }

  /** -> `[1, 2, 3]`. */
  listUserIds() {
    return USER_RECORDS.map((r) => r.id);
  }

  /**
   * `user` is a `User` stub (one of ours, passed back, or anything with `name`
   * and `email`). -> `"<name> <<email>>"`, e.g. `"Ada Lovelace <ada@example.com>"`.
   */
  async describeUser(user) {
    return `${await user.name} <${await user.email}>`;
  }

  /** -> a plain function `x => x * n`, passed by reference. */
  makeMultiplier(n) {
    return (x) => x * n;
  }

  // --- callbacks into the caller -----------------------------------------

  /**
   * Calls `fn(i)` for i = 1..n, one after another (each awaited before the
   * next starts) and returns the sum of the results.
   */
  async callbackSum(fn, n) {
    let sum = 0;
    for (let i = 1; i <= n; i++) sum += await fn(i);
    return sum;
  }

  /**
   * `listener` is an object with `onEvent(event)` and `done(count)`. For
   * i = 1..n awaits `listener.onEvent({seq: i, text: "event " + i})`, then
   * awaits `listener.done(n)`; returns all results in order
   * (`["ack 1", "ack 2", "done after 2"]` with the suite's listener).
   */
  async useListener(listener, n) {
    const results = [];
    for (let i = 1; i <= n; i++) {
      results.push(await listener.onEvent({ seq: i, text: `event ${i}` }));
    }
    results.push(await listener.done(n));
    return results;
  }

  /**
   * Fire-and-forget: calls `fn(i)` for i = 1..n WITHOUT awaiting and disposes
   * each returned promise at once. On the wire each call is a `push` followed
   * directly by `release` (no `pull`). Returns n.
   */
  notify(fn, n) {
    for (let i = 1; i <= n; i++) {
      const result = fn(i);
      result[Symbol.dispose]();
    }
    return n;
  }

  /** Keeps `cb.dup()` for later `callHeld` calls (replacing any held one). -> true. */
  holdCallback(cb) {
    this.#dropHeldStub();
    this.#held = cb.dup();
    return true;
  }

  /** -> `await held(x)`; rejects with Error("no callback is held") if none. */
  async callHeld(x) {
    if (!this.#held) throw new Error("no callback is held");
    return await this.#held(x);
  }

  /**
   * Disposes the held stub (the caller then sees a `release` for its export).
   * -> true (also when nothing was held).
   */
  dropHeld() {
    this.#dropHeldStub();
    return true;
  }

  /**
   * -> `cb.dup()`: a capability that came in as an argument, handed back.
   * (Returning `cb` itself would fail: argument stubs are disposed when the
   * call returns, capnweb issue #27. A JS server therefore sends
   * `["import", <the caller's export id>]`, i.e. the caller's own object.)
   */
  callbackAndReturn(cb) {
    return cb.dup();
  }

  /**
   * Returns `{cb}`: the capability nested in an object. A JS client cannot await
   * its own object returned bare ("Tried to resolve a non-promise stub."), but it
   * can await it nested; the E-order demonstration (eorder.mjs) relies on that.
   */
  wrapCallback(cb) {
    return { cb: cb.dup() };
  }

  // --- errors ------------------------------------------------------------

  /**
   * Throws, depending on `kind`:
   * - "not-found": `NotFoundError("the thing was not found")` (code "E_NOT_FOUND")
   * - "type":      `TypeError("wrong type, as requested")`
   * - "range":     `RangeError("out of range, as requested")`
   * - "string":    the string `"a thrown string"` (not an Error)
   * - anything else: `Error("unknown failure kind: <kind>")`
   */
  fail(kind) {
    switch (kind) {
      case "not-found":
        throw new NotFoundError("the thing was not found");
      case "type":
        throw new TypeError("wrong type, as requested");
      case "range":
        throw new RangeError("out of range, as requested");
      case "string":
        throw "a thrown string";
      default:
        throw new Error(`unknown failure kind: ${kind}`);
    }
  }

  /** Rejects after `ms` milliseconds with `Error("failed after <ms> ms")`. */
  async failLater(ms) {
    await sleep(ms);
    throw new Error(`failed after ${ms} ms`);
  }

  // --- lifetimes ---------------------------------------------------------

  /** -> a new `Counter` starting at `start` (default 0), tracked under `key`. */
  makeCounter(key, start = 0) {
    return new Counter(key, start);
  }

  /** -> how many times objects tracked under `key` were disposed (0 if never). */
  disposeCount(key) {
    return disposeCounts.get(key) ?? 0;
  }

  /** -> a promise that never settles (for disconnect tests). */
  hang() {
    return new Promise(() => {});
  }

  /**
   * -> this session's capnweb `getStats()`: `{imports, exports}`. While this
   * very call is in flight it is itself one export, so an otherwise idle
   * session reports `{imports: 1, exports: 2}` (import 0 = the client's main,
   * export 0 = this object, plus the `stats` call).
   */
  stats() {
    if (!this.#getStats) throw new Error("stats are not available for this session");
    const { imports, exports } = this.#getStats();
    return { imports, exports };
  }

  // --- ordering ----------------------------------------------------------

  /** -> `v` after `ms` milliseconds. */
  async delay(ms, v) {
    await sleep(ms);
    return v;
  }

  /** Appends `v` to this session's list; -> the new length. */
  record(v) {
    this.#recorded.push(v);
    return this.#recorded.length;
  }

  /** -> a copy of this session's list, in the order `record` ran. */
  recorded() {
    return [...this.#recorded];
  }

  // --- streams -------------------------------------------------------------

  /** -> a ReadableStream of `{seq: 1}` .. `{seq: n}`, then closed. */
  readChunks(n) {
    let seq = 0;
    return new ReadableStream({
      pull(controller) {
        seq += 1;
        if (seq > n) controller.close();
        else controller.enqueue({ seq });
      },
    });
  }

  /** Reads `stream` to its end; -> the sum of its chunks. */
  async sumStream(stream) {
    let sum = 0;
    for await (const chunk of stream) sum += chunk;
    return sum;
  }

  /** -> a ReadableStream that yields `"a"`, then errors with a RangeError("broken"). */
  failingStream() {
    let sent = false;
    return new ReadableStream({
      pull(controller) {
        if (sent) controller.error(new RangeError("broken"));
        else controller.enqueue("a");
        sent = true;
      },
    });
  }

  /** -> `"<method> <url>: <body text>"` of a Request. */
  async describeRequest(request) {
    return `${request.method} ${request.url}: ${await request.text()}`;
  }

  /** -> `new Response(text, {status: 201})`: its body travels as a stream. */
  makeResponse(text) {
    return new Response(text, { status: 201 });
  }

  /** -> `new Blob([text], {type})`. */
  makeBlob(text, type) {
    return new Blob([text], { type });
  }

  /** -> `"<type>: <text>"` of a Blob. */
  async describeBlob(blob) {
    return `${blob.type}: ${await blob.text()}`;
  }

  /** Writes `"chunk 1"` .. `"chunk <n>"` to `writable`, closes it; -> n. */
  async writeChunks(writable, n) {
    const writer = writable.getWriter();
    for (let i = 1; i <= n; i++) await writer.write(`chunk ${i}`);
    await writer.close();
    return n;
  }

  #dropHeldStub() {
    if (this.#held) {
      this.#held[Symbol.dispose]();
      this.#held = null;
    }
  }
}

/**
 * Builds the main object for one session.
 *
 * @param {{getStats?: () => {imports: number, exports: number}}} [options]
 *   `getStats` must return the stats of the session that serves this object
 *   (the object is created before its session, so pass a closure).
 */
export function createTestApi({ getStats } = {}) {
  return new TestApi(getStats);
}
