// Golden vectors for the Rust codec: prints, as one JSON array on stdout, capnweb's own
// `serialize()` output for a varied list of JavaScript values. The Rust side
// (tests/suite/golden.rs) checks that deserializing and re-serializing each string reproduces it
// byte for byte.
//
// Run from this folder: `node golden.mjs`. Any value capnweb refuses to serialize is a bug in this
// list, so it aborts with a non-zero exit code instead of being skipped.

import { serialize } from "capnweb";

function nestedArrays(depth, inner) {
  let v = inner;
  for (let i = 0; i < depth; i++) v = [v];
  return v;
}

function nestedObjects(depth) {
  let v = {};
  for (let i = 0; i < depth; i++) v = { k: v };
  return v;
}

function withProps(err, props) {
  Object.assign(err, props);
  return err;
}

function named(name, message, props = {}) {
  const e = new Error(message);
  e.name = name; // an own property: capnweb sends it as the name and skips it in props
  return withProps(e, props);
}

const buffer = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]).buffer;

const values = [
  // Numbers, including the ones whose formatting differs between JS and Rust.
  0, 1, -1, 42, -1.5, 0.5, 1e21, 1e20, 1e-7, 0.000001, 0.0000001234, -0, 0.1 + 0.2, 1 / 3,
  Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER + 1,
  Number.MAX_VALUE, Number.MIN_VALUE, -Number.MIN_VALUE, Number.EPSILON, 123456789012345680000,
  1e300, -1e-300, 2 ** 64, 4.35, 100, 1234.5678e10,
  Infinity, -Infinity, NaN,
  // Other primitives.
  true, false, null, undefined,
  // Strings: escapes and non-ASCII.
  "", "hello", 'héllo ✓ "quoted"\nnewline', "tab\tcr\rback\bform\f", "\u0000\u0001\u001f\u007f",
  "😀 emoji 𝄞 and 日本語", "\u2028\u2029", "back\\slash / </script>", "é".repeat(300),
  // Arrays.
  [], [1, [2, [3]]], [[]], [[["a"]]], [undefined, null, NaN], [1, , 3], ["bigint", "1"],
  nestedArrays(100, 1), nestedArrays(255, "deepest"), nestedArrays(255, []),
  // Objects.
  {}, { a: 1, b: { c: { d: [1, 2] } } }, { u: undefined }, { 2: "two", b: "bee", 1: "one" },
  { "": 0, "with space": 1, "ü": 2, "quote\"key": 3 }, { nested: [{ x: 1n, y: [new Date(0)] }] },
  { toStringy: 1, valueOf_: 2 }, nestedObjects(200),
  // Bigints.
  0n, 1n, -1n, 42n, -9007199254740993n, 12345678901234567890123456789n, -(2n ** 200n), 2n ** 64n,
  10n ** 5000n,
  // Dates.
  new Date(0), new Date(1709212455678), new Date(-1), new Date(NaN), new Date(8.64e15),
  new Date(-8.64e15), new Date(Date.UTC(1969, 6, 20, 20, 17)),
  // Byte containers: every padding length and every typed-array kind.
  new Uint8Array([]), new Uint8Array([0]), new Uint8Array([0, 1]), new Uint8Array([0, 1, 2]),
  new Uint8Array([0, 1, 2, 127, 128, 254, 255]), Buffer.from("hi"),
  new Uint8Array(Array.from({ length: 256 }, (_, i) => i)),
  new Int8Array([-1, 2, -128, 127]),
  new Uint8ClampedArray([0, 300, -5]),
  new Int16Array([1, -2, 300]),
  new Uint16Array([65535, 0, 1]),
  new Int32Array([-1, 2147483647]),
  new Uint32Array([4294967295, 7]),
  new BigInt64Array([1n, -1n, -(2n ** 63n)]),
  new BigUint64Array([2n ** 64n - 1n, 5n]),
  new Float32Array([1.5, -0.25, NaN]),
  new Float64Array([1.5, -0.25, Infinity]),
  new Float64Array([]),
  buffer, new ArrayBuffer(0), new DataView(buffer), new DataView(buffer, 3, 5),
  new Uint8Array(buffer, 1, 2), new Int16Array(buffer, 2, 3),
  // Errors: built-in classes, custom names, properties, causes, AggregateError.
  new Error("plain"), new TypeError("t"), new RangeError("r"), new SyntaxError("s"),
  new ReferenceError("ref"), new EvalError("ev"), new URIError("uri"), new Error(""),
  new Error("ünïcödé ✓ \"q\"\n"),
  named("NotFoundError", "the thing was not found", { code: "E_NOT_FOUND" }),
  named("CustomError", "no props"),
  withProps(new TypeError("with props"), {
    code: 42, details: { list: [1, 2], when: new Date(0), big: 7n, bytes: new Uint8Array([1]) },
    nothing: undefined, nil: null,
  }),
  new Error("outer", { cause: new TypeError("inner") }),
  new Error("number cause", { cause: 42 }),
  new Error("deep cause", { cause: new Error("middle", { cause: new RangeError("bottom") }) }),
  new AggregateError([new Error("a"), 1, "two"], "aggregate"),
  withProps(new Error("nested error prop"), { other: new URIError("u") }),
  { error: new Error("inside an object"), list: [new RangeError("inside an array")] },
  // URL.
  new URL("https://example.com/a?b=c"), new URL("https://example.com/a?b=c#frag"),
  new URL("http://user:pw@x.org:8080/p/../q?x=ü"), new URL("file:///tmp/x"),
  // Headers.
  new Headers(), new Headers([["content-type", "text/plain"], ["x-custom", "1"]]),
  new Headers([["B", "1"], ["a", "2"], ["a", "3"]]),
  new Headers([["set-cookie", "a=1"], ["set-cookie", "b=2"]]),
  // Requests (no body: a body is a stream, which needs a session).
  new Request("https://example.com/x"),
  new Request("https://example.com/x", { method: "DELETE", headers: { "x-foo": "bar" } }),
  new Request("https://example.com/y", {
    method: "POST", redirect: "manual", cache: "no-store", mode: "same-origin",
    credentials: "include", referrerPolicy: "no-referrer", keepalive: true,
    integrity: "sha256-abc",
  }),
  new Request("https://example.com/z", { method: "PUT", referrer: "https://example.com/ref" }),
  // Responses (null body for the same reason).
  new Response(null), new Response(null, { status: 404, statusText: "Not Found" }),
  new Response(null, { status: 204, headers: { "x-a": "1", "X-B": "2" } }),
  new Response(null, { status: 599, statusText: "ünusual" }),
  // Mixtures.
  {
    list: [new Date(0), 1n, new Uint8Array([1]), undefined, new Error("e"), Infinity],
    web: { url: new URL("https://x.y/"), headers: new Headers([["a", "b"]]) },
  },
  [[[1n]], { a: [[{ b: [new Date(5)] }]] }],
];

const out = values.map((value, i) => {
  try {
    return serialize(value);
  } catch (err) {
    console.error(`golden value #${i} could not be serialized: ${err}`);
    process.exit(1);
  }
});
process.stdout.write(JSON.stringify(out));
