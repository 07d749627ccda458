import assert from "node:assert/strict";
import { circCnt, circSpace, OffsetRuns, SpliceRing } from "../core/linux/ring.ts";

Deno.test("circ_buf: CIRC_CNT and CIRC_SPACE as include/linux/circ_buf.h (capacity size - 1)", () => {
  assert.equal(circCnt(0, 0, 16), 0);
  assert.equal(circSpace(0, 0, 16), 15);
  assert.equal(circCnt(15, 0, 16), 15);
  assert.equal(circSpace(15, 0, 16), 0);
  // free-running cursors: only the difference matters
  assert.equal(circCnt(1000 + 5, 1000, 16), 5);
  assert.equal(circSpace(1000 + 5, 1000, 16), 10);
});

Deno.test("splice ring: rejects a size that is not a power of two", () => {
  assert.throws(() => new SpliceRing(1000), /power of two/);
  assert.throws(() => new SpliceRing(1), /power of two/);
});

Deno.test("splice ring: full and empty", () => {
  const r = new SpliceRing(16);
  assert.equal(r.hasData(), false);
  assert.equal(r.read(10), 0, "reading an empty ring gets nothing");
  assert.equal(r.space(), 15);
  assert.equal(r.write(100, 0), 15, "a write stops at capacity size - 1");
  assert.equal(r.count(), 15);
  assert.equal(r.space(), 0, "full");
  assert.equal(r.write(1, 15), 0, "a write into a full ring writes nothing");
  assert.equal(r.read(100), 15);
  assert.equal(r.hasData(), false);
});

Deno.test("splice ring: the producer's cached tail is refreshed only when it says full", () => {
  const r = new SpliceRing(16);
  r.write(15, 0);
  assert.equal(r.tailRefreshes, 0);
  assert.equal(r.read(10), 10);
  // the write path uses the cached tail: conservative, it sees the ring still full
  assert.equal(r.write(5, 15), 0, "the cached tail (0) says full although 10 bytes were freed");
  assert.equal(r.space(), 10, "space() refreshes from the consumer's tail");
  assert.equal(r.tailRefreshes, 1);
  assert.equal(r.cachedTail, 10);
  assert.equal(r.write(5, 15), 5);
  assert.equal(r.space(), 5, "cache not exhausted: no refresh");
  assert.equal(r.tailRefreshes, 1);
});

Deno.test("splice ring: wraparound keeps bytes and their stream offsets in order", () => {
  const r = new SpliceRing(16);
  const seen: number[][] = [];
  r.write(12, 0);
  r.read(12);
  r.takeOffsets(12, (o, n) => seen.push([o, n]));
  assert.equal(r.write(10, 12), 3, "the stale cached tail (0) allows only 3 of the 15 free bytes");
  assert.equal(r.space(), 12, "exhausted cache: refreshed from the real tail");
  assert.equal(r.write(7, 15), 7, "head at 15: 1 byte to the end, 6 wrapped");
  assert.equal(r.wraps, 1);
  assert.equal(r.head & 15, 6);
  assert.equal(r.read(3), 3);
  r.takeOffsets(3, (o, n) => seen.push([o, n]));
  // TCP fallback bytes 22..29 went elsewhere; the next ring write starts a new run
  assert.equal(r.write(4, 30), 4);
  assert.equal(r.read(20), 11);
  r.takeOffsets(11, (o, n) => seen.push([o, n]));
  assert.deepEqual(seen, [[0, 12], [12, 3], [15, 7], [30, 4]]);
  assert.equal(r.bytesIn, 26);
  assert.equal(r.bytesOut, 26);
});

Deno.test("offset runs: contiguous pushes merge, a gap starts a run, taking past the end throws", () => {
  const q = new OffsetRuns("test");
  q.push(0, 5);
  q.push(5, 5);
  assert.equal(q.runs, 1);
  q.push(20, 1);
  assert.equal(q.runs, 2);
  const got: number[][] = [];
  q.take(11, (o, n) => got.push([o, n]));
  assert.deepEqual(got, [[0, 10], [20, 1]]);
  assert.throws(() => q.take(1, () => {}), /offsets missing/);
});
