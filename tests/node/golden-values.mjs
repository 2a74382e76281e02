// Golden vectors for the Fetch values (URL, Headers, Request, Response): for each expression
// below, what capnweb 0.12.0's own `deserialize()` makes of it on Node, as one JSON array on
// stdout: `{"text", "ok": <serialize() of the result>}` when it accepts it (showing how it
// normalized it), `{"text", "ok": null}` when it accepts it but `serialize()` cannot write it
// outside a session (a body becomes a stream), `{"text", "error": <error class>}` when it
// refuses it. The Rust side (tests/suite/golden.rs) must accept, normalize and refuse the same
// way.
//
// Run from this folder: `node golden-values.mjs`.

import { deserialize, serialize } from "capnweb";

const inputs = [
  // URL: WHATWG parsing and serialization.
  ["url", "https://example.com/a?b=c"],
  ["url", "HTTPS://EXAMPLE.com:443/a/../b?x#y"],
  ["url", "https://ÄÖ.com/ä b?q=ü"],
  ["url", "http://[::1]:8080/"],
  ["url", "file:///tmp/x"],
  ["url", "not a url"],
  ["url", "http://a b/"],
  ["url", "/relative"],
  // Headers: names checked and lower-cased, values trimmed and checked, sorted, combined.
  ["headers", [["content-type", "text/plain"], ["x-custom", "1"]]],
  ["headers", [["X-B", "  v1 "], ["x-a", "2"], ["x-b", "v2"]]],
  ["headers", [["set-cookie", "a=1"], ["Set-Cookie", "b=2"]]],
  ["headers", [["x", "tab\tinside"], ["y", "é"], ["z", ""]]],
  ["headers", [["bad name", "v"]]],
  ["headers", [["x", "a\nb"]]],
  ["headers", [["x", "nul\u0000"]]],
  ["headers", [["", "empty name"]]],
  // Request: absolute URL, method checked and normalized, no body with GET/HEAD.
  ["request", "https://example.com/x", { method: "DELETE", headers: [["x-foo", "bar"]] }],
  ["request", "HTTPS://E.com/a/../x", {}],
  ["request", "https://e.com/x", { method: "get" }],
  ["request", "https://e.com/x", { method: "delete", headers: [["B", "1"], ["a", " 2 "]] }],
  ["request", "https://e.com/x", { method: "OPTIONS" }],
  ["request", "https://e.com/x", { method: "POST", body: "hi" }],
  ["request", "https://e.com/x", { method: "CONNECT" }],
  ["request", "https://e.com/x", { method: "trace" }],
  ["request", "https://e.com/x", { method: "b@d" }],
  ["request", "https://e.com/x", { method: "GET", body: "hi" }],
  ["request", "https://e.com/x", { method: "HEAD", body: "x" }],
  ["request", "https://e.com/x", { body: "default method is GET" }],
  ["request", "relative", {}],
  ["request", "https://e.com/x", { headers: [["bad name", "v"]] }],
  // Response: status range, status text, no body with a null-body status.
  ["response", null, { status: 404, statusText: "Not Found" }],
  ["response", null, { status: 200, statusText: "OK" }],
  ["response", "body", { status: 201, headers: [["X", "1"], ["x", "2"]] }],
  ["response", null, { status: 204 }],
  ["response", null, { statusText: "tab\tok" }],
  ["response", null, { statusText: "Ünïcode" }],
  ["response", "body", { status: 204 }],
  ["response", "body", { status: 304 }],
  ["response", null, { status: 101 }],
  ["response", null, { status: 600 }],
  ["response", null, { statusText: "a\nb" }],
];

const vectors = inputs.map((value) => {
  const text = JSON.stringify(value);
  let accepted;
  try {
    accepted = deserialize(text);
  } catch (e) {
    return { text, error: e.name };
  }
  try {
    return { text, ok: serialize(accepted) };
  } catch {
    return { text, ok: null };
  }
});
console.log(JSON.stringify(vectors));
