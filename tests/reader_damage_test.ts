// Damage handling of the .lstrace reader: bit flips in every region, truncation
// everywhere, crafted corruption, a newer version, and a writer killed mid-run.
import assert from "node:assert/strict";
import type { EventRecord } from "../core/event.ts";
import { crc32c, getU32, getU64, putU32, putU64, type TraceHeaderInit } from "../format/format.ts";
import { encodeToBytes } from "../recorder/writer.ts";
import { TraceError, type TraceErrorCode, TraceReader } from "../replay/reader.ts";
import { syntheticRun } from "../tools/bench_trace.ts";

const HEADER: TraceHeaderInit = { tool: "lockstep test", scenario: "damage", seed: 3, cpus: 4, config: {}, inputs: [] };
const EVENTS = 12_000;
const GOOD = encodeToBytes(HEADER, syntheticRun(EVENTS, 5), { blockPayloadBytes: 8192 });

/** An event as a compact string, for prefix comparisons. */
function key(e: EventRecord): string {
  return `${e.index} ${e.tNs} ${e.cpu} ${e.thread} ${e.kind} ${e.fields.join(",")} ${e.text}`;
}

const ALL: string[] = [];
TraceReader.fromBytes(GOOD).forEach((e) => void ALL.push(key(e)));

/** The file layout, parsed here independently of the reader (it checks the spec too). */
interface Layout {
  dataStart: number;
  blocks: { offset: number; payload: number; count: number; firstIndex: number }[];
  footerOffset: number;
}

function layout(bytes: Uint8Array): Layout {
  const dataStart = 20 + getU32(bytes, 12);
  const footerOffset = getU64(bytes, bytes.length - 16);
  const blocks = [];
  for (let at = dataStart; at < footerOffset;) {
    assert.equal(getU32(bytes, at), 0x4b42534c, "block magic");
    const payload = getU32(bytes, at + 4);
    blocks.push({ offset: at, payload, count: getU32(bytes, at + 8), firstIndex: getU64(bytes, at + 12) });
    at += 40 + payload;
  }
  return { dataStart, blocks, footerOffset };
}

const L = layout(GOOD);

interface Outcome {
  events: string[];
  error: unknown;
  reader?: TraceReader;
}

function read(bytes: Uint8Array, recover = false): Outcome {
  const events: string[] = [];
  let reader: TraceReader | undefined;
  try {
    reader = TraceReader.fromBytes(bytes, { recover });
    reader.forEach((e) => void events.push(key(e)));
    return { events, error: undefined, reader };
  } catch (error) {
    return { events, error, reader };
  }
}

/** Checks one damaged file: a typed error among `codes`, and only true events before it. */
function expectDamage(bytes: Uint8Array, codes: TraceErrorCode[], recovered: number | undefined, what: string): void {
  const strict = read(bytes);
  assert.ok(strict.error instanceof TraceError, `${what}: expected a TraceError, got ${strict.error}`);
  assert.ok(
    codes.includes(strict.error.code),
    `${what}: code ${strict.error.code}, expected ${codes}: ${strict.error.message}`,
  );
  assert.deepEqual(strict.events, ALL.slice(0, strict.events.length), `${what}: events before the damage are true`);
  if (strict.reader === undefined) assert.equal(strict.events.length, 0);
  if (recovered !== undefined) {
    assert.equal(strict.events.length, recovered, `${what}: events delivered`);
    assert.equal(strict.error.recovered, recovered, `${what}: recovered count in the error`);
  }
  if (strict.reader === undefined) return; // refused at open: recover mode refuses the header the same way
  const lenient = read(bytes, true);
  if (lenient.error !== undefined) {
    assert.ok(
      lenient.error instanceof TraceError && lenient.reader === undefined,
      `${what}: recover threw ${lenient.error}`,
    );
    return;
  }
  assert.ok(lenient.reader?.damage instanceof TraceError, `${what}: recover mode reports the damage`);
  assert.deepEqual(lenient.events, ALL.slice(0, lenient.events.length), `${what}: recover mode events are true`);
  assert.ok(lenient.events.length >= strict.events.length, `${what}: recover mode reads at least as much`);
}

function flipped(pos: number, bit: number): Uint8Array {
  const bytes = GOOD.slice();
  bytes[pos] ^= 1 << bit;
  return bytes;
}

function seededPositions(count: number, start: number, end: number, seed: number): number[] {
  let x = seed;
  const out = [];
  for (let i = 0; i < count; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    out.push(start + (x % (end - start)));
  }
  return out;
}

Deno.test("layout: the sample trace has many blocks, a footer and a trailer", () => {
  assert.ok(L.blocks.length >= 6, `${L.blocks.length} blocks`);
  assert.equal(ALL.length, EVENTS);
  assert.equal(L.blocks.reduce((n, b) => n + b.count, 0), EVENTS);
  assert.equal(getU32(GOOD, GOOD.length - 4), 0x444e534c);
});

Deno.test("bit flips in the prefix and header", () => {
  for (let pos = 0; pos < 8; pos++) expectDamage(flipped(pos, pos % 8), ["bad-magic"], undefined, `magic byte ${pos}`);
  for (const bit of [0, 1, 7]) expectDamage(flipped(8, bit), ["unsupported-version"], undefined, `version bit ${bit}`);
  expectDamage(flipped(9, 0), ["unsupported-version"], undefined, "version high byte");
  for (const pos of [10, 11]) expectDamage(flipped(pos, 3), ["checksum"], undefined, `flags byte ${pos}`);
  for (let bit = 0; bit < 8; bit++) {
    for (const pos of [12, 13, 14, 15]) {
      expectDamage(flipped(pos, bit), ["checksum", "length", "truncated"], undefined, `header length ${pos}.${bit}`);
    }
  }
  for (let pos = 16; pos < L.dataStart; pos++) {
    expectDamage(flipped(pos, pos % 8), ["checksum"], undefined, `header ${pos}`);
  }
});

Deno.test("bit flips in block headers and payloads: the blocks before read back", () => {
  const picks = [0, 1, Math.floor(L.blocks.length / 2), L.blocks.length - 1];
  for (const k of picks) {
    const b = L.blocks[k];
    for (let pos = 0; pos < 40; pos++) {
      expectDamage(flipped(b.offset + pos, (pos * 3) % 8), ["checksum"], b.firstIndex, `block ${k} header byte ${pos}`);
    }
    for (const pos of seededPositions(40, b.offset + 40, b.offset + 40 + b.payload, k + 1)) {
      expectDamage(flipped(pos, pos % 8), ["checksum"], b.firstIndex, `block ${k} payload byte ${pos}`);
    }
  }
});

Deno.test("bit flips in the footer and trailer", () => {
  const f = L.footerOffset;
  // Footer damage is found at open (no event delivered; recover mode then scans the blocks).
  for (let pos = f; pos < f + 4; pos++) expectDamage(flipped(pos, 2), ["corrupt"], undefined, `footer magic ${pos}`);
  for (let pos = f + 4; pos < f + 8; pos++) {
    expectDamage(flipped(pos, 5), ["length"], undefined, `footer length ${pos}`);
  }
  for (let pos = f + 8; pos < f + 12; pos++) {
    expectDamage(flipped(pos, 1), ["checksum"], undefined, `footer crc ${pos}`);
  }
  for (const pos of seededPositions(60, f + 12, GOOD.length - 16, 7)) {
    expectDamage(flipped(pos, pos % 8), ["checksum"], undefined, `footer payload ${pos}`);
  }
  const t = GOOD.length - 16;
  for (let pos = t; pos < t + 12; pos++) {
    for (const bit of [0, 6]) {
      expectDamage(flipped(pos, bit), ["checksum"], undefined, `trailer byte ${pos - t}.${bit}`);
    }
  }
  // A damaged trailer magic looks like a killed writer: all blocks read back, then the footer is found.
  for (let pos = t + 12; pos < t + 16; pos++) {
    expectDamage(flipped(pos, 4), ["corrupt"], EVENTS, `trailer magic ${pos}`);
  }
});

Deno.test("footer damage in recover mode: falls back to scanning every block", () => {
  const out = read(flipped(L.footerOffset + 20, 3), true);
  assert.equal(out.error, undefined);
  assert.equal(out.reader?.hasFooter, false);
  assert.equal(out.reader?.damage?.code, "checksum");
  assert.deepEqual(out.events, ALL);
  assert.equal(out.reader?.eventCount, EVENTS);
});

Deno.test("truncation at every block boundary and inside blocks", () => {
  for (const [k, b] of L.blocks.entries()) {
    const cuts = [0, 1, 4, 39, 40, 41, 40 + (b.payload >> 1), 40 + b.payload - 1];
    for (const cut of k % 3 === 0 ? cuts : [0, 40 + (b.payload >> 1)]) {
      const bytes = GOOD.slice(0, b.offset + cut);
      expectDamage(bytes, ["truncated"], b.firstIndex, `cut at block ${k} + ${cut}`);
      const lenient = read(bytes, true);
      assert.equal(lenient.reader?.damage?.code, "truncated");
      assert.equal(lenient.reader?.damage?.recovered, b.firstIndex);
      assert.equal(lenient.reader?.eventCount, b.firstIndex, "a finished scan counts the whole events");
      assert.equal(lenient.reader?.hasFooter, false);
    }
  }
});

Deno.test("truncation inside the footer and trailer, and inside the header", () => {
  for (const cut of [L.footerOffset, L.footerOffset + 1, L.footerOffset + 11, L.footerOffset + 12, GOOD.length - 17]) {
    expectDamage(GOOD.slice(0, cut), ["truncated"], EVENTS, `cut at ${cut} (footer)`);
  }
  for (const cut of [GOOD.length - 16, GOOD.length - 5, GOOD.length - 1]) {
    expectDamage(GOOD.slice(0, cut), ["truncated"], EVENTS, `cut at ${cut} (trailer)`);
  }
  for (const cut of [0, 3, 8, 19, 20, L.dataStart - 1]) {
    const out = read(GOOD.slice(0, cut));
    assert.ok(out.error instanceof TraceError && out.error.code === "truncated", `cut at ${cut}: ${out.error}`);
    assert.equal(out.error.recovered, 0);
  }
});

Deno.test("a newer format version is refused clearly", () => {
  const bytes = GOOD.slice();
  bytes[8] = 4;
  putU32(bytes, 16, crc32c(bytes.subarray(20, L.dataStart), crc32c(bytes, 0, 8, 16)));
  const out = read(bytes);
  assert.ok(out.error instanceof TraceError);
  assert.equal(out.error.code, "unsupported-version");
  assert.match(out.error.message, /format version 4 is newer than this reader's 3/);
});

Deno.test("an older format version is refused, naming it and the way to re-record", () => {
  for (const version of [1, 2]) {
    const bytes = GOOD.slice();
    bytes[8] = version;
    putU32(bytes, 16, crc32c(bytes.subarray(20, L.dataStart), crc32c(bytes, 0, 8, 16)));
    const out = read(bytes);
    assert.ok(out.error instanceof TraceError);
    assert.equal(out.error.code, "unsupported-version");
    assert.match(out.error.message, new RegExp(`format version ${version} is older than this reader's 3`));
    assert.match(out.error.message, /replay --update/);
  }
});

Deno.test("a crafted block: time deltas count from the last event of the same thread (mod 1024)", () => {
  const release = 23; // lock-release (id 33): lock 1, mode excl
  const block = (third: number) => [
    0, // empty field-mode table
    // thread 1 on cpu 0 at the block's first time (DT_ZERO); context c = 0 (cpu 0, thread follows), thread 1
    ...[0x40 | release, 0, 1, 1, 0],
    // thread 2 at 15: 5 after the block's first time (thread 2 had no event yet)
    ...[release, 0, 2, 5, 1, 0],
    // thread 1 again, `third` ns after thread 1's last event (at 10), not after the previous event (15)
    ...[release, 0, 1, third, 1, 0],
    // thread 1025 shares thread 1's entry (1025 mod 1024): 1 ns after the event before
    ...[release, 0, 0x81, 0x08, 1, 1, 0],
  ];
  const reader = TraceReader.fromBytes(crafted([{ payload: block(20), count: 4, firstIndex: 0, firstT: 10 }]), {
    recover: true,
  });
  const got: number[][] = [];
  reader.forEach((e) => void got.push([e.tNs, e.thread]));
  assert.deepEqual(got, [[10, 1], [15, 2], [30, 1], [31, 1025]]);
  // 3 ns after thread 1's 10 is 13, before the previous event's 15: refused.
  const out = read(crafted([{ payload: block(3), count: 4, firstIndex: 0, firstT: 10 }]));
  assert.ok(out.error instanceof TraceError && out.error.code === "corrupt", String(out.error));
  assert.match(out.error.message, /event 2: non-canonical or backward time delta/);
});

Deno.test("a crafted block with delta and keyed field modes decodes as the spec says", () => {
  const same = 0x80 | 0x40; // same context, same time
  const pktRx = 41, pktTcp = 62; // codes of pkt-rx (id 70) and pkt-tcp (id 92)
  const payload = [
    // field-mode table: 2 slots; pkt-rx.pkt (slot 420) delta, then pkt-tcp.seq (slot 553, gap 133) keyed
    2,
    0xa4,
    0x03,
    1,
    0x85,
    0x01,
    2,
    // pkt-rx: pkt 10 (delta from 0: zigzag 20), flow 7 (the key: now 7), len 100, queue 0
    ...[same | pktRx, 20, 7, 100, 0],
    // pkt-tcp: pkt 10 (base: delta 0 from the block's last pkt), seq 1000 under key 7 (zigzag 2000), ack 5, flags 16, win 9
    ...[same | pktTcp, 0, 0xd0, 0x0f, 5, 16, 9],
    // pkt-rx: pkt 11 (delta +1 from the slot's 10), flow 8 (key 8)
    ...[same | pktRx, 2, 8, 100, 0],
    // pkt-tcp: pkt 11, seq 5000 under key 8 (nothing before: from 0; zigzag 10000)
    ...[same | pktTcp, 0, 0x90, 0x4e, 5, 16, 9],
    // pkt-rx: pkt 12, flow 7 (key 7 again)
    ...[same | pktRx, 2, 7, 100, 0],
    // pkt-tcp: pkt 12, seq 1100: +100 from key 7's 1000 (zigzag 200)
    ...[same | pktTcp, 0, 0xc8, 0x01, 5, 16, 9],
  ];
  const reader = TraceReader.fromBytes(crafted([{ payload, count: 6, firstIndex: 0, firstT: 10 }]), { recover: true });
  const got: number[][] = [];
  reader.forEach((e) => void got.push([e.kind, ...e.fields]));
  assert.deepEqual(got, [
    [70, 10, 7, 100, 0, 0, 0],
    [92, 10, 1000, 5, 16, 9, 0],
    [70, 11, 8, 100, 0, 0, 0],
    [92, 11, 5000, 5, 16, 9, 0],
    [70, 12, 7, 100, 0, 0, 0],
    [92, 12, 1100, 5, 16, 9, 0],
  ]);
});

/** A file with the sample header and hand-made blocks (each: payload bytes, event count, first index and time). */
function crafted(blocks: { payload: number[]; count: number; firstIndex: number; firstT: number }[]): Uint8Array {
  const parts: Uint8Array[] = [GOOD.slice(0, L.dataStart)];
  for (const b of blocks) {
    // Stored raw (codec 0): the raw length equals the stored one.
    const block = new Uint8Array(40 + b.payload.length);
    putU32(block, 0, 0x4b42534c);
    putU32(block, 4, b.payload.length);
    putU32(block, 8, b.count);
    putU64(block, 12, b.firstIndex);
    putU64(block, 20, b.firstT);
    putU32(block, 28, b.payload.length);
    block.set(b.payload, 40);
    putU32(block, 36, crc32c(block, crc32c(block, 0, 0, 36), 40, block.length));
    parts.push(block);
  }
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

Deno.test("crafted corruption with valid checksums is caught by the decoder", () => {
  const same = 0x80 | 0x40; // same context, same time
  const releaseCode = 23; // lock-release (id 33)
  const taskInitCode = 25; // task-init (id 41)
  const cases: [string, number[], number, RegExp][] = [
    ["escaped kind id past the schema", [same | 63, 200, 1], 1, /kind id 200/],
    ["unknown escaped kind", [same | 63, 100, 1], 1, /kind id 100/],
    ["escape of a kind with a short code", [same | 63, 33, 1, 0], 1, /short code/],
    ["varint overflow", [same | releaseCode, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0], 1, /lock/],
    ["overlong varint", [same | releaseCode, 0x81, 0x00, 0], 1, /lock/],
    ["enum out of range", [same | releaseCode, 1, 2], 1, /mode/],
    ["unknown string id", [same | taskInitCode, 1, 5], 1, /unknown string id 5/],
    ["trailing bytes", [same | releaseCode, 1, 0, 0], 1, /1 bytes follow/],
    ["too few events", [same | releaseCode, 0x81, 0x01, 0], 2, /payload ends/],
    ["first event with a time delta", [0x80 | releaseCode, 5, 1, 0], 1, /time delta/],
    ["event past the payload", [same | releaseCode, 1], 1, /past the payload/],
    ["non-canonical context", [0x40 | releaseCode, 1, 1, 0], 1, /non-canonical/],
    ["bad utf-8 string", [same, 1, 2, 0xc3, 0x28], 1, /UTF-8/],
  ];
  // The field-mode table may name only mode fields (u, ns, obj, pkt) of declared kinds, in ascending order, each
  // with mode 1 (delta) or 2 (keyed; never a kind's key field).
  const badTables: [string, number[], RegExp][] = [
    ["an enum field in delta mode", [1, 6, /* run-end.reason */ 1], /slot 6, not a mode slot/],
    ["an undeclared kind", [1, 0xd0, 0x05, /* slot 720: kind 120 */ 1], /slot 720, not a mode slot/],
    ["slots not ascending", [2, 0xc6, 0x01, /* lock-release.lock */ 1, 0, 1], /table entry/],
    ["an unknown mode", [1, 0xc6, 0x01, 3], /slot 198 mode 3/],
    ["mode 0 listed", [1, 0xc6, 0x01, 0], /slot 198 mode 0/],
    ["a key field keyed", [1, 0xc6, 0x01, 2], /slot 198 mode 2/],
    ["more slots than exist", [0xff, 0x7f], /table count/],
  ];
  for (const [what, table, pattern] of badTables) {
    const out = read(crafted([{ payload: [...table, same | releaseCode, 1, 0], count: 1, firstIndex: 0, firstT: 10 }]));
    assert.ok(out.error instanceof TraceError && out.error.code === "corrupt", `${what}: ${out.error}`);
    assert.match(out.error.message, pattern, what);
  }
  for (const [what, events, count, pattern] of cases) {
    const payload = [0, ...events]; // an empty field-mode table, then the events
    const out = read(crafted([{ payload, count, firstIndex: 0, firstT: 10 }]));
    assert.ok(out.error instanceof TraceError, `${what}: ${out.error}`);
    assert.equal(out.error.code, "corrupt", `${what}: ${out.error.message}`);
    assert.match(out.error.message, pattern, `${what}: ${out.error.message}`);
    assert.equal(out.error.block, 0);
    // Trailing bytes and a missing event are reported where they start.
    const at = what === "trailing bytes" ? 3 : what === "too few events" ? 4 : 0;
    assert.equal(out.error.offset, L.dataStart + 40 + 1 + at, `${what}: offset of the bad event`);
    assert.equal(out.events.length, 0);
  }
});

Deno.test("crafted blocks out of order: time going backwards, index gaps", () => {
  const release = [0, 0x80 | 0x40 | 23, 1, 0, 0x80 | 23, 50, 1, 0]; // no delta fields; two events, 50 ns apart
  const backwards = read(crafted([
    { payload: release, count: 2, firstIndex: 0, firstT: 100 },
    { payload: release, count: 2, firstIndex: 2, firstT: 120 },
  ]));
  assert.ok(backwards.error instanceof TraceError && backwards.error.code === "corrupt", String(backwards.error));
  assert.match(backwards.error.message, /before the previous block/);
  assert.equal(backwards.events.length, 2);
  assert.equal(backwards.error.recovered, 2);
  const gap = read(crafted([
    { payload: release, count: 2, firstIndex: 0, firstT: 100 },
    { payload: release, count: 2, firstIndex: 3, firstT: 200 },
  ]));
  assert.ok(gap.error instanceof TraceError && gap.error.code === "corrupt", String(gap.error));
  assert.match(gap.error.message, /first index 3, expected 2/);
  const huge = crafted([{ payload: release, count: 2, firstIndex: 0, firstT: 100 }]);
  putU32(huge, L.dataStart + 4, 0xfffffff0); // a payload length far past any limit
  const out = read(huge);
  assert.ok(out.error instanceof TraceError && out.error.code === "length", String(out.error));
});

Deno.test("a writer killed mid-run leaves a file whose whole blocks read back", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    const path = `${dir}/killed.lstrace`;
    const writerUrl = new URL("../recorder/writer.ts", import.meta.url).href;
    const benchUrl = new URL("../tools/bench_trace.ts", import.meta.url).href;
    const code = `
      import { TraceWriter } from "${writerUrl}";
      import { syntheticRun } from "${benchUrl}";
      const w = TraceWriter.create(${JSON.stringify(path)}, ${JSON.stringify(HEADER)}, { blockPayloadBytes: 8192 });
      let n = 0;
      syntheticRun(1e9, 1)({ onEvent(e) { w.onEvent(e); if (++n % 2000 === 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1); } });
    `;
    const child = new Deno.Command(Deno.execPath(), { args: ["eval", code], stdout: "null", stderr: "null" }).spawn();
    for (let i = 0; i < 600; i++) {
      await new Promise((r) => setTimeout(r, 50));
      let size = 0;
      try {
        size = Deno.statSync(path).size; // the child may not have created it yet
      } catch { /* not yet */ }
      if (size > 200_000) break;
    }
    child.kill("SIGKILL");
    await child.status;
    const reader = TraceReader.open(path, { recover: true });
    assert.equal(reader.hasFooter, false);
    let expect = 0;
    reader.forEach((e) => {
      assert.equal(e.index, expect++);
    });
    assert.ok(expect > 10_000, `${expect} events read back`);
    assert.equal(reader.damage?.code, "truncated");
    assert.equal(reader.damage?.recovered, expect);
    assert.equal(reader.eventCount, expect);
    reader.close();
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("an iterator that met damage stays finished", () => {
  const k = 2;
  const bytes = flipped(L.blocks[k].offset + 40, 1);
  const it = TraceReader.fromBytes(bytes).events();
  let n = 0;
  assert.throws(() => {
    for (;;) {
      if (it.next().done) break;
      n++;
    }
  }, (err: unknown) => err instanceof TraceError && err.code === "checksum");
  assert.equal(n, L.blocks[k].firstIndex);
  assert.equal(it.next().done, true, "no skipping past the damaged block");
});

Deno.test("a trace written with another event layout is refused clearly", () => {
  const bytes = GOOD.slice();
  const json = new TextDecoder().decode(bytes.subarray(20, L.dataStart));
  const at = json.indexOf("33:obj,enum:lockMode");
  assert.ok(at > 0, "the header stores the layout");
  bytes.set(new TextEncoder().encode("33:cpu"), 20 + at); // same length: the rest of the file stays in place
  putU32(bytes, 16, crc32c(bytes.subarray(20, L.dataStart), crc32c(bytes, 0, 8, 16)));
  const out = read(bytes);
  assert.ok(out.error instanceof TraceError);
  assert.equal(out.error.code, "unsupported-version");
  assert.match(out.error.message, /lock-release has \(cpu,enum:lockMode\) in the trace, \(obj,enum:lockMode\) here/);
  // Header content that passes its checksum but breaks the header's rules is corrupt.
  const bad = GOOD.slice();
  const seedAt = json.indexOf('"seed":3');
  bad.set(new TextEncoder().encode('"seed":-'), 20 + seedAt);
  putU32(bad, 16, crc32c(bad.subarray(20, L.dataStart), crc32c(bad, 0, 8, 16)));
  const out2 = read(bad);
  assert.ok(out2.error instanceof TraceError && out2.error.code === "corrupt", String(out2.error));
});
