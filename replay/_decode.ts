/**
 * Block payload decoder: turns one block's bytes into columns, validating
 * every event before any of it is handed out. The loop keeps its state in
 * locals, reads 1- and 2-byte varints inline and allocates only for str-def
 * text.
 *
 * @module
 */
import type { EventRecord } from "../core/event.ts";
import { FIELDS_MAX, kindDefOrNull } from "../core/schema.ts";
import { CPUS_MAX, getVarI, getVarU, SAFE_MAX, STRING_MAX_BYTES, type VarCursor } from "../recorder/format.ts";
import {
  CODE_I,
  CODE_PKT,
  CODE_U,
  FIELD_CODE,
  FIELD_COUNT,
  FIELD_LIMIT,
  KIND_STR_DEF,
} from "../recorder/_kinds.ts";
import { TraceError } from "./_error.ts";
import type { StringTable } from "./_strings.ts";

/** Zero bytes kept after a payload so inline varint reads past its end stay in bounds (then fail the end check). */
export const PAYLOAD_PADDING_BYTES = 64;

/** One decoded block, column by column; reused from block to block. */
export class DecodedBlock {
  /** Events in the block. */
  count = 0;
  /** Index of the first event. */
  firstIndex = 0;
  /** Block number, or -1 when empty. */
  block = -1;
  kind: Uint8Array = new Uint8Array(0);
  tNs: Float64Array = new Float64Array(0);
  cpu: Uint16Array = new Uint16Array(0);
  thread: Float64Array = new Float64Array(0);
  /** FIELDS_MAX values per event. */
  fields: Float64Array = new Float64Array(0);
  /** str-def texts by position in the block. */
  readonly texts: Map<number, string> = new Map();

  /** Makes room for `n` events (n is bounded by the checked payload length). */
  reserve(n: number): void {
    if (this.kind.length >= n) return;
    let cap = Math.max(1024, this.kind.length);
    while (cap < n) cap *= 2;
    this.kind = new Uint8Array(cap);
    this.tNs = new Float64Array(cap);
    this.cpu = new Uint16Array(cap);
    this.thread = new Float64Array(cap);
    this.fields = new Float64Array(cap * FIELDS_MAX);
  }

  /** Copies event `i` of the block into `rec`. */
  fill(i: number, rec: EventRecord): void {
    rec.index = this.firstIndex + i;
    rec.tNs = this.tNs[i];
    rec.cpu = this.cpu[i];
    rec.thread = this.thread[i];
    const kind = this.kind[i];
    rec.kind = kind;
    const f = this.fields;
    const at = i * FIELDS_MAX;
    const out = rec.fields;
    out[0] = f[at];
    out[1] = f[at + 1];
    out[2] = f[at + 2];
    out[3] = f[at + 3];
    out[4] = f[at + 4];
    out[5] = f[at + 5];
    rec.text = kind === KIND_STR_DEF ? this.texts.get(i)! : "";
  }
}

/** Where the block sits, for error messages. */
export interface BlockPlace {
  block: number;
  /** File offset of the payload's first byte. */
  payloadOffset: number;
  /** Index of the block's first event: the events before the block are all that read back. */
  firstIndex: number;
}

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const cursor: VarCursor = { pos: 0, end: 0 };
/** Per-cpu thread last seen in the block (the decoder's copy of the writer's table). */
const cpuLast = new Float64Array(CPUS_MAX);

/** Position after the last inline varint read. */
let at = 0;

/** Reads an unsigned varint at `p`, leaves the next position in `at`; -1 when invalid. */
function readU(buf: Uint8Array, p: number): number {
  const b0 = buf[p];
  if (b0 < 0x80) {
    at = p + 1;
    return b0;
  }
  const b1 = buf[p + 1];
  if (b1 < 0x80 && b1 !== 0) {
    at = p + 2;
    return (b0 & 0x7f) | (b1 << 7);
  }
  cursor.pos = p;
  const v = getVarU(buf, cursor);
  at = cursor.pos;
  return v;
}

/** Reads a zigzag varint at `p`, leaves the next position in `at`; NaN when invalid. */
function readI(buf: Uint8Array, p: number): number {
  const b0 = buf[p];
  if (b0 < 0x80) {
    at = p + 1;
    return b0 & 1 ? -(b0 >>> 1) - 1 : b0 >>> 1;
  }
  cursor.pos = p;
  const v = getVarI(buf, cursor);
  at = cursor.pos;
  return v;
}

/**
 * Decodes `count` events from `buf[0, len)` (followed by PAYLOAD_PADDING_BYTES
 * zero bytes) into `out`. str-def events define strings in `strings`; str
 * fields must name strings defined by earlier events. Throws a "corrupt"
 * TraceError naming the event on any violation.
 */
export function decodeBlock(
  buf: Uint8Array,
  len: number,
  count: number,
  firstIndex: number,
  firstTNs: number,
  strings: StringTable,
  out: DecodedBlock,
  place: BlockPlace,
): void {
  out.reserve(count);
  out.count = 0;
  out.block = -1;
  out.firstIndex = firstIndex;
  out.texts.clear();
  cursor.end = len;
  const kinds = out.kind, times = out.tNs, cpus = out.cpu, threads = out.thread, fields = out.fields;
  let p = 0;
  let t = firstTNs;
  let cpu = 0;
  let thread = 0;
  let pkt = 0;
  let cpuHi = -1;
  let i = 0;
  try {
    for (; i < count; i++) {
      const start = p;
      if (p >= len) return fail(place, start, firstIndex + i, "the payload ends before the block's event count");
      const lead = buf[p];
      const kind = lead & 0x7f;
      const fieldCount = FIELD_COUNT[kind];
      if (fieldCount < 0) return fail(place, start, firstIndex + i, `unknown kind id ${kind}`);
      const dt = readU(buf, p + 1);
      p = at;
      if (dt < 0) return fail(place, start, firstIndex + i, "bad time-delta varint");
      if (i === 0 && dt !== 0) return fail(place, start, firstIndex + i, "the first event's time differs from the block's");
      t += dt;
      if (t > SAFE_MAX) return fail(place, start, firstIndex + i, "time above 2^53-1");
      if ((lead & 0x80) === 0) {
        const c = readU(buf, p);
        p = at;
        if (c < 0 || c >= 2 * CPUS_MAX) return fail(place, start, firstIndex + i, "bad cpu");
        const nextCpu = c >>> 1;
        let nextThread: number;
        if (c & 1) {
          nextThread = cpuLast[nextCpu];
        } else {
          nextThread = readU(buf, p);
          p = at;
          if (nextThread < 0) return fail(place, start, firstIndex + i, "bad thread varint");
          // One encoding per event: the writer uses the short forms whenever they apply.
          if (nextThread === cpuLast[nextCpu]) return fail(place, start, firstIndex + i, "non-canonical thread");
          cpuLast[nextCpu] = nextThread;
        }
        if (nextCpu === cpu && nextThread === thread) return fail(place, start, firstIndex + i, "non-canonical context");
        if (nextCpu > cpuHi) cpuHi = nextCpu;
        cpu = nextCpu;
        thread = nextThread;
      }
      kinds[i] = kind;
      times[i] = t;
      cpus[i] = cpu;
      threads[i] = thread;
      const fb = i * FIELDS_MAX;
      if (kind === KIND_STR_DEF) {
        p = decodeStrDef(buf, p, len, strings, out, i, place, start);
        continue;
      }
      const base = kind * FIELDS_MAX;
      let j = 0;
      for (; j < fieldCount; j++) {
        const code = FIELD_CODE[base + j];
        let v: number;
        if (code === CODE_U) {
          v = readU(buf, p);
          if (v < 0 || v >= FIELD_LIMIT[base + j]) return failField(place, start, firstIndex + i, kind, j);
        } else if (code === CODE_I) {
          v = readI(buf, p);
          if (v !== v) return failField(place, start, firstIndex + i, kind, j);
        } else if (code === CODE_PKT) {
          const d = readI(buf, p);
          v = pkt + d;
          if (!(v >= 0 && v <= SAFE_MAX)) return failField(place, start, firstIndex + i, kind, j);
          pkt = v;
        } else {
          v = readU(buf, p);
          if (v < 0 || !strings.definedBefore(v, firstIndex + i)) {
            return fail(place, start, firstIndex + i, `unknown string id ${v}`);
          }
        }
        p = at;
        fields[fb + j] = v;
      }
      for (; j < FIELDS_MAX; j++) fields[fb + j] = 0;
      if (p > len) return fail(place, start, firstIndex + i, "the event runs past the payload");
    }
    if (p !== len) return fail(place, p, firstIndex + count, `${len - p} bytes follow the block's last event`);
    out.count = count;
    out.block = place.block;
  } finally {
    cpuLast.fill(0, 0, cpuHi + 1);
  }
}

/** Decodes a str-def's id and text after its context; returns the position after it. */
function decodeStrDef(
  buf: Uint8Array,
  p: number,
  len: number,
  strings: StringTable,
  out: DecodedBlock,
  i: number,
  place: BlockPlace,
  start: number,
): number {
  const index = out.firstIndex + i;
  const id = readU(buf, p);
  p = at;
  const bytes = readU(buf, p);
  p = at;
  if (id < 0) return fail(place, start, index, "bad string id varint");
  if (bytes < 0 || bytes > STRING_MAX_BYTES || p + bytes > len) {
    return fail(place, start, index, `string length ${bytes} exceeds the payload or ${STRING_MAX_BYTES}`);
  }
  let text: string;
  try {
    text = utf8.decode(buf.subarray(p, p + bytes));
  } catch {
    return fail(place, start, index, "string text is not valid UTF-8");
  }
  const result = strings.define(id, text, index, bytes);
  if (result === "conflict") return fail(place, start, index, `string id ${id} is defined twice`);
  if (result === "full") return fail(place, start, index, "too many strings");
  out.texts.set(i, text);
  const fb = i * FIELDS_MAX;
  out.fields[fb] = id;
  for (let j = 1; j < FIELDS_MAX; j++) out.fields[fb + j] = 0;
  return p + bytes;
}

function fail(place: BlockPlace, at: number, index: number, why: string): never {
  throw new TraceError("corrupt", `event ${index}: ${why}`, {
    block: place.block,
    offset: place.payloadOffset + at,
    recovered: place.firstIndex,
  });
}

function failField(place: BlockPlace, at: number, index: number, kind: number, j: number): never {
  const def = kindDefOrNull(kind);
  fail(place, at, index, `${def?.name ?? kind} field ${def?.fields[j]?.name ?? j} is invalid`);
}

