/**
 * Assertions for tests, from node:assert/strict.
 * @module
 */
import nodeAssert from "node:assert/strict";

/** Asserts `cond` is truthy. */
export function assert(cond: unknown, msg?: string): asserts cond {
  nodeAssert.ok(cond, msg);
}

/** Asserts deep strict equality. */
export function assertEquals<T>(actual: T, expected: T, msg?: string): void {
  nodeAssert.deepStrictEqual(actual, expected, msg);
}

/** Asserts `fn` throws, optionally matching the message. */
export function assertThrows(fn: () => unknown, match?: RegExp): void {
  if (match) nodeAssert.throws(fn, match);
  else nodeAssert.throws(fn);
}
