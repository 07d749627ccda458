/**
 * The shared memory between full replay's main thread and its read-ahead
 * worker (replay/_read_worker.ts): a control word array, {@link SLOTS}
 * decoded-block slots and an error area. The worker reads, checks,
 * decompresses and decodes block k straight into slot k % SLOTS; the main
 * thread compares (and folds) from the same memory, so nothing is copied but
 * str-def texts.
 *
 * A slot holds a whole decoded block of up to {@link BLOCK_EVENTS_MAX}
 * events (the format's limit), so the ring is about 60 MB of address space;
 * only the pages a block touches become resident (a typical 64 K-event block:
 * about 4.4 MB per slot).
 *
 * @module
 */
import { FIELDS_MAX } from "../core/schema.ts";
import { BLOCK_EVENTS_MAX, BLOCK_PAYLOAD_MAX_BYTES } from "../format/format.ts";
import { DecodedBlock } from "../format/decode.ts";

/** Decoded blocks in flight: the one the main thread holds and two read ahead. */
export const SLOTS = 3;

/** Control words (Int32). */
export const PUBLISHED = 0; // blocks (or the end/error record) the worker has published
export const CONSUMED = 1; // blocks the main thread has released
export const STATE = 2; // STATE_IDLE or STATE_BUSY
export const CANCEL = 3; // set by the main thread: stop reading ahead
export const STARTED = 4; // set by the worker when it takes the job
const CTRL_WORDS = 8;

export const STATE_IDLE = 0;
export const STATE_BUSY = 1;

/** What a published slot holds (its first meta word). */
export const SLOT_BLOCK = 1;
/** The trace ends before this slot. */
export const SLOT_END = 2;
/** Reading this block threw a TraceError (serialized in the error area). */
export const SLOT_DAMAGE = 3;
/** The worker failed otherwise (its message in the error area). */
export const SLOT_FAILED = 4;

/** Meta words per slot (Int32): what, count, block, text bytes. Then firstIndex as Float64. */
const META_WORDS = 4;
/** str-def texts of a block: [position u32, byte length u32, bytes] each; bounded by the raw payload. */
export const TEXT_BYTES: number = BLOCK_PAYLOAD_MAX_BYTES * 9;
const ERROR_BYTES = 64 * 1024;

const align8 = (n: number) => (n + 7) & ~7;
const CAP = BLOCK_EVENTS_MAX;
const SLOT_BYTES = align8(
  META_WORDS * 4 + 8 + CAP * 8 * (2 + FIELDS_MAX) + CAP * 2 + CAP + TEXT_BYTES,
);

/** Views of one slot. */
export class Slot {
  readonly meta: Int32Array;
  readonly firstIndex: Float64Array;
  readonly text: Uint8Array;
  readonly textView: DataView;
  /** The slot's columns as a DecodedBlock (capacity {@link BLOCK_EVENTS_MAX}: decoding never reallocates). */
  readonly decoded: DecodedBlock = new DecodedBlock();

  constructor(sab: SharedArrayBuffer, at: number) {
    this.meta = new Int32Array(sab, at, META_WORDS);
    at += META_WORDS * 4;
    this.firstIndex = new Float64Array(sab, at, 1);
    at += 8;
    const d = this.decoded;
    d.tNs = new Float64Array(sab, at, CAP);
    at += CAP * 8;
    d.thread = new Float64Array(sab, at, CAP);
    at += CAP * 8;
    d.fields = new Float64Array(sab, at, CAP * FIELDS_MAX);
    at += CAP * 8 * FIELDS_MAX;
    d.cpu = new Uint16Array(sab, at, CAP);
    at += CAP * 2;
    d.kind = new Uint8Array(sab, at, CAP);
    at += CAP;
    this.text = new Uint8Array(sab, at, TEXT_BYTES);
    this.textView = new DataView(sab, at, TEXT_BYTES);
  }
}

/** The whole shared area, seen from either thread. */
export class ReadRing {
  readonly sab: SharedArrayBuffer;
  readonly ctrl: Int32Array;
  readonly slots: Slot[] = [];
  /** Error area: [byte length u32, UTF-8 JSON]. */
  readonly error: Uint8Array;

  constructor(sab?: SharedArrayBuffer) {
    this.sab = sab ?? new SharedArrayBuffer(CTRL_WORDS * 4 + ERROR_BYTES + SLOTS * SLOT_BYTES);
    this.ctrl = new Int32Array(this.sab, 0, CTRL_WORDS);
    this.error = new Uint8Array(this.sab, CTRL_WORDS * 4, ERROR_BYTES);
    for (let s = 0; s < SLOTS; s++) this.slots.push(new Slot(this.sab, CTRL_WORDS * 4 + ERROR_BYTES + s * SLOT_BYTES));
  }

  /** Writes an error record (JSON, cut to the area). */
  putError(value: unknown): void {
    let bytes = new TextEncoder().encode(JSON.stringify(value));
    if (bytes.length > ERROR_BYTES - 4) {
      bytes = new TextEncoder().encode(JSON.stringify({ failed: "the worker's error did not fit its area" }));
    }
    new DataView(this.sab, CTRL_WORDS * 4, 4).setUint32(0, bytes.length, true);
    this.error.set(bytes, 4);
  }

  /** Reads the error record. */
  getError(): Record<string, unknown> {
    const n = new DataView(this.sab, CTRL_WORDS * 4, 4).getUint32(0, true);
    return JSON.parse(new TextDecoder().decode(this.error.slice(4, 4 + n)));
  }
}
