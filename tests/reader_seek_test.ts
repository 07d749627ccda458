// Random access of the .lstrace reader: through the footer index, and by
// scanning a file without a footer.
import assert from "node:assert/strict";
import type { EventRecord } from "../core/event.ts";
import { KIND } from "../core/schema.ts";
import { getU32, getU64, type TraceHeaderInit } from "../format/format.ts";
import { encodeToBytes, TraceWriter } from "../recorder/writer.ts";
import { TraceError, TraceReader } from "../replay/reader.ts";
import { syntheticRun } from "../tools/bench_trace.ts";
import type { DecoderState } from "../format/decode.ts";

const HEADER: TraceHeaderInit = { tool: "lockstep test", scenario: "seek", seed: 9, cpus: 4, config: {}, inputs: [] };
const N = 30_000;
const GOOD = encodeToBytes(HEADER, syntheticRun(N, 2), { blockPayloadBytes: 8192 });
const NO_FOOTER = GOOD.slice(0, getU64(GOOD, GOOD.length - 16));

function key(e: EventRecord): string {
  return `${e.index} ${e.tNs} ${e.cpu} ${e.thread} ${e.kind} ${e.fields.join(",")} ${e.text}`;
}

const ALL: string[] = [];
TraceReader.fromBytes(GOOD).forEach((e) => void ALL.push(key(e)));

/** First event index of every block, read from the block headers (spec layout). */
function blockStarts(bytes: Uint8Array): number[] {
  const out = [];
  const end = getU64(bytes, bytes.length - 16);
  for (let at = 20 + getU32(bytes, 12); at < end; at += 40 + getU32(bytes, at + 4)) out.push(getU64(bytes, at + 12));
  return out;
}

/** Indexes to seek to: the ends, every block boundary and its neighbours, and seeded random ones. */
function seekIndexes(): number[] {
  const out = new Set<number>([0, 1, N - 2, N - 1]);
  for (const b of blockStarts(GOOD)) for (const i of [b - 1, b, b + 1]) if (i >= 0 && i < N) out.add(i);
  let x = 12345;
  for (let i = 0; i < 300; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    out.add(x % N);
  }
  return [...out];
}

Deno.test("seek: readEvent and events(from) match a full scan", () => {
  const reader = TraceReader.fromBytes(GOOD);
  assert.ok(reader.blockCount > 10);
  assert.equal(blockStarts(GOOD).length, reader.blockCount);
  for (const i of seekIndexes()) {
    assert.equal(key(reader.readEvent(i)!), ALL[i], `readEvent(${i})`);
    const got: string[] = [];
    for (const e of reader.events(i)) {
      got.push(key(e));
      if (got.length === 3) break;
    }
    assert.deepEqual(got, ALL.slice(i, i + 3), `events(${i})`);
  }
  assert.equal(reader.readEvent(N), undefined);
  assert.equal(reader.events(N).next().done, true);
  assert.equal(reader.forEach(() => {}, N - 10), 10);
});

Deno.test("seek: forEachBetween decodes the last block only up to its end point, and matches a full scan", () => {
  const reader = TraceReader.fromBytes(GOOD);
  const starts = blockStarts(GOOD);
  const ends = [...seekIndexes(), N, N + 5];
  let x = 777;
  for (const to of ends) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    // From anywhere before `to`: in its block, a block or more before it, or at it (nothing).
    for (const from of [to, Math.max(0, to - 1), Math.max(0, to - 1 - (x % 5000)), 0]) {
      const got: string[] = [];
      const n = reader.forEachBetween(from, to, (e) => void got.push(key(e)));
      assert.deepEqual(got, ALL.slice(from, Math.min(to, N)), `forEachBetween(${from}, ${to})`);
      assert.equal(n, got.length);
    }
    // Reads after a prefix decode are unaffected.
    if (to < N) assert.equal(key(reader.readEvent(to)!), ALL[to], `readEvent(${to}) after a prefix`);
  }
  assert.ok(starts.length > 10);
  assert.throws(() => reader.forEachBetween(-1, 10, () => {}), RangeError);
});

Deno.test("seek: forEachMarked hands out every event and the decoder's state, from which forEachBetween resumes", () => {
  const reader = TraceReader.fromBytes(GOOD);
  const starts = blockStarts(GOOD);
  const every = 1000;
  const got: string[] = [];
  const marks: { index: number; state: DecoderState | null; seen: number }[] = [];
  reader.forEachMarked(every, (index, state) => void marks.push({ index, state, seen: got.length }), (e) => {
    got.push(key(e));
  });
  assert.deepEqual(got, ALL, "every event once, in order");
  const want = [...new Set([...starts, ...Array.from({ length: Math.ceil(N / every) }, (_, k) => k * every)])]
    .sort((a, b) => a - b);
  assert.deepEqual(marks.map((m) => m.index), want, "a mark at every block start and every multiple");
  for (const m of marks) {
    assert.equal(m.seen, m.index, `mark ${m.index} comes before its event`);
    assert.equal(m.state === null, starts.includes(m.index), `state at ${m.index} null exactly at block starts`);
    for (const len of [1, 7, 600, 5000]) {
      const out: string[] = [];
      const to = Math.min(N, m.index + len);
      reader.forEachBetween(m.index, to, (e) => void out.push(key(e)), m.state);
      assert.deepEqual(out, ALL.slice(m.index, to), `resumed at ${m.index}, ${len} events`);
    }
  }
  // A state for another event of the block is refused; one that does not fit the block is damage.
  const m = marks.find((x) => x.state !== null)!;
  assert.throws(() => reader.forEachBetween(m.index + 1, m.index + 5, () => {}, m.state), RangeError);
  const bad = { ...m.state!, pos: 1 << 30 };
  assert.throws(() => reader.forEachBetween(m.index, m.index + 5, () => {}, bad), TraceError);
  const wrongSlot = { ...m.state!, adapt: [0, 5] };
  assert.throws(() => reader.forEachBetween(m.index, m.index + 5, () => {}, wrongSlot), TraceError);
});

Deno.test("seek: forEachBetween stops at damage in recover mode and throws it in strict mode", () => {
  const starts = blockStarts(GOOD);
  const bad = GOOD.slice();
  // A payload byte of the block holding starts[5]: the CRC catches it, also when only a prefix is decoded.
  let at = 20 + getU32(bad, 12);
  for (let b = 0; b < 5; b++) at += 40 + getU32(bad, at + 4);
  bad[at + 40 + 3] ^= 0x01;
  const to = starts[5] + 10;
  assert.throws(() => TraceReader.fromBytes(bad).forEachBetween(starts[4], to, () => {}), TraceError);
  const lenient = TraceReader.fromBytes(bad, { recover: true });
  const got: string[] = [];
  lenient.forEachBetween(starts[4], to, (e) => void got.push(key(e)));
  assert.deepEqual(got, ALL.slice(starts[4], starts[5]), "the whole blocks before the damage");
  assert.ok(lenient.damage instanceof TraceError);
});

Deno.test("seek: backwards and forwards in any order reuse no stale block", () => {
  const reader = TraceReader.fromBytes(GOOD);
  const order = [N - 1, 0, 15_000, 14_999, 15_001, 3, N - 1, 7];
  for (const i of order) assert.equal(key(reader.readEvent(i)!), ALL[i], `readEvent(${i})`);
});

Deno.test("seek: strings resolve at any position (footer string table)", () => {
  const reader = TraceReader.fromBytes(GOOD);
  const last = reader.readEvent(N - 1)!;
  assert.equal(last.kind, KIND.runEnd);
  // Without reading any str-def event, the footer already knows every string.
  assert.equal(reader.string(0), "thread1");
  const e = reader.readEvent(1)!;
  assert.equal(e.kind, KIND.threadCreate);
  assert.equal(reader.string(e.fields[1]), "thread1");
});

Deno.test("no footer: strict read delivers every whole block, then reports truncation", () => {
  const reader = TraceReader.fromBytes(NO_FOOTER);
  assert.equal(reader.hasFooter, false);
  assert.equal(reader.eventCount, undefined, "unknown until scanned");
  const got: string[] = [];
  assert.throws(() => reader.forEach((e) => void got.push(key(e))), (err: unknown) => {
    assert.ok(err instanceof TraceError);
    assert.equal(err.code, "truncated");
    assert.equal(err.recovered, N);
    assert.match(err.message, /without a footer/);
    return true;
  });
  assert.deepEqual(got, ALL);
  assert.equal(reader.eventCount, N);
});

Deno.test("no footer: random access by scanning, in recover mode", () => {
  const reader = TraceReader.fromBytes(NO_FOOTER, { recover: true });
  assert.equal(reader.eventCount, undefined);
  assert.equal(key(reader.readEvent(20_000)!), ALL[20_000]);
  assert.equal(reader.eventCount, undefined, "the scan stopped at the block it needed");
  assert.equal(reader.string(0), "thread1", "str-defs met while scanning are known");
  for (const i of seekIndexes()) assert.equal(key(reader.readEvent(i)!), ALL[i], `readEvent(${i})`);
  assert.equal(reader.scan(), N);
  assert.equal(reader.eventCount, N);
  assert.equal(reader.damage?.code, "truncated");
  assert.equal(reader.readEvent(N), undefined);
  const got: string[] = [];
  for (const e of reader.events(N - 5)) got.push(key(e));
  assert.deepEqual(got, ALL.slice(N - 5));
});

Deno.test("file API: open, seek, iterate, close", () => {
  const dir = Deno.makeTempDirSync();
  try {
    const path = `${dir}/seek.lstrace`;
    const w = TraceWriter.create(path, HEADER, { blockPayloadBytes: 8192 });
    syntheticRun(N, 2)(w);
    const reader = TraceReader.open(path);
    assert.equal(reader.header.scenario, "seek");
    assert.equal(reader.eventCount, N);
    assert.equal(key(reader.readEvent(12_345)!), ALL[12_345]);
    let n = 0;
    for (const e of reader.events(29_000)) assert.equal(key(e), ALL[29_000 + n++]);
    assert.equal(n, 1000);
    reader.close();
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("iterators are independent and yield one reused record", () => {
  const reader = TraceReader.fromBytes(GOOD);
  const a = reader.events(0);
  const b = reader.events(20_000);
  const first = a.next();
  const second = a.next();
  assert.equal(first.value, second.value, "the same record object");
  assert.equal(key(b.next().value!), ALL[20_000]);
  assert.equal(key(a.next().value!), ALL[2]);
  assert.throws(() => reader.events(-1), RangeError);
  assert.throws(() => reader.readEvent(1.5), RangeError);
});
