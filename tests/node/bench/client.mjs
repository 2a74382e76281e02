// The Node reference client of the benchmark (capnweb-bench): npm capnweb 0.12.0
// running one scenario of shared/performance.md against any server of the
// benchmark API (ours or server.mjs).
//
//   node client.mjs <scenario> <url> <count> <warmup> <server-pid> [extra]
//
// scenario: a (sequential add), b (256 in flight), c (chains), d (echo; extra =
// payload file), e (HTTP batches; url is http://), h (map; extra = ids per map),
// i (streams of 64 KiB Uint8Array chunks to consume(); count = chunks, extra =
// chunks per stream).
// Warms up, times one run, reads its own and the server's CPU time from
// /proc/<pid>/stat around the timed part, and prints one line:
//
//   RESULT {"ops":..,"elapsed_s":..,"client_ticks":..,"server_ticks":..,...}
//
// Exits 1 (with the reason on stderr) when a result is wrong or a call fails.

import "../ws-global.mjs";
import { readFileSync } from "node:fs";
import { newHttpBatchRpcSession, newWebSocketRpcSession } from "capnweb";

const IN_FLIGHT = 256;
const CHAIN = 10;
const BATCH_CALLS = 10;
const STREAM_CHUNK_BYTES = 64 * 1024;

function cpuTicks(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 1).trim().split(/\s+/);
  return Number(fields[11]) + Number(fields[12]);
}

class Meter {
  constructor(serverPid) {
    this.serverPid = serverPid;
    this.client = cpuTicks(process.pid);
    this.server = cpuTicks(serverPid);
    this.started = process.hrtime.bigint();
  }
  stop(ops) {
    const elapsed = Number(process.hrtime.bigint() - this.started) / 1e9;
    return {
      ops,
      elapsed_s: elapsed,
      client_ticks: cpuTicks(process.pid) - this.client,
      server_ticks: cpuTicks(this.serverPid) - this.server,
    };
  }
}

function check(what, got, want) {
  if (got !== want) throw new Error(`${what}: got ${JSON.stringify(got)}, expected ${JSON.stringify(want)}`);
}

function dispose(...values) {
  for (const value of values) {
    const disposer = value?.[Symbol.dispose];
    if (typeof disposer === "function") disposer.call(value);
  }
}

/** Nearest-rank quantile, as the Rust side computes it. */
function quantile(sorted, q) {
  const rank = Math.ceil(q * sorted.length);
  return sorted[Math.min(Math.max(rank, 1), sorted.length) - 1];
}

async function sequential(api, job) {
  for (let i = 0; i < job.warmup; i++) check("add", await api.add(i, 1), i + 1);
  const latencies = new Float64Array(job.count);
  const meter = new Meter(job.serverPid);
  for (let i = 0; i < job.count; i++) {
    const started = process.hrtime.bigint();
    const sum = await api.add(i, 1);
    latencies[i] = Number(process.hrtime.bigint() - started) / 1e3;
    check("add", sum, i + 1);
  }
  const report = meter.stop(job.count);
  latencies.sort();
  report.p50_us = quantile(latencies, 0.5);
  report.p99_us = quantile(latencies, 0.99);
  return report;
}

/** `count` calls add(i, 1) for i from `first`, IN_FLIGHT at a time. */
async function inFlight(api, first, count) {
  let next = first;
  const end = first + count;
  const worker = async () => {
    while (next < end) {
      const i = next++;
      check("add", await api.add(i, 1), i + 1);
    }
  };
  await Promise.all(Array.from({ length: Math.min(IN_FLIGHT, count) }, worker));
}

async function pipelinedChain(api) {
  const links = [api.next(1)];
  for (let n = 2; n <= CHAIN; n++) links.push(links[links.length - 1].next(n));
  const chain = await links[links.length - 1];
  // The awaited promise and its result share one import: dispose it once, through the result.
  return { chain, dispose: () => dispose(chain, ...links.slice(0, -1)) };
}

async function awaitedChain(api) {
  let chain = await api.next(1);
  for (let n = 2; n <= CHAIN; n++) {
    const nextChain = await chain.next(n);
    dispose(chain);
    chain = nextChain;
  }
  return { chain, dispose: () => dispose(chain) };
}

async function chains(api, job) {
  const want = (CHAIN * (CHAIN + 1)) / 2;
  for (let i = 0; i < job.warmup; i++) {
    (await pipelinedChain(api)).dispose();
    (await awaitedChain(api)).dispose();
  }
  for (const run of [pipelinedChain, awaitedChain]) {
    const result = await run(api);
    check(`${run.name} total`, await result.chain.total(), want);
    result.dispose();
  }
  const meter = new Meter(job.serverPid);
  let started = process.hrtime.bigint();
  for (let i = 0; i < job.count; i++) (await pipelinedChain(api)).dispose();
  const pipelined = Number(process.hrtime.bigint() - started) / 1e9;
  started = process.hrtime.bigint();
  for (let i = 0; i < job.count; i++) (await awaitedChain(api)).dispose();
  const awaited = Number(process.hrtime.bigint() - started) / 1e9;
  const report = meter.stop(job.count * 2);
  report.pipelined_us = (pipelined / job.count) * 1e6;
  report.awaited_us = (awaited / job.count) * 1e6;
  return report;
}

async function echoes(api, job) {
  const text = readFileSync(job.extra, "utf8");
  const payload = JSON.parse(text);
  check("echo", JSON.stringify(await api.echo(payload)), JSON.stringify(payload));
  for (let i = 0; i < job.warmup; i++) await api.echo(payload);
  const meter = new Meter(job.serverPid);
  for (let i = 0; i < job.count; i++) {
    const echoed = await api.echo(payload);
    check("echo keys", Object.keys(echoed).length, 30);
  }
  const report = meter.stop(job.count);
  report.bytes = Buffer.byteLength(text);
  return report;
}

async function batch(url, round) {
  const api = newHttpBatchRpcSession(url);
  const calls = [];
  for (let k = 0; k < BATCH_CALLS; k++) calls.push(api.add(round, k));
  const sums = await Promise.all(calls);
  sums.forEach((sum, k) => check("batched add", sum, round + k));
}

async function batches(job) {
  for (let round = 0; round < job.warmup; round++) await batch(job.url, round);
  const meter = new Meter(job.serverPid);
  for (let round = 0; round < job.count; round++) await batch(job.url, round);
  return meter.stop(job.count);
}

async function oneMap(api, users, n) {
  const ids = api.ids(n);
  const names = ids.map((id) => users.get(id));
  const result = await names;
  dispose(names, ids);
  return result;
}

async function maps(api, job) {
  const n = Number(job.extra);
  const users = api.users();
  const names = await oneMap(api, users, n);
  check("map length", names.length, n);
  check("map last", names[n - 1], `user-${n}`);
  for (let i = 0; i < job.warmup; i++) await oneMap(api, users, n);
  const meter = new Meter(job.serverPid);
  for (let i = 0; i < job.count; i++) check("map length", (await oneMap(api, users, n)).length, n);
  const report = meter.stop(job.count);
  dispose(users);
  return report;
}

/** A ReadableStream of `chunks` copies of `chunk`, made as they are pulled. */
function byteStream(chunk, chunks) {
  let made = 0;
  return new ReadableStream({
    pull(controller) {
      if (made++ < chunks) controller.enqueue(chunk.slice());
      else controller.close();
    },
  });
}

async function oneStream(api, chunk, chunks) {
  check("bytes consumed", await api.consume(byteStream(chunk, chunks)), chunks * chunk.byteLength);
}

async function streams(api, job) {
  const perStream = Number(job.extra);
  // Not all zeros (a compressing transport would flatter it); the content is not checked.
  const chunk = new Uint8Array(STREAM_CHUNK_BYTES).map((_, i) => i % 251);
  await oneStream(api, chunk, job.warmup);
  const meter = new Meter(job.serverPid);
  for (let left = job.count; left > 0; left -= perStream) {
    await oneStream(api, chunk, Math.min(left, perStream));
  }
  const report = meter.stop(job.count);
  report.bytes = STREAM_CHUNK_BYTES;
  return report;
}

async function main() {
  const [scenario, url, count, warmup, serverPid, extra = ""] = process.argv.slice(2);
  const job = { url, count: Number(count), warmup: Number(warmup), serverPid: Number(serverPid), extra };
  if (scenario === "e") return batches(job);
  const api = newWebSocketRpcSession(url);
  let report;
  switch (scenario) {
    case "a":
      report = await sequential(api, job);
      break;
    case "b": {
      await inFlight(api, 0, job.warmup);
      const meter = new Meter(job.serverPid);
      await inFlight(api, job.warmup, job.count);
      report = meter.stop(job.count);
      break;
    }
    case "c":
      report = await chains(api, job);
      break;
    case "d":
      report = await echoes(api, job);
      break;
    case "h":
      report = await maps(api, job);
      break;
    case "i":
      report = await streams(api, job);
      break;
    default:
      throw new Error(`the Node client has no scenario ${scenario}`);
  }
  dispose(api);
  return report;
}

main().then(
  (report) => {
    process.stdout.write(`RESULT ${JSON.stringify(report)}\n`);
    process.exit(0);
  },
  (err) => {
    console.error("[node bench client]", err);
    process.exit(1);
  },
);
