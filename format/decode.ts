/**
 * Block payload decoder: turns one block's bytes into columns, validating
 * every event before any of it is handed out. The loop keeps its state in
 * locals, reads 1- and 2-byte varints inline and allocates only for str-def
 * text.
 *
 * @module
 */
import type { EventRecord } from "../core/event.ts";
import { FIELDS_MAX, KIND_ID_MAX, kindDefOrNull } from "../core/schema.ts";
import { CPUS_MAX, getVarI, getVarU, SAFE_MAX, STRING_MAX_BYTES, type VarCursor } from "./format.ts";
import {
  CODE_ADAPT,
  CODE_I,
  CODE_OF_KIND,
  CODE_PKT,
  CODE_U,
  DT_ZERO,
  FIELD_CODE,
  FIELD_COUNT,
  FIELD_LIMIT,
  isKeySlot,
  isModeSlot,
  KEY_FIELD,
  KEY_SHIFT,
  KEY_WAYS,
  KIND_CODE_ESCAPE,
  KIND_CODE_MASK,
  KIND_OF_CODE,
  KIND_STR_DEF,
  MODE_DELTA,
  MODE_KEYED,
  SAME_CONTEXT,
  SLOTS,
  THREAD_WAYS,
} from "./_layout.ts";
import { TraceError } from "./error.ts";
import type { StringTable } from "./strings.ts";

/** Zero bytes kept after a payload so inline varint reads past its end stay in bounds (then fail the end check). */
export const PAYLOAD_PADDING_BYTES = 64;

/**
 * One decoded block, column by column; reused from block to block. Event `i`
 * of the block (index `firstIndex + i`, for i below `count`) has kind
 * `kind[i]`, time `tNs[i]`, cpu `cpu[i]`, thread `thread[i]`, fields
 * `fields[i * FIELDS_MAX + j]` and, for a str-def, text `texts.get(i)`.
 */
export class DecodedBlock {
  /** Events in the block. */
  count = 0;
  /** Index of the first event. */
  firstIndex = 0;
  /** Block number, or -1 when empty. */
  block: number = -1;
  /** Kind id per event. */
  kind: Uint8Array = new Uint8Array(0);
  /** Time per event, ns. */
  tNs: Float64Array = new Float64Array(0);
  /** CPU per event. */
  cpu: Uint16Array = new Uint16Array(0);
  /** Thread per event. */
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
  /**
   * File offset of the payload's first byte when the payload is stored raw
   * (errors then name the exact byte); -1 for a compressed payload, whose
   * errors name `blockOffset`, the block's first byte.
   */
  payloadOffset: number;
  /** File offset of the block header. */
  blockOffset: number;
  /** Index of the block's first event: the events before the block are all that read back. */
  firstIndex: number;
}

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const cursor: VarCursor = { pos: 0, end: 0 };
/** Per-cpu thread last seen in the block (the decoder's copy of the writer's table). */
const cpuLast = new Float64Array(CPUS_MAX);
/** Time of the last event of each thread entry (thread mod THREAD_WAYS) in the block; the block's first time before any. */
const threadT = new Float64Array(THREAD_WAYS);
/** Previous value of each slot in MODE_DELTA (the decoder's copy of the writer's). */
const adaptPrev = new Float64Array(SLOTS);
/** Previous value of each slot in MODE_KEYED per key entry: `(slot << KEY_SHIFT) | (key & (KEY_WAYS - 1))`. */
const keyedPrev = new Float64Array(SLOTS * KEY_WAYS);
/** The slots the block's table puts in MODE_KEYED (their keyedPrev rows are the ones in use), ascending. */
const keyedSlots = new Int32Array(SLOTS);
/** How many of keyedSlots are set. */
const keyedCount = new Int32Array(1);
/** How to read each (kind, field) slot; its mode slots follow the block's field-mode table. */
const OP_RAW = 0,
  OP_LIMIT = 1,
  OP_I = 2,
  OP_STR = 3,
  // The zigzag-delta ops, from OP_DELTA on; from OP_PKT on they also set the block's last pkt value.
  OP_DELTA = 4,
  OP_KEYED = 5,
  OP_PKT = 6,
  OP_PKT_DELTA = 7,
  OP_PKT_KEYED = 8;
/** The op of each slot by its codec alone (MODE_BASE). */
const BASE_OPS = new Uint8Array(SLOTS);
for (let slot = 0; slot < SLOTS; slot++) {
  const code = FIELD_CODE[slot];
  BASE_OPS[slot] = code === CODE_ADAPT
    ? OP_RAW
    : code === CODE_U
    ? OP_LIMIT
    : code === CODE_PKT
    ? OP_PKT
    : code === CODE_I
    ? OP_I
    : OP_STR;
}
/**
 * The block's op per slot: BASE_OPS with the slots its field-mode table
 * lists set to their delta or keyed op, so the field loop makes one table
 * read and one dispatch per value.
 */
const slotOps = new Uint8Array(SLOTS);

/**
 * Position after the last slow varint read, in a typed array rather than a
 * module `let`: module bindings cost a context load and a hole check on every
 * access, which made the decode loop several times slower.
 */
const after = new Int32Array(1);

/** Reads an unsigned varint of 2+ bytes at `p`, leaves the next position in `after[0]`; -1 when invalid. */
function slowU(buf: Uint8Array, p: number, after: Int32Array): number {
  const b1 = buf[p + 1];
  if (b1 < 0x80 && b1 !== 0) {
    after[0] = p + 2;
    return (buf[p] & 0x7f) | (b1 << 7);
  }
  cursor.pos = p;
  const v = getVarU(buf, cursor);
  after[0] = cursor.pos;
  return v;
}

/** Reads a zigzag varint at `p`, leaves the next position in `after[0]`; NaN when invalid. */
function slowI(buf: Uint8Array, p: number, after: Int32Array): number {
  cursor.pos = p;
  const v = getVarI(buf, cursor);
  after[0] = cursor.pos;
  return v;
}

/**
 * Decodes `count` events from `buf[0, len)` (followed by PAYLOAD_PADDING_BYTES
 * zero bytes) into `out`. str-def events define strings in `strings`; str
 * fields must name strings defined by earlier events. Throws a "corrupt"
 * TraceError naming the event on any violation.
 *
 * Varints are read inline for the 1-byte case (most values); the slow
 * readers handle the rest. Reads past `len` land in the zero padding and are
 * caught by the end check after each event.
 *
 * `limit` below `count` decodes only the block's first `limit` events (each
 * checked as in a whole decode, but not the block's end): a seek's fold needs
 * no more of the block it ends in. `from` starts at event `from.event`
 * instead of 0, from the state `end` held after an earlier decode of the
 * same block up to there (a seek snapshot keeps it); the columns before it
 * are then not filled. `end`, when given with `limit` below `count`,
 * receives the state after event `limit - 1`. A block decoded in part is not
 * marked as block `place.block` (`out.block` stays -1), so no cursor takes it
 * for the whole.
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
  limit: number = count,
  from: DecoderState | null = null,
  end: DecoderState | null = null,
): void {
  const first = from === null ? 0 : from.event;
  if (!(limit >= 1 && limit <= count && first >= 0 && first < limit)) {
    throw new RangeError(`decodeBlock: events ${first}..${limit} outside 0..${count}`);
  }
  const whole = limit === count && first === 0;
  out.reserve(count);
  out.count = 0;
  out.block = -1;
  out.firstIndex = firstIndex;
  out.texts.clear();
  cursor.end = len;
  // Module-level tables are read into locals once: see `after`.
  // Imported constants too: each use of an import is a module-cell load with a hole check.
  const kKindCodeMask = KIND_CODE_MASK,
    kKindCodeEscape = KIND_CODE_ESCAPE,
    kKindIdMax = KIND_ID_MAX,
    kDtZero = DT_ZERO,
    kSameContext = SAME_CONTEXT,
    kSafeMax = SAFE_MAX,
    kCpusMax = CPUS_MAX,
    kFieldsMax = FIELDS_MAX,
    kKindStrDef = KIND_STR_DEF,
    kOpRaw = OP_RAW,
    kOpDelta = OP_DELTA,
    kOpLimit = OP_LIMIT,
    kOpPkt = OP_PKT,
    kOpI = OP_I,
    kOpPktDelta = OP_PKT_DELTA,
    kKeyShift = KEY_SHIFT,
    kKeyMask = KEY_WAYS - 1,
    kThreadMask = THREAD_WAYS - 1;
  const last = cpuLast, at = after, kindOfCode = KIND_OF_CODE, codeOfKind = CODE_OF_KIND;
  const fieldCounts = FIELD_COUNT, fieldLimits = FIELD_LIMIT, keyFields = KEY_FIELD;
  last.fill(0);
  const aPrev = adaptPrev, kPrev = keyedPrev, ops = slotOps, tThread = threadT;
  tThread.fill(firstTNs);
  aPrev.fill(0);
  let p = readModeTable(buf, len, ops, place);
  const kinds = out.kind, times = out.tNs, cpus = out.cpu, threads = out.thread, fields = out.fields;
  // Unused fields are 0: one memset per block beats a zeroing loop per event.
  fields.fill(0, first * kFieldsMax, limit * kFieldsMax);
  let t = firstTNs;
  let cpu = 0;
  let thread = 0;
  let pkt = 0;
  let key = 0;
  /** The current thread's entry in tThread (thread mod THREAD_WAYS), kept as an integer. */
  let entry = 0;
  if (from !== null) {
    p = resume(from, len, last, aPrev, kPrev, tThread, ops, place);
    t = from.tNs;
    cpu = from.cpu;
    thread = from.thread;
    pkt = from.pkt;
    key = from.key;
    entry = thread & kThreadMask;
  }
  for (let i = first; i < limit; i++) {
    const start = p;
    if (p >= len) return fail(place, start, i, "the payload ends before the block's event count");
    const lead = buf[p++];
    let tBase = t;
    let kind = kindOfCode[lead & kKindCodeMask];
    if (kind < 0) {
      if ((lead & kKindCodeMask) !== kKindCodeEscape) return fail(place, start, i, `reserved kind code ${lead & 0x3f}`);
      kind = buf[p++];
      if (!(kind <= kKindIdMax && codeOfKind[kind] === kKindCodeEscape)) {
        return fail(place, start, i, `kind id ${kind} is unknown or has a short code`);
      }
    }
    const fieldCount = fieldCounts[kind];
    if (fieldCount < 0) return fail(place, start, i, `unknown kind id ${kind}`);
    if ((lead & kSameContext) === 0) {
      let c = buf[p];
      if (c < 0x80) p++;
      else {
        c = slowU(buf, p, at);
        p = at[0];
        if (c < 0 || c >= 2 * kCpusMax) return fail(place, start, i, "bad cpu");
      }
      const nextCpu = c >>> 1;
      let nextThread: number;
      if (c & 1) {
        nextThread = last[nextCpu];
      } else {
        nextThread = buf[p];
        if (nextThread < 0x80) p++;
        else {
          nextThread = slowU(buf, p, at);
          p = at[0];
          if (nextThread < 0) return fail(place, start, i, "bad thread varint");
        }
        // One encoding per event: the writer uses the short forms whenever they apply.
        if (nextThread === last[nextCpu]) return fail(place, start, i, "non-canonical thread");
        last[nextCpu] = nextThread;
      }
      if (nextCpu === cpu && nextThread === thread) return fail(place, start, i, "non-canonical context");
      // The thread times are kept lazily: the outgoing thread's entry gets its last time (the previous
      // event's) only now, and a run of events of one thread counts from the previous event.
      tThread[entry] = t;
      entry = nextThread & kThreadMask;
      tBase = tThread[entry];
      cpu = nextCpu;
      thread = nextThread;
    }
    if ((lead & kDtZero) === 0) {
      // The time since the last event of the thread's entry (thread mod THREAD_WAYS) in the block, or since
      // the block's first time: a thread's own steps are the model's costs, which repeat.
      let dt = buf[p];
      if (dt < 0x80) p++;
      else if (buf[p + 1] < 0x80 && buf[p + 1] !== 0) {
        // Two bytes (128 ns..16 us): the common case after one byte, read here without a call.
        dt = (dt & 0x7f) | (buf[p + 1] << 7);
        p += 2;
      } else {
        dt = slowU(buf, p, at);
        p = at[0];
        if (dt < 0) return fail(place, start, i, "bad time-delta varint");
      }
      const next = tBase + dt;
      // Later than the previous event (the same time is said by DT_ZERO): also refuses dt 0 and event 0.
      if (!(next > t) || i === 0) return fail(place, start, i, "non-canonical or backward time delta");
      t = next;
      if (t > kSafeMax) return fail(place, start, i, "time above 2^53-1");
    }
    kinds[i] = kind;
    times[i] = t;
    cpus[i] = cpu;
    threads[i] = thread;
    const fb = i * kFieldsMax;
    if (kind === kKindStrDef) {
      p = decodeStrDef(buf, p, len, strings, out, i, place, start);
      continue;
    }
    const base = kind * kFieldsMax;
    const keyField = keyFields[kind];
    for (let j = 0; j < fieldCount; j++) {
      const slot = base + j;
      const op = ops[slot];
      let v = buf[p];
      if (op === kOpRaw) {
        if (v < 0x80) p++;
        else {
          const b1 = buf[p + 1];
          if (b1 < 0x80 && b1 !== 0) {
            v = (v & 0x7f) | (b1 << 7);
            p += 2;
          } else {
            v = slowU(buf, p, at);
            p = at[0];
            if (v < 0) return failField(place, start, i, kind, j);
          }
        }
      } else if (op >= kOpDelta) {
        // A zigzag delta: from the slot's previous value, the block's last pkt value, or the slot's previous
        // value under the key.
        if (v < 0x80) {
          p++;
          v = v & 1 ? -(v >>> 1) - 1 : v >>> 1;
        } else {
          v = slowI(buf, p, at);
          p = at[0];
        }
        if (op === kOpDelta || op === kOpPktDelta) {
          v += aPrev[slot];
          aPrev[slot] = v;
        } else if (op === kOpPkt) {
          v += pkt;
        } else {
          const e = (slot << kKeyShift) | (key & kKeyMask);
          v += kPrev[e];
          kPrev[e] = v;
        }
        if (!(v >= 0 && v <= kSafeMax)) return failField(place, start, i, kind, j);
        if (op >= kOpPkt) pkt = v;
      } else if (op === kOpLimit) {
        if (v < 0x80) p++;
        else {
          v = slowU(buf, p, at);
          p = at[0];
        }
        if (v < 0 || v >= fieldLimits[slot]) return failField(place, start, i, kind, j);
      } else if (op === kOpI) {
        v = slowI(buf, p, at);
        p = at[0];
        if (v !== v) return failField(place, start, i, kind, j);
      } else {
        if (v < 0x80) p++;
        else {
          v = slowU(buf, p, at);
          p = at[0];
        }
        if (v < 0 || !strings.definedBefore(v, firstIndex + i)) {
          return fail(place, start, i, `unknown string id ${v}`);
        }
      }
      fields[fb + j] = v;
      if (j === keyField) key = v;
    }
    if (p > len) return fail(place, start, i, "the event runs past the payload");
  }
  out.count = limit;
  if (limit < count) {
    if (end !== null) saveState(end, limit, p, t, cpu, thread, pkt, key, last, aPrev, kPrev, tThread, firstTNs);
    return;
  }
  if (p !== len) return fail(place, p, count, `${len - p} bytes follow the block's last event`);
  if (whole) out.block = place.block;
}

/**
 * The decoder's state between two events of a block: what decoding on from
 * there needs besides the payload (the field-mode table is read again).
 * Plain numbers, so it can be kept as JSON.
 */
export interface DecoderState {
  /** Position in the block of the next event. */
  event: number;
  /** Payload offset of the next event. */
  pos: number;
  /** Time of the last event decoded, ns. */
  tNs: number;
  /** Its CPU. */
  cpu: number;
  /** Its thread. */
  thread: number;
  /** The last packet id (packet fields are deltas from it). */
  pkt: number;
  /** The block's current key (the value of the last key field decoded; see KEY_FIELD). */
  key: number;
  /** The last thread seen on each CPU: [cpu, thread] pairs of the nonzero ones, by CPU. */
  last: number[];
  /** The previous value of each delta-mode slot: [slot, value] pairs of the nonzero ones, by slot. */
  adapt: number[];
  /** The time of the last event of each thread entry: [entry, time] pairs of those not at the block's first time. */
  threadT: number[];
  /** The previous values of the keyed-mode slots: [slot, entry, value] triples of the nonzero ones, ascending. */
  keyed: number[];
}

/** A new, empty decoder state (to pass as `end`). */
export function newDecoderState(): DecoderState {
  return { event: 0, pos: 0, tNs: 0, cpu: 0, thread: 0, pkt: 0, key: 0, last: [], adapt: [], threadT: [], keyed: [] };
}

function saveState(
  s: DecoderState,
  event: number,
  pos: number,
  tNs: number,
  cpu: number,
  thread: number,
  pkt: number,
  key: number,
  last: Float64Array,
  aPrev: Float64Array,
  kPrev: Float64Array,
  tThread: Float64Array,
  firstTNs: number,
): void {
  s.event = event;
  s.pos = pos;
  s.tNs = tNs;
  s.cpu = cpu;
  s.thread = thread;
  s.pkt = pkt;
  s.key = key;
  s.last = [];
  for (let c = 0; c < last.length; c++) if (last[c] !== 0) s.last.push(c, last[c]);
  s.adapt = [];
  for (let k = 0; k < aPrev.length; k++) if (aPrev[k] !== 0) s.adapt.push(k, aPrev[k]);
  tThread[thread & (THREAD_WAYS - 1)] = tNs; // the lazily kept entry of the current thread
  s.threadT = [];
  for (let e = 0; e < tThread.length; e++) if (tThread[e] !== firstTNs) s.threadT.push(e, tThread[e]);
  s.keyed = [];
  for (let k = 0; k < keyedCount[0]; k++) {
    const slot = keyedSlots[k];
    for (let e = 0; e < KEY_WAYS; e++) {
      const v = kPrev[(slot << KEY_SHIFT) | e];
      if (v !== 0) s.keyed.push(slot, e, v);
    }
  }
}

/**
 * Loads `s` into the decoder's tables (after the block's field-mode table
 * was read into `ops`); returns the payload offset to go on from. A state
 * that cannot belong to this block throws a "corrupt" TraceError.
 */
function resume(
  s: DecoderState,
  len: number,
  last: Float64Array,
  aPrev: Float64Array,
  kPrev: Float64Array,
  tThread: Float64Array,
  ops: Uint8Array,
  place: BlockPlace,
): number {
  const ok = (v: number, max: number) => Number.isSafeInteger(v) && v >= 0 && v <= max;
  let good = ok(s.pos, len - 1) && ok(s.tNs, SAFE_MAX) && ok(s.cpu, CPUS_MAX - 1) && ok(s.thread, SAFE_MAX) &&
    ok(s.pkt, SAFE_MAX) && ok(s.key, SAFE_MAX) && Array.isArray(s.last) && Array.isArray(s.adapt) &&
    Array.isArray(s.keyed) && Array.isArray(s.threadT) && s.last.length % 2 === 0 && s.adapt.length % 2 === 0 &&
    s.keyed.length % 3 === 0 && s.threadT.length % 2 === 0;
  for (let k = 0; good && k < s.threadT.length; k += 2) {
    good = ok(s.threadT[k], THREAD_WAYS - 1) && ok(s.threadT[k + 1], s.tNs);
    if (good) tThread[s.threadT[k]] = s.threadT[k + 1];
  }
  for (let k = 0; good && k < s.last.length; k += 2) {
    good = ok(s.last[k], CPUS_MAX - 1) && ok(s.last[k + 1], SAFE_MAX);
    if (good) last[s.last[k]] = s.last[k + 1];
  }
  for (let k = 0; good && k < s.adapt.length; k += 2) {
    const op = ops[s.adapt[k]];
    good = ok(s.adapt[k], SLOTS - 1) && (op === OP_DELTA || op === OP_PKT_DELTA) && ok(s.adapt[k + 1], SAFE_MAX);
    if (good) aPrev[s.adapt[k]] = s.adapt[k + 1];
  }
  for (let k = 0; good && k < s.keyed.length; k += 3) {
    const op = ops[s.keyed[k]];
    good = ok(s.keyed[k], SLOTS - 1) && (op === OP_KEYED || op === OP_PKT_KEYED) &&
      ok(s.keyed[k + 1], KEY_WAYS - 1) && ok(s.keyed[k + 2], SAFE_MAX);
    if (good) kPrev[(s.keyed[k] << KEY_SHIFT) | s.keyed[k + 1]] = s.keyed[k + 2];
  }
  if (!good) return fail(place, 0, s.event, "the decoder state to resume from does not fit the block");
  return s.pos;
}

/**
 * Reads the field-mode table at the payload's start into `ops` (BASE_OPS,
 * with the delta or keyed op of each listed slot), lists the keyed slots in
 * `keyedSlots` and zeroes their rows of `keyedPrev`; returns the position
 * after the table. The slots must ascend and be mode slots of declared kinds
 * (isModeSlot), each with mode MODE_DELTA or MODE_KEYED.
 */
function readModeTable(buf: Uint8Array, len: number, ops: Uint8Array, place: BlockPlace): number {
  ops.set(BASE_OPS);
  keyedCount[0] = 0;
  cursor.pos = 0;
  cursor.end = len;
  const n = getVarU(buf, cursor);
  if (n < 0 || n > SLOTS) return fail(place, 0, 0, "bad field-mode table count");
  let slot = 0;
  for (let k = 0; k < n; k++) {
    const gap = getVarU(buf, cursor);
    if (gap < 1) return fail(place, cursor.pos, 0, "bad field-mode table entry");
    slot += gap;
    if (!isModeSlot(slot)) return fail(place, cursor.pos, 0, `field-mode table names slot ${slot}, not a mode slot`);
    const mode = getVarU(buf, cursor);
    const pkt = FIELD_CODE[slot] === CODE_PKT;
    if (mode === MODE_DELTA) ops[slot] = pkt ? OP_PKT_DELTA : OP_DELTA;
    else if (mode === MODE_KEYED && !isKeySlot(slot)) {
      ops[slot] = pkt ? OP_PKT_KEYED : OP_KEYED;
      keyedSlots[keyedCount[0]++] = slot;
      keyedPrev.fill(0, slot << KEY_SHIFT, (slot + 1) << KEY_SHIFT);
    } else return fail(place, cursor.pos, 0, `field-mode table gives slot ${slot} mode ${mode}`);
  }
  return cursor.pos;
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
  cursor.pos = p;
  const id = getVarU(buf, cursor);
  const bytes = getVarU(buf, cursor);
  p = cursor.pos;
  if (id < 0) return fail(place, start, i, "bad string id varint");
  if (bytes < 0 || bytes > STRING_MAX_BYTES || p + bytes > len) {
    return fail(place, start, i, `string length ${bytes} exceeds the payload or ${STRING_MAX_BYTES}`);
  }
  const text = decodeText(buf, p, bytes);
  if (text === undefined) return fail(place, start, i, "string text is not valid UTF-8");
  const result = strings.define(id, text, index, bytes);
  if (result === "conflict") return fail(place, start, i, `string id ${id} is defined twice`);
  if (result === "full") return fail(place, start, i, "too many strings");
  out.texts.set(i, text);
  out.fields[i * FIELDS_MAX] = id;
  return p + bytes;
}

/** UTF-8 text of `buf[p, p + n)`; undefined when invalid. Short ASCII skips the (costly) TextDecoder call. */
export function decodeText(buf: Uint8Array, p: number, n: number): string | undefined {
  if (n <= 64) {
    let s = "";
    let k = 0;
    for (; k < n; k++) {
      const b = buf[p + k];
      if (b >= 0x80) break;
      s += String.fromCharCode(b);
    }
    if (k === n) return s;
  }
  try {
    return utf8.decode(buf.subarray(p, p + n));
  } catch {
    return undefined;
  }
}

function fail(place: BlockPlace, at: number, i: number, why: string): never {
  throw new TraceError("corrupt", `event ${place.firstIndex + i}: ${why}`, {
    block: place.block,
    offset: place.payloadOffset >= 0 ? place.payloadOffset + at : place.blockOffset,
    recovered: place.firstIndex,
  });
}

function failField(place: BlockPlace, at: number, i: number, kind: number, j: number): never {
  const def = kindDefOrNull(kind);
  fail(place, at, i, `${def?.name ?? kind} field ${def?.fields[j]?.name ?? j} is invalid`);
}
