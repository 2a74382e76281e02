// Scenario runner for HTTP batch: the real capnweb 0.12.0 `newHttpBatchRpcSession`
// as a CLIENT of any server that implements the test API (api.mjs) over HTTP
// batch (protocol.md section 2.2).
//
//   node batch-client.mjs <http-url> [scenario ...]
//
// Runs the named scenarios (all of them when none are named), one after
// another, and prints one JSON line per scenario on stdout, as client.mjs does:
//
//   {"scenario":"call.simple","ok":true,"detail":"..."}
//
// The exit code is 0 even when scenarios fail (the Rust test asserts the
// lines); it is 2 only for a usage error. Diagnostics go to stderr.
//
// Every batch session sends exactly one POST. The runner wraps the global
// `fetch` (which capnweb uses) to record each request and response body, so
// scenarios check that everything went out in ONE request and what came back;
// failures show that traffic.
//
// There is no leak check through `stats()` here: a batch session ends with its
// response (capnweb's batch server cannot even report stats). The Rust tests
// check the server side after the scenarios instead.
//
// A few scenarios report what the server did where capnweb and the Rust server
// legitimately differ, and the Rust test asserts the detail:
//   - `release.batch-end`: `disposeCount=N` for an object exported by an
//     earlier batch (capnweb never disposes it: 0; the Rust server drops the
//     session's exports with the session: 1);
//   - `http.bad-message`: `status=N body=...` for a malformed message (the
//     application chooses the status: the Node test server answers 500, the Rust
//     server 400).

import { RpcStub, newHttpBatchRpcSession } from "capnweb";
import { largeRecord } from "./fixtures.mjs";
import { CheckFailed, check, deepEqual, expectEqual, expectRejection, show, sleep, uniqueKey } from "./checks.mjs";

/** Upper bound for one scenario. */
const SCENARIO_TIMEOUT_MS = 5000;

const log = (...args) => console.error("[node batch client]", ...args);

process.on("unhandledRejection", (reason) => log("unhandled rejection:", reason));
process.on("uncaughtException", (err) => log("uncaught exception:", err));

// ---------------------------------------------------------------------------
// Traffic recording
// ---------------------------------------------------------------------------

const realFetch = globalThis.fetch;
/** `[{method, request, status, response}]`, in the order the requests were made. */
const traffic = [];

globalThis.fetch = async (input, init) => {
  const entry = {
    method: init?.method ?? "GET",
    request: typeof init?.body === "string" ? init.body : "",
    status: null,
    response: null,
  };
  traffic.push(entry);
  const response = await realFetch(input, init);
  entry.status = response.status;
  entry.response = await response.clone().text();
  return response;
};

/** A body's messages: split on "\n" ("" holds none), each parsed. */
function messagesOf(body) {
  return body === "" ? [] : body.split("\n").map((line) => JSON.parse(line));
}

// ---------------------------------------------------------------------------
// Scenario context
// ---------------------------------------------------------------------------

class ScenarioContext {
  constructor(url) {
    this.url = url;
    this.from = traffic.length;
  }

  /** A new batch session; returns the server's main object. */
  batch() {
    return newHttpBatchRpcSession(this.url);
  }

  /** The requests made by this scenario so far. */
  requests() {
    return traffic.slice(this.from);
  }

  /**
   * Checks that this scenario made exactly `count` requests, all 200, and
   * returns them with their parsed messages.
   */
  expectRequests(count, what) {
    const requests = this.requests();
    check(requests.length === count, `${what}: expected ${count} request(s), made ${requests.length}`);
    for (const r of requests) check(r.status === 200, `${what}: HTTP ${r.status}: ${r.response}`);
    return requests.map((r) => ({ sent: messagesOf(r.request), received: messagesOf(r.response) }));
  }

  transcript() {
    return this.requests()
      .map((r, i) => `--- request #${i + 1} (${r.method}, HTTP ${r.status}):\n>> ${r.request.split("\n").join("\n>> ")}\n<< ${(r.response ?? "").split("\n").join("\n<< ")}`)
      .join("\n");
  }
}

const count = (messages, tag) => messages.filter((m) => m[0] === tag).length;

// ---------------------------------------------------------------------------
// Scenarios
// ---------------------------------------------------------------------------

const SCENARIOS = new Map();
const scenario = (name, fn) => SCENARIOS.set(name, fn);

scenario("call.simple", async (ctx) => {
  const api = ctx.batch();
  const [sum, pong] = await Promise.all([api.add(2, 3), api.ping()]);
  expectEqual(sum, 5, "add(2, 3)");
  expectEqual(pong, "pong", "ping()");
  const [req] = ctx.expectRequests(1, "two calls in one batch");
  expectEqual(req.sent, [["push", ["pipeline", 0, ["add"], [2, 3]]], ["push", ["pipeline", 0, ["ping"], []]], ["pull", 1], ["pull", 2]], "request");
  expectEqual(req.received, [["resolve", 1, 5], ["resolve", 2, "pong"]], "response");
});

scenario("values.roundtrip", async (ctx) => {
  const cases = [
    ["integer", 42],
    ["negative float", -1.5],
    ["max safe integer", Number.MAX_SAFE_INTEGER],
    ["1e21", 1e21],
    ["NaN", NaN],
    ["-Infinity", -Infinity],
    ["bigint", -9007199254740993n],
    ["string", 'héllo ✓ "quoted"\nnewline 🦀 \u2028'],
    ["null", null],
    ["undefined", undefined],
    ["nested arrays", [1, "two", [3, [4]], [], [[]]]],
    ["object", { a: 1, u: undefined, deep: { x: { y: ["z"] } }, "": 3 }],
    ["date", new Date(1709212455678)],
    ["bytes", new Uint8Array([0, 1, 127, 128, 255])],
    ["RangeError", new RangeError("an error value, not thrown")],
    ["large plain object", largeRecord()],
    ["large object with a date deep inside", { ...largeRecord(), when: { d: new Date(7) } }],
  ];
  const api = ctx.batch();
  const results = await Promise.allSettled(cases.map(([, value]) => api.echo(value)));
  const failures = [];
  results.forEach((result, i) => {
    const [label, input] = cases[i];
    if (result.status === "rejected") failures.push(`${label}: rejected with ${show(result.reason)}`);
    else if (!deepEqual(result.value, input)) failures.push(`${label}: got ${show(result.value)}, expected ${show(input)}`);
  });
  check(failures.length === 0, `values did not round-trip:\n${failures.join("\n")}`);
  ctx.expectRequests(1, `${cases.length} echoes in one batch`);
  return `${cases.length} values echoed in one request`;
});

scenario("pipeline.chain", async (ctx) => {
  const profile = await ctx.batch().users().get(1).profile();
  expectEqual(
    profile,
    { id: 1, bio: "First programmer", joined: new Date(1579089600000), tags: ["math", "engines"] },
    "users().get(1).profile()",
  );
  const [req] = ctx.expectRequests(1, "users().get(1).profile()");
  check(count(req.sent, "push") === 3 && count(req.sent, "pull") === 1, `expected 3 pushes and 1 pull, sent ${JSON.stringify(req.sent)}`);
  check(req.received.length === 1 && req.received[0][0] === "resolve" && req.received[0][1] === 3, `expected only ["resolve", 3, ...], received ${JSON.stringify(req.received)}`);
});

scenario("pipeline.promise-argument", async (ctx) => {
  const api = ctx.batch();
  expectEqual(await api.add(api.add(1, 2), api.add(3, 4)), 10, "add(add(1, 2), add(3, 4))");
  const [req] = ctx.expectRequests(1, "add(add(1, 2), add(3, 4))");
  expectEqual(req.received, [["resolve", 3, 10]], "response");
});

scenario("pipeline.property", async (ctx) => {
  expectEqual(await ctx.batch().users().get(2).name, "Alan Turing", "users().get(2).name");
  ctx.expectRequests(1, "users().get(2).name");
});

scenario("capability.function", async (ctx) => {
  expectEqual(await ctx.batch().makeMultiplier(7)(6), 42, "makeMultiplier(7)(6), pipelined");
  ctx.expectRequests(1, "makeMultiplier(7)(6)");
});

scenario("capability.passed-back", async (ctx) => {
  const api = ctx.batch();
  expectEqual(await api.describeUser(api.users().get(1)), "Ada Lovelace <ada@example.com>", "describeUser(users().get(1))");
  ctx.expectRequests(1, "describeUser(users().get(1))");
});

scenario("batch.everything-at-once", async (ctx) => {
  const api = ctx.batch();
  const users = api.users();
  const outcomes = await Promise.allSettled([
    api.add(2, 3),
    users.get(1).profile(),
    users.get(3).name,
    api.add(api.add(1, 2), 4),
    api.makeMultiplier(3)(5),
    api.fail("range"),
    api.delay(20, "late"),
  ]);
  const values = outcomes.map((o) => (o.status === "fulfilled" ? o.value : `rejected: ${o.reason?.name}: ${o.reason?.message}`));
  expectEqual(
    values,
    [
      5,
      { id: 1, bio: "First programmer", joined: new Date(1579089600000), tags: ["math", "engines"] },
      "Grace Hopper",
      7,
      15,
      "rejected: RangeError: out of range, as requested",
      "late",
    ],
    "seven calls, chains and a rejection in one batch",
  );
  const [req] = ctx.expectRequests(1, "everything in one batch");
  return `${count(req.sent, "push")} pushes and ${count(req.sent, "pull")} pulls in one request; ${req.received.length} messages back`;
});

scenario("batch.map", async (ctx) => {
  const api = ctx.batch();
  const users = api.users();
  const ids = api.listUserIds();
  const [named, friends, nobody, grace] = await Promise.all([
    ids.map((id) => ({ id, name: users.get(id).name })),
    ids.map((id) => users.get(id).friendIds().map((fid) => users.get(fid).name)),
    users.find("nobody").map((u) => u.name),
    users.find("Grace Hopper").map((u) => u.email),
  ]);
  expectEqual(
    named,
    [
      { id: 1, name: "Ada Lovelace" },
      { id: 2, name: "Alan Turing" },
      { id: 3, name: "Grace Hopper" },
    ],
    "map over the ids",
  );
  expectEqual(friends, [["Alan Turing", "Grace Hopper"], ["Ada Lovelace"], ["Ada Lovelace", "Alan Turing"]], "nested map");
  expectEqual([nobody, grace], [null, "grace@example.com"], "map over null and over a single object");
  const [req] = ctx.expectRequests(1, "four maps in one batch");
  return `${count(req.sent, "push")} pushes and ${count(req.sent, "pull")} pulls in one request`;
});

scenario("errors.custom", async (ctx) => {
  const err = await expectRejection(ctx.batch().fail("not-found"), 'fail("not-found")');
  check(err instanceof Error, `expected an Error, got ${show(err)}`);
  expectEqual(err.message, "the thing was not found", "message");
  expectEqual(err.code, "E_NOT_FOUND", "property code");
  const [req] = ctx.expectRequests(1, 'fail("not-found")');
  expectEqual(req.received, [["reject", 1, ["error", "NotFoundError", "the thing was not found", null, { code: "E_NOT_FOUND" }]]], "response");
});

scenario("errors.builtin", async (ctx) => {
  const api = ctx.batch();
  const [typeError, rangeError, thrown, later] = await Promise.all(
    [api.fail("type"), api.fail("range"), api.fail("string"), api.failLater(20)].map((p) => expectRejection(p, "a failing call")),
  );
  check(typeError instanceof TypeError && typeError.message === "wrong type, as requested", `fail("type"): ${show(typeError)}`);
  check(rangeError instanceof RangeError && rangeError.message === "out of range, as requested", `fail("range"): ${show(rangeError)}`);
  expectEqual(thrown, "a thrown string", 'fail("string")');
  check(later instanceof Error && later.message === "failed after 20 ms", `failLater(20): ${show(later)}`);
  ctx.expectRequests(1, "four failing calls in one batch");
});

scenario("errors.pipelined-rejection", async (ctx) => {
  const err = await expectRejection(ctx.batch().users().get(999).profile(), "users().get(999).profile()");
  expectEqual(err.message, "no user with id 999", "message");
  expectEqual(err.code, "E_NOT_FOUND", "property code");
  ctx.expectRequests(1, "users().get(999).profile()");
});

scenario("errors.no-such-method", async (ctx) => {
  const err = await expectRejection(ctx.batch().noSuchMethod(1), "noSuchMethod(1)");
  check(err instanceof TypeError, `expected a TypeError, got ${show(err)}`);
  expectEqual(err.message, "'noSuchMethod' is not a function.", "message");
  ctx.expectRequests(1, "noSuchMethod(1)");
});

scenario("callback.fire-and-forget", async (ctx) => {
  const calls = [];
  expectEqual(await ctx.batch().notify((i) => void calls.push(i), 3), 3, "notify(fn, 3)");
  // The server's calls to our function travel in the response, before its resolve.
  for (let i = 0; i < 50 && calls.length < 3; i++) await sleep(10);
  expectEqual(calls, [1, 2, 3], "calls our function received from the response");
  const [req] = ctx.expectRequests(1, "notify(fn, 3)");
  check(count(req.received, "pull") === 0, `fire-and-forget calls must not be pulled: ${JSON.stringify(req.received)}`);
  check(count(req.received, "push") === 3, `expected 3 pushes from the server: ${JSON.stringify(req.received)}`);
});

scenario("batch.calls-after-end", async (ctx) => {
  const api = ctx.batch();
  const neverAwaited = api.add(1, 2);
  expectEqual(await api.ping(), "pong", "ping()");
  // add(1, 2) went out as a push but was not pulled before the batch was sent,
  // so its answer never comes: the batch's end rejects it.
  const unanswered = await expectRejection(neverAwaited, "awaiting a call the batch did not pull");
  expectEqual(unanswered.message, "Batch RPC request ended.", "rejection of the unanswered call");
  const after = await expectRejection(api.ping(), "a call made after the batch ended");
  expectEqual(after.message, "Batch RPC request ended.", "rejection of the late call");
  ctx.expectRequests(1, "a batch and calls after it");
});

scenario("release.batch-end", async (ctx) => {
  const key = uniqueKey("batch-end");
  const counter = await ctx.batch().makeCounter(key, 0);
  check(counter instanceof RpcStub, `makeCounter should resolve to a stub, got ${show(counter)}`);
  const disposed = await ctx.batch().disposeCount(key);
  ctx.expectRequests(2, "two batches");
  return `disposeCount=${disposed}`;
});

scenario("http.bad-message", async (ctx) => {
  const response = await realFetch(ctx.url, { method: "POST", body: '["bogus"]' });
  const body = await response.text();
  check(!response.ok, `a malformed message was answered with HTTP ${response.status}: ${body}`);
  return `status=${response.status} body=${body}`;
});

// ---------------------------------------------------------------------------
// Runner
// ---------------------------------------------------------------------------

async function runScenario(url, name) {
  const fn = SCENARIOS.get(name);
  if (!fn) return { scenario: name, ok: false, detail: `unknown scenario; known: ${[...SCENARIOS.keys()].join(", ")}` };
  const ctx = new ScenarioContext(url);
  let timer;
  const timeout = new Promise((resolve) => {
    timer = setTimeout(() => resolve({ timedOut: true }), SCENARIO_TIMEOUT_MS);
  });
  try {
    const result = await Promise.race([fn(ctx).then((detail) => ({ detail })), timeout]);
    if (result.timedOut) {
      return { scenario: name, ok: false, detail: `timeout after ${SCENARIO_TIMEOUT_MS} ms\n${ctx.transcript()}` };
    }
    return { scenario: name, ok: true, detail: result.detail ?? "" };
  } catch (err) {
    const what = err instanceof CheckFailed ? err.message : `unexpected exception: ${err?.stack ?? show(err)}`;
    return { scenario: name, ok: false, detail: `${what}\n${ctx.transcript()}` };
  } finally {
    clearTimeout(timer);
  }
}

async function main() {
  const [url, ...requested] = process.argv.slice(2);
  if (!url || !/^https?:\/\//.test(url)) {
    console.error("usage: node batch-client.mjs <http-url> [scenario ...]");
    console.error(`scenarios: ${[...SCENARIOS.keys()].join(" ")}`);
    process.exit(2);
  }
  const names = requested.length > 0 ? requested : [...SCENARIOS.keys()];
  for (const name of names) {
    const outcome = await runScenario(url, name);
    process.stdout.write(`${JSON.stringify(outcome)}\n`);
  }
  process.stdout.write("", () => process.exit(0));
}

main().catch((err) => {
  log("runner failed:", err);
  process.exit(1);
});
