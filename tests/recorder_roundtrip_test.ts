// Round trips of randomized event streams through the .lstrace writer and reader.
import assert from "node:assert/strict";
import { EventRecord, type EventSink } from "../core/event.ts";
import { type EnumName, ENUMS, FIELDS_MAX, KIND, KINDS } from "../core/schema.ts";
import {
  CPUS_MAX,
  crc32c,
  getU32,
  getU64,
  getVarI,
  getVarU,
  putVarI,
  putVarU,
  STRING_MAX_BYTES,
  type TraceHeaderInit,
} from "../format/format.ts";
import {
  chooseModes,
  KIND_CODE_IDS,
  MODE_BASE,
  MODE_DELTA,
  MODE_KEYED,
  SLOTS,
  varISize,
  varUSize,
} from "../format/_layout.ts";
import { encodeToBytes, TraceWriter } from "../recorder/writer.ts";
import { TraceReader } from "../replay/reader.ts";

const HEADER: TraceHeaderInit = {
  tool: "lockstep test",
  scenario: "roundtrip",
  seed: 42,
  cpus: 8,
  config: { "sched.quantumNs": 1000000, "net.lossy": false, name: "x" },
  inputs: [{ at: 5, pkt: [1, 2] }, "go"],
};

/** A tiny seeded PRNG (mulberry32) so failures reproduce. */
function prng(seed: number): (n: number) => number {
  let a = seed >>> 0;
  return (n: number) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) / 4294967296 * n) | 0;
  };
}

const U_EXTREMES = [0, 1, 127, 128, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1];
const I_EXTREMES = [0, -1, 1, -64, 63, -(2 ** 31), 2 ** 31, -(2 ** 53 - 1), 2 ** 53 - 1];
const TEXTS = [
  "",
  "a",
  "lock class so_lock",
  "ünïcödé ✓ 日本語 🦀 e\u0301",
  "x".repeat(STRING_MAX_BYTES),
  "é".repeat(STRING_MAX_BYTES / 2),
  "🦀".repeat(STRING_MAX_BYTES / 4),
];

/** Plain copy of an event, for comparisons. */
interface Plain {
  index: number;
  tNs: number;
  cpu: number;
  thread: number;
  kind: number;
  fields: number[];
  text: string;
}

function plain(e: EventRecord): Plain {
  return {
    index: e.index,
    tNs: e.tNs,
    cpu: e.cpu,
    thread: e.thread,
    kind: e.kind,
    fields: [...e.fields],
    text: e.text,
  };
}

/**
 * Emits `count` random events covering every kind with extreme values:
 * huge time jumps, all cpus, extreme thread ids and field values, long and
 * unicode strings with extreme ids.
 */
function randomRun(count: number, seed: number): { produce: (sink: EventSink) => void; events: Plain[] } {
  const r = prng(seed);
  const events: Plain[] = [];
  const e = new EventRecord();
  const strIds: number[] = [];
  let t = 0;
  const pick = <T>(a: readonly T[]): T => a[r(a.length)];
  const unsigned = (): number => (r(3) === 0 ? pick(U_EXTREMES) : r(300));
  const produce = (sink: EventSink) => {
    for (let n = 0; n < count; n++) {
      const def = n < 3 ? KINDS[0] : n - 3 < KINDS.length ? KINDS[n - 3] : pick(KINDS);
      const jump = r(20);
      const step = jump === 0 ? 0 : jump < 15 ? r(200) : jump < 19 ? r(1 << 30) : 2 ** 40 + r(1 << 30);
      t = Math.min(t + step, 2 ** 53 - 1 - (count - n));
      if (n === count - 1) t = 2 ** 53 - 1; // the largest time
      e.index = n;
      e.tNs = t;
      e.cpu = r(4) === 0 ? r(CPUS_MAX) : r(4);
      e.thread = r(5) === 0 ? unsigned() : r(6);
      e.kind = def.id;
      e.fields.fill(0);
      e.text = "";
      if (def.id === KIND.strDef) {
        let id = r(4) === 0 ? pick(U_EXTREMES) : r(1 << 20);
        while (strIds.includes(id)) id = r(1 << 20);
        strIds.push(id);
        e.fields[0] = id;
        e.text = pick(TEXTS) + (r(2) ? String(n) : "");
        if (new TextEncoder().encode(e.text).length > STRING_MAX_BYTES) e.text = String(n);
      } else {
        def.fields.forEach((f, j) => {
          if (f.type === "i") e.fields[j] = r(3) === 0 ? pick(I_EXTREMES) : r(100) - 50;
          else if (f.type === "cpu") e.fields[j] = r(3) === 0 ? CPUS_MAX - 1 : r(8);
          else if (f.type === "str") e.fields[j] = pick(strIds);
          else if (f.type.startsWith("enum:")) e.fields[j] = r(ENUMS[f.type.slice(5) as EnumName].length);
          else e.fields[j] = unsigned();
        });
      }
      events.push(plain(e));
      sink.onEvent(e);
    }
    sink.onEnd?.();
  };
  return { produce, events };
}

function readAll(reader: TraceReader): Plain[] {
  const out: Plain[] = [];
  reader.forEach((e) => void out.push(plain(e)));
  return out;
}

Deno.test("round trip: every kind, extreme values, forEach and iterator agree", () => {
  for (const seed of [1, 2, 3]) {
    const { produce, events } = randomRun(6000, seed);
    const bytes = encodeToBytes(HEADER, produce, { blockPayloadBytes: 8192 });
    const reader = TraceReader.fromBytes(bytes);
    assert.equal(reader.hasFooter, true);
    assert.equal(reader.eventCount, events.length);
    assert.ok(reader.blockCount > 5, "several blocks");
    assert.deepEqual(readAll(reader), events);
    const viaIterator: Plain[] = [];
    for (const e of reader.events()) viaIterator.push(plain(e));
    assert.deepEqual(viaIterator, events);
    for (const ev of events) {
      if (ev.kind === KIND.strDef) assert.equal(reader.string(ev.fields[0]), ev.text);
    }
  }
});

Deno.test("round trip: header is stored canonically and read back", () => {
  const bytes = encodeToBytes(HEADER, () => {});
  const reader = TraceReader.fromBytes(bytes);
  assert.deepEqual(reader.header, { ...HEADER, formatVersion: 3 });
  const reordered = encodeToBytes(
    { ...HEADER, config: { name: "x", "net.lossy": false, "sched.quantumNs": 1000000 } },
    () => {},
  );
  assert.deepEqual(reordered, bytes, "config key order does not change the bytes");
});

Deno.test("round trip: the same run gives byte-identical files", () => {
  const a = encodeToBytes(HEADER, randomRun(3000, 9).produce);
  const b = encodeToBytes(HEADER, randomRun(3000, 9).produce);
  assert.deepEqual(a, b);
  const c = encodeToBytes(HEADER, randomRun(3000, 10).produce);
  assert.notDeepEqual(a, c);
});

Deno.test("round trip: empty run (0 events)", () => {
  const bytes = encodeToBytes(HEADER, (sink) => sink.onEnd?.());
  const reader = TraceReader.fromBytes(bytes);
  assert.equal(reader.eventCount, 0);
  assert.equal(reader.hasFooter, true);
  assert.equal(reader.blockCount, 0);
  assert.deepEqual(readAll(reader), []);
  assert.equal(reader.readEvent(0), undefined);
  assert.equal(reader.events().next().done, true);
});

Deno.test("round trip: through a file on disk, with counters", () => {
  const dir = Deno.makeTempDirSync();
  try {
    const path = `${dir}/run.lstrace`;
    const { produce, events } = randomRun(4000, 5);
    const w = TraceWriter.create(path, HEADER, { blockPayloadBytes: 8192 });
    produce(w);
    assert.equal(w.events, events.length);
    assert.equal(w.bytesWritten, Deno.statSync(path).size);
    w.close(); // a second close (after onEnd) does nothing
    const reader = TraceReader.open(path);
    assert.deepEqual(readAll(reader), events);
    reader.close();
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("round trip: checkpoints are listed in the footer", () => {
  const e = new EventRecord();
  const bytes = encodeToBytes(HEADER, (sink) => {
    for (let i = 0; i < 5000; i++) {
      e.index = i;
      e.tNs = i * 10;
      e.kind = i % 1000 === 999 ? KIND.checkpoint : KIND.ref;
      e.fields.fill(0);
      e.fields[0] = i % 7;
      e.fields[1] = i;
      sink.onEvent(e);
    }
  });
  const reader = TraceReader.fromBytes(bytes);
  assert.deepEqual(reader.checkpoints(), [999, 1999, 2999, 3999, 4999].map((index) => ({ index, tNs: index * 10 })));
  assert.equal(reader.checkpointStride, 1);
  assert.equal(reader.readEvent(2999)?.kind, KIND.checkpoint);
});

Deno.test("writer: size stays compact for a realistic mix", async () => {
  const { syntheticRun } = await import("../tools/bench_trace.ts");
  const n = 100_000;
  const bytes = encodeToBytes({ ...HEADER, cpus: 4 }, syntheticRun(n, 3));
  assert.ok(bytes.length / n < 7, `${bytes.length / n} bytes per event`);
});

function refused(fn: (w: TraceWriter, e: EventRecord) => void, pattern: RegExp): void {
  const w = TraceWriter.memory(HEADER);
  const e = new EventRecord();
  e.kind = KIND.strDef;
  e.text = "s";
  e.fields[0] = 7;
  w.onEvent(e); // event 0 defines string 7
  e.index = 1;
  e.kind = KIND.lockRelease;
  e.text = "";
  e.fields.fill(0);
  e.tNs = 100;
  assert.throws(() => fn(w, e), pattern);
  e.index = 1;
  e.kind = KIND.lockRelease;
  e.fields.fill(0);
  e.tNs = 100;
  e.cpu = 0;
  e.thread = 0;
  e.text = "";
  assert.throws(() => w.onEvent(e), /earlier event failed/, "a refusal breaks the writer");
}

Deno.test("writer: refuses events that break the schema or the order", () => {
  refused((w, e) => w.onEvent(Object.assign(e, { kind: 9 })), /unknown kind 9/);
  refused((w, e) => w.onEvent(Object.assign(e, { index: 5 })), /index 5 where 1 was due/);
  refused((w, e) => {
    w.onEvent(e);
    w.onEvent(Object.assign(e, { index: 2, tNs: 99 }));
  }, /never go backwards/);
  refused((w, e) => w.onEvent(Object.assign(e, { tNs: 2 ** 53 })), /time/);
  refused((w, e) => w.onEvent(Object.assign(e, { cpu: CPUS_MAX })), /cpu 1024/);
  refused((w, e) => w.onEvent(Object.assign(e, { thread: -1 })), /thread -1/);
  refused((w, e) => {
    e.fields[1] = ENUMS.lockMode.length;
    w.onEvent(e);
  }, /field mode \(enum:lockMode\) = 2/);
  refused((w, e) => {
    e.fields[0] = 1.5;
    w.onEvent(e);
  }, /field lock/);
  refused((w, e) => {
    e.fields[FIELDS_MAX - 1] = 3;
    w.onEvent(e);
  }, /must be 0/);
  refused((w, e) => w.onEvent(Object.assign(e, { text: "x" })), /text is set/);
  refused((w, e) => {
    e.kind = KIND.taskInit;
    e.fields[1] = 8;
    w.onEvent(e);
  }, /names no string defined earlier/);
  refused((w, e) => {
    e.kind = KIND.strDef;
    e.fields[0] = 7;
    e.text = "again";
    w.onEvent(e);
  }, /defined twice/);
  refused((w, e) => {
    e.kind = KIND.strDef;
    e.fields[0] = 8;
    e.text = "x".repeat(STRING_MAX_BYTES + 1);
    w.onEvent(e);
  }, /exceeds 4096/);
  refused((w, e) => {
    e.kind = KIND.strDef;
    e.fields[0] = 8;
    e.text = "\ud800";
    w.onEvent(e);
  }, /well-formed/);
  refused((w, e) => {
    e.kind = KIND.threadCreate;
    e.fields[1] = 7;
    e.fields[3] = 2 ** 53;
    w.onEvent(e);
  }, /field pin/);
});

Deno.test("writer: refuses bad headers and options", () => {
  assert.throws(() => TraceWriter.memory({ ...HEADER, seed: -1 }), /seed/);
  assert.throws(() => TraceWriter.memory({ ...HEADER, cpus: 0 }), /cpus/);
  assert.throws(() => TraceWriter.memory({ ...HEADER, config: { a: NaN } }), /config "a"/);
  assert.throws(() => TraceWriter.memory(HEADER, { blockPayloadBytes: 100 }), /blockPayloadBytes/);
  assert.throws(() => TraceWriter.memory(HEADER).bytes(), /before close/);
});

Deno.test("writer: a refused event leaves a footer-less file whose blocks read back", () => {
  const { produce, events } = randomRun(3000, 11);
  const w = TraceWriter.memory(HEADER, { blockPayloadBytes: 8192 });
  produce({ onEvent: (e) => w.onEvent(e) });
  const e = new EventRecord();
  e.index = events.length;
  e.kind = 6;
  assert.throws(() => w.onEvent(e));
  w.close();
  const reader = TraceReader.fromBytes(w.bytes(), { recover: true });
  assert.equal(reader.hasFooter, false);
  const got = readAll(reader);
  assert.ok(got.length > 0 && got.length < events.length);
  assert.deepEqual(got, events.slice(0, got.length));
  assert.equal(reader.damage?.code, "truncated");
});

Deno.test("format: the writer's bytes follow the spec, byte for byte", () => {
  const e = new EventRecord();
  const bytes = encodeToBytes(HEADER, (sink) => {
    const emit = (t: number, cpu: number, thread: number, kind: number, fields: number[], text = "") => {
      e.tNs = t;
      e.cpu = cpu;
      e.thread = thread;
      e.kind = kind;
      e.fields.fill(0);
      fields.forEach((v, j) => (e.fields[j] = v));
      e.text = text;
      sink.onEvent(e);
      e.index++;
    };
    emit(1000, 0, 0, KIND.ref, [300, 1]);
    emit(1000, 1, 7, KIND.ref, [301, 2]);
    emit(1005, 1, 7, KIND.ref, [302, 3]);
    emit(1005, 0, 0, KIND.ref, [5, 0]);
    emit(1005, 0, 0, KIND.strDef, [9], "hé");
    emit(2000, 0, 0, KIND.pktRx, [1000, 3, 1500, 0]);
    emit(2000, 0, 0, KIND.threadCreate, [5, 9, 0, -1, 3, 0]);
  }, { compression: "none" });
  const expected = [
    // the field-mode table: no field in delta mode (the first block has no statistics yet)
    0x00,
    // ref (code 38): same context and time; obj 300 raw, count 1 raw
    0xe6,
    0xac,
    0x02,
    0x01,
    // cpu 1 thread 7 (c = 2, then the thread); obj 301 raw, count 2
    0x66,
    0x02,
    0x07,
    0xad,
    0x02,
    0x02,
    // same context, dt 5; obj 302 raw, count 3 raw
    0xa6,
    0x05,
    0xae,
    0x02,
    0x03,
    // back to cpu 0, whose last thread (0) it keeps: c = 1; obj 5, count 0
    0x66,
    0x01,
    0x05,
    0x00,
    // str-def (code 0): id 9, 3 bytes of UTF-8
    0xc0,
    0x09,
    0x03,
    0x68,
    0xc3,
    0xa9,
    // pkt-rx (code 41): dt 995; pkt 1000 as a delta from 0 (zigzag 2000), flow 3, len 1500, queue 0
    0xa9,
    0xe3,
    0x07,
    0xd0,
    0x0f,
    0x03,
    0xdc,
    0x0b,
    0x00,
    // thread-create (code 6): thread 5, name 9, prio 0, pin -1 (zigzag 1), cpu 3, kind 0
    0xc6,
    0x05,
    0x09,
    0x00,
    0x01,
    0x03,
    0x00,
  ];
  const dataStart = 20 + getU32(bytes, 12);
  assert.deepEqual([...bytes.subarray(0, 8)], [0x89, 0x4c, 0x53, 0x54, 0x52, 0x0d, 0x0a, 0x1a]);
  assert.equal(bytes[8] | (bytes[9] << 8), 3);
  assert.equal(getU32(bytes, dataStart), 0x4b42534c, "block magic LSBK");
  assert.equal(getU32(bytes, dataStart + 4), expected.length, "stored length");
  assert.equal(getU32(bytes, dataStart + 8), 7);
  assert.equal(getU64(bytes, dataStart + 12), 0);
  assert.equal(getU64(bytes, dataStart + 20), 1000);
  assert.equal(getU32(bytes, dataStart + 28), expected.length, "raw length");
  assert.equal(getU32(bytes, dataStart + 32), 0, "codec none, reserved bytes 0");
  assert.deepEqual([...bytes.subarray(dataStart + 40, dataStart + 40 + expected.length)], expected);
  assert.equal(
    getU32(bytes, dataStart + 36),
    crc32c(bytes, crc32c(bytes, 0, dataStart, dataStart + 36), dataStart + 40, dataStart + 40 + expected.length),
  );
  const footer = dataStart + 40 + expected.length;
  assert.equal(getU32(bytes, footer), 0x5446534c, "footer magic LSFT");
  assert.equal(getU64(bytes, bytes.length - 16), footer, "the trailer points at the footer");
  assert.equal(getU32(bytes, bytes.length - 4), 0x444e534c, "trailer magic LSND");
  assert.deepEqual(KIND_CODE_IDS, [
    ...[0, 1, 2, 3, 4, 5, 10, 11, 12, 13, 14, 15, 16, 17, 20, 21, 22, 23, 24, 25, 30, 31, 32, 33],
    ...[40, 41, 42, 43, 44, 45, 46, 47, 50, 51, 52, 53, 54, 60, 61, 62, 63],
    ...Array.from({ length: 20 }, (_, k) => 70 + k),
    ...[90, 92],
  ]);
});

Deno.test("format: a block's field modes come from the previous block, and a zstd block reads back", () => {
  // obj counts up by 1 from 10^6: 3 bytes raw, 1 byte as a delta, so block 1 on puts ref.obj in delta mode.
  const e = new EventRecord();
  const produce = (sink: EventSink) => {
    for (let i = 0; i < 20_000; i++) {
      e.index = i;
      e.tNs = 1000 + i;
      e.kind = KIND.ref;
      e.fields[0] = 1_000_000 + i;
      e.fields[1] = i & 3;
      sink.onEvent(e);
    }
  };
  const raw = encodeToBytes(HEADER, produce, { blockPayloadBytes: 8192, compression: "none" });
  const r = TraceReader.fromBytes(raw);
  assert.ok(r.blockCount >= 3);
  const b1 = 20 + getU32(raw, 12) + 40 + getU32(raw, 20 + getU32(raw, 12) + 4);
  assert.equal(getU32(raw, b1), 0x4b42534c);
  const slot = KIND.ref * FIELDS_MAX;
  const want = [1, slot & 0x7f | 0x80, slot >>> 7];
  assert.deepEqual([...raw.subarray(b1 + 40, b1 + 43)], want, "block 1's table: one delta slot, ref.obj");
  const zst = encodeToBytes(HEADER, produce, { blockPayloadBytes: 8192 });
  assert.ok(zst.length < raw.length / 2, `zstd ${zst.length} vs raw ${raw.length}`);
  const dataStart = 20 + getU32(zst, 12);
  assert.equal(getU32(zst, dataStart + 32), 1, "codec zstd");
  let k = 0;
  for (const ev of TraceReader.fromBytes(zst).events()) {
    assert.equal(ev.fields[0], 1_000_000 + k);
    assert.equal(ev.fields[1], k & 3);
    k++;
  }
  assert.equal(k, 20_000);
});

Deno.test("format: CRC-32C and varints", () => {
  assert.equal(crc32c(new TextEncoder().encode("123456789")), 0xe3069283);
  assert.equal(crc32c(new Uint8Array(0)), 0);
  const buf = new Uint8Array(16);
  for (let k = 0; k <= 53; k++) {
    for (const d of [-1, 0, 1]) {
      const v = 2 ** k + d;
      if (v < 0 || v > 2 ** 53 - 1) continue;
      const n = putVarU(buf, 0, v);
      assert.equal(n, varUSize(v));
      assert.equal(getVarU(buf, { pos: 0, end: n }), v);
      assert.equal(getVarU(buf, { pos: 0, end: n - 1 }), -1, "truncated");
      for (const s of v === 0 ? [0] : [v, -v]) {
        const m = putVarI(buf, 0, s);
        assert.equal(m, varISize(s));
        assert.equal(getVarI(buf, { pos: 0, end: m }), s);
      }
    }
  }
  assert.equal(putVarU(buf, 0, 2 ** 53 - 1), 8);
  assert.equal(getVarU(Uint8Array.of(0x80, 0x00), { pos: 0, end: 2 }), -1, "overlong");
  assert.equal(getVarU(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x10), { pos: 0, end: 8 }), -1, "2^53");
  assert.equal(getVarU(new Uint8Array(9).fill(0x80), { pos: 0, end: 9 }), -1, "too long");
  assert.ok(Number.isNaN(getVarI(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x1f), { pos: 0, end: 8 })));
  assert.ok(Number.isNaN(getVarI(Uint8Array.of(0x81, 0x00), { pos: 0, end: 2 })), "overlong zigzag");
  // cost[mode * SLOTS + slot]: the bytes each mode would have taken over a block; the least wins, ties the lower mode.
  const cost = new Float64Array(3 * SLOTS), modes = new Uint8Array(SLOTS);
  const tcpInSo = KIND.tcpIn * FIELDS_MAX, tcpInSeq = tcpInSo + 1, tcpInAck = tcpInSo + 2, tcpInLen = tcpInSo + 3;
  const pktTcpPkt = KIND.pktTcp * FIELDS_MAX;
  const set = (slot: number, base: number, delta: number, keyed: number) => {
    cost[slot] = base, cost[SLOTS + slot] = delta, cost[2 * SLOTS + slot] = keyed;
  };
  set(tcpInSeq, 10, 8, 2); // keyed by the socket: the stream's next seq
  set(tcpInAck, 10, 4, 4); // a tie between delta and keyed: delta
  set(tcpInLen, 4, 4, 4); // no gain: base
  set(tcpInSo, 10, 9, 1); // the key field itself is never keyed
  set(pktTcpPkt, 6, 3, 9); // a pkt field takes modes too
  cost[KIND.strDef * FIELDS_MAX] = 5; // a str field has no modes
  cost[SLOTS + KIND.strDef * FIELDS_MAX] = 1;
  assert.equal(chooseModes(cost, modes), 4);
  assert.deepEqual([modes[tcpInSeq], modes[tcpInAck], modes[tcpInLen], modes[tcpInSo], modes[pktTcpPkt]], [
    MODE_KEYED,
    MODE_DELTA,
    MODE_BASE,
    MODE_DELTA,
    MODE_DELTA,
  ]);
  assert.equal(modes[KIND.strDef * FIELDS_MAX], MODE_BASE);
  assert.equal(cost[2 * SLOTS + tcpInSeq], 0, "sums restart for the next block");
});
