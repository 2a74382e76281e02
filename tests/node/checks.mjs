// Checks shared by the scenario runners (client.mjs, batch-client.mjs): a failed check throws
// CheckFailed, which the runner reports with the session transcript.

import { inspect } from "node:util";
import { serialize } from "capnweb";

export class CheckFailed extends Error {}

export function check(condition, message) {
  if (!condition) throw new CheckFailed(message);
}

/** Renders a value for a failure message: capnweb's wire form when possible. */
export function show(value) {
  try {
    return serialize(value);
  } catch {
    return inspect(value, { depth: 6, breakLength: Infinity });
  }
}

function bytesKind(value) {
  if (value instanceof ArrayBuffer) return "ArrayBuffer";
  // Node receivers turn plain `["bytes", b64]` into a Buffer (a Uint8Array subclass).
  if (typeof Buffer !== "undefined" && value instanceof Buffer) return "Uint8Array";
  return value.constructor.name;
}

function bytesOf(value) {
  return value instanceof ArrayBuffer
    ? new Uint8Array(value)
    : new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
}

/** The properties capnweb transmits for an error (besides name and message). */
function errorProps(error) {
  const props = {};
  for (const key of Object.keys(error)) {
    if (key !== "name" && key !== "message" && key !== "stack") props[key] = error[key];
  }
  if ("cause" in error) props.cause = error.cause;
  return props;
}

/**
 * Structural equality for every value type capnweb can transmit. Numbers
 * compare with `Object.is` (so NaN equals NaN and -0 differs from 0); object
 * key order is ignored; a Buffer counts as a Uint8Array.
 */
export function deepEqual(a, b) {
  if (typeof a !== typeof b) return false;
  if (typeof a === "number") return Object.is(a, b);
  if (a === null || b === null || typeof a !== "object") return a === b;

  if (a instanceof Date || b instanceof Date) {
    return a instanceof Date && b instanceof Date && Object.is(a.getTime(), b.getTime());
  }
  const aBytes = a instanceof ArrayBuffer || ArrayBuffer.isView(a);
  const bBytes = b instanceof ArrayBuffer || ArrayBuffer.isView(b);
  if (aBytes || bBytes) {
    if (!aBytes || !bBytes || bytesKind(a) !== bytesKind(b)) return false;
    const x = bytesOf(a);
    const y = bytesOf(b);
    return x.length === y.length && x.every((byte, i) => byte === y[i]);
  }
  if (a instanceof Error || b instanceof Error) {
    return (
      a instanceof Error &&
      b instanceof Error &&
      a.name === b.name &&
      a.message === b.message &&
      deepEqual(errorProps(a), errorProps(b))
    );
  }
  if (a instanceof URL || b instanceof URL) {
    return a instanceof URL && b instanceof URL && a.href === b.href;
  }
  if (a instanceof Headers || b instanceof Headers) {
    return a instanceof Headers && b instanceof Headers && deepEqual([...a], [...b]);
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  }
  if (Object.getPrototypeOf(a) !== Object.prototype || Object.getPrototypeOf(b) !== Object.prototype) {
    return false;
  }
  const aKeys = Object.keys(a).sort();
  const bKeys = Object.keys(b).sort();
  return deepEqual(aKeys, bKeys) && aKeys.every((key) => deepEqual(a[key], b[key]));
}

export function expectEqual(actual, expected, what) {
  check(deepEqual(actual, expected), `${what}: got ${show(actual)}, expected ${show(expected)}`);
}

/** Awaits `promise`, which must reject; returns the rejection reason. */
export async function expectRejection(promise, what) {
  let value;
  try {
    value = await promise;
  } catch (err) {
    return err;
  }
  throw new CheckFailed(`${what}: resolved to ${show(value)}, expected a rejection`);
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export function uniqueKey(prefix) {
  return `${prefix}-${Date.now()}-${Math.random().toString(36).slice(2, 10)}`;
}
