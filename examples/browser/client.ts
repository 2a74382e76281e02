// The browser example's page script: scenarios against the Rust server, typed with the
// declarations generated from the Rust interfaces (api.d.ts). Bundled with npm capnweb 0.12.0
// by esbuild; the server serves the bundle as /client.js.
//
// Each scenario's result is shown in the page's table and, when all have run, posted to
// /results as JSON: [{transport, scenario, got, ok}]. `ok` is the page's own check; the
// suite's browser test checks `got` itself.

import { RpcTarget, newHttpBatchRpcSession, newWebSocketRpcSession } from "capnweb";
import type { Api, Profile, Progress } from "./api";

type Transport = "websocket" | "batch";
type Outcome = { transport: Transport; scenario: string; got: unknown; ok: boolean };

const outcomes: Outcome[] = [];

/** JSON for display and for /results: bigints as "<digits>n", dates as their epoch millis. */
function plain(value: unknown): unknown {
  return JSON.parse(
    JSON.stringify(value, function (this: Record<string, unknown>, key, v: unknown) {
      const original = this[key];
      if (typeof original === "bigint") return `${original}n`;
      if (original instanceof Date) return original.getTime();
      return v;
    }),
  );
}

function show(outcome: Outcome): void {
  const row = document.createElement("tr");
  row.className = outcome.ok ? "pass" : "fail";
  for (const text of [
    outcome.transport,
    outcome.scenario,
    JSON.stringify(outcome.got),
    outcome.ok ? "✓" : "✗",
  ]) {
    const cell = document.createElement("td");
    cell.textContent = text;
    row.append(cell);
  }
  document.querySelector("#results tbody")!.append(row);
}

async function run(
  transport: Transport,
  scenario: string,
  expected: unknown,
  body: () => Promise<unknown>,
): Promise<void> {
  let got: unknown;
  try {
    got = plain(await body());
  } catch (e) {
    got = { threw: e instanceof Error ? `${e.name}: ${e.message}` : String(e) };
  }
  const outcome = { transport, scenario, got, ok: JSON.stringify(got) === JSON.stringify(expected) };
  outcomes.push(outcome);
  show(outcome);
}

/** The parts of a profile the scenarios compare (the date as epoch millis). */
function summary(profile: Profile) {
  return {
    displayName: profile.displayName,
    role: profile.role.kind === "member" ? `member since ${profile.role.since}` : "admin",
    email: profile.email,
    karma: profile.karma,
    joined: profile.joined.getTime(),
  };
}

const LINUS = {
  displayName: "Linus",
  role: "member since 2003",
  email: null,
  karma: "1152921504606846976n",
  joined: 1700000000003,
};

/** A progress object the server calls back, over the page's WebSocket. */
class Recorder extends RpcTarget implements Progress {
  notes: string[] = [];

  async report(step: number, total: number, note: string): Promise<string> {
    this.notes.push(note);
    return `ack ${step}/${total}`;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function overWebSocket(): Promise<void> {
  const api = newWebSocketRpcSession<Api>(`ws://${location.host}/rpc`);
  const t: Transport = "websocket";

  await run(t, "call", [5, "Hello, Ada!", "Hello, Grace?"], async () => [
    await api.add(2, 3),
    await api.greet("Ada"),
    await api.greet("Grace", "?"),
  ]);

  await run(t, "property", "1.0", async () => await api.version);

  await run(t, "pipelining", { name: "Linus", profile: LINUS }, async () => {
    // One round trip: the user is never awaited, its members are called on the promise.
    const user = api.user(3);
    const [name, profile] = await Promise.all([user.name, user.profile()]);
    user[Symbol.dispose]();
    return { name, profile: summary(profile) };
  });

  await run(
    t,
    "callback",
    { stepsDone: 3, acknowledgements: ["ack 1/3", "ack 2/3", "ack 3/3"], notes: ["step 1", "step 2", "step 3"] },
    async () => {
      const recorder = new Recorder();
      const report = await api.runJob(3, recorder);
      return { ...report, notes: recorder.notes };
    },
  );

  await run(t, "map", ["Ada", "Grace", "Linus"], async () => {
    // The callback is recorded and replayed on the server: one round trip, `api` captured.
    const ids = api.userIds();
    const names = await ids.map((id) => api.user(id).name);
    // capnweb releases a promise that was pipelined on only when it is disposed.
    ids[Symbol.dispose]();
    return names;
  });

  await run(
    t,
    "errors",
    [
      // capnweb makes an unknown error name (NotFoundError) a plain Error; its properties
      // travel with it. A JavaScript error name (RangeError) arrives as that class.
      ["Error", "no user 99", "NOT_FOUND"],
      ["RangeError", "a name cannot be empty", true],
    ],
    async () => {
      const caught: unknown[] = [];
      try {
        await api.user(99);
      } catch (e) {
        if (e instanceof Error) caught.push([e.name, e.message, (e as Error & { code?: string }).code]);
      }
      const user = api.user(1);
      try {
        await user.rename("");
      } catch (e) {
        if (e instanceof Error) caught.push([e.name, e.message, e instanceof RangeError]);
      }
      user[Symbol.dispose]();
      return caught;
    },
  );

  await run(t, "release", { name: "Grace", liveUsers: 0 }, async () => {
    const user = await api.user(2);
    const name = await user.name;
    user[Symbol.dispose]();
    // The server drops its object when our release arrives; ask until it has (bounded).
    let liveUsers = await api.liveUsers();
    for (let i = 0; i < 100 && liveUsers !== 0; i++) {
      await sleep(20);
      liveUsers = await api.liveUsers();
    }
    return { name, liveUsers };
  });
  // The session stays open: the test checks the server's tables while the page is connected.
}

async function overHttpBatch(): Promise<void> {
  const api = newHttpBatchRpcSession<Api>("/rpc");
  const t: Transport = "batch";
  // Everything goes out in one POST: the calls are all made before the first await.
  const sum = api.add(2, 3);
  const version = api.version;
  const user = api.user(3);
  const name = user.name;
  const profile = user.profile();
  const names = api.userIds().map((id) => api.user(id).name);
  const missing = api.user(99).then(
    () => "resolved",
    (e: unknown) => (e instanceof Error ? [e.name, e.message, (e as Error & { code?: string }).code] : String(e)),
  );
  const [s, v, n, p, ns, m] = await Promise.allSettled([sum, version, name, profile, names, missing]);
  const value = (r: PromiseSettledResult<unknown>) => {
    if (r.status === "fulfilled") return r.value;
    throw r.reason;
  };
  await run(t, "call", 5, async () => value(s));
  await run(t, "property", "1.0", async () => value(v));
  await run(t, "pipelining", { name: "Linus", profile: LINUS }, async () => ({
    name: value(n),
    profile: summary(value(p) as Profile),
  }));
  await run(t, "map", ["Ada", "Grace", "Linus"], async () => value(ns));
  await run(t, "errors", ["Error", "no user 99", "NOT_FOUND"], async () => value(m));
}

async function main(): Promise<void> {
  const status = document.querySelector("#status")!;
  await overWebSocket();
  await overHttpBatch();
  const failed = outcomes.filter((o) => !o.ok).length;
  status.textContent = `done: ${outcomes.length - failed} passed, ${failed} failed`;
  await fetch("/results", { method: "POST", body: JSON.stringify(outcomes) });
}

main().catch((e) => {
  document.querySelector("#status")!.textContent = `error: ${e}`;
  void fetch("/results", { method: "POST", body: JSON.stringify({ error: String(e) }) });
});
