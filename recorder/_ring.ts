/**
 * The ring of event chunks the threaded writer (threaded.ts) shares with its
 * worker (_write_worker.ts): one SharedArrayBuffer holding a control word
 * array, the worker's results and error text, {@link CHUNKS} chunks of
 * {@link CHUNK_EVENTS} events of {@link STRIDE} numbers each, and per chunk a
 * text area for the rare str-def event. The simulation thread copies each
 * event's numbers into the current chunk and publishes whole chunks; the
 * worker feeds them to the ordinary {@link TraceWriter} the simulation thread
 * handed over, so the file is the same bytes as a one-thread recording.
 *
 * Protocol (all control words through Atomics): the producer fills chunk
 * `published % CHUNKS`, stores its event count and final flag, then bumps
 * PUBLISHED and notifies; the consumer feeds chunk `consumed % CHUNKS`, then
 * bumps CONSUMED and notifies. The producer waits while CHUNKS chunks are in
 * flight (back-pressure: memory stays at one ring). After the chunk marked
 * final the consumer closes its writer, stores the results and sets STATE to
 * DONE; on any error it stores the error and sets STATE to FAILED.
 * @module
 */
import type { EventRecord } from "../core/event.ts";
import { KIND_STR_DEF } from "../format/_layout.ts";
import type { TraceWriter } from "./writer.ts";

/** Numbers per event in a chunk: index, time, cpu, thread, kind and the 6 fields. */
export const STRIDE = 11;
/** Events per chunk. */
export const CHUNK_EVENTS = 8192;
/** Chunks in the ring: the most events in flight is CHUNKS * CHUNK_EVENTS. */
export const CHUNKS = 8;
/** UTF-16 code units of str-def text per chunk (each text is 2 length units then its units). */
export const TEXT_UNITS = 16384;

/** Control words (Int32 indices). */
export const PUBLISHED = 0;
export const CONSUMED = 1;
export const STATE = 2;
export const ERROR_BYTES = 3;
/** Set to 1 by the worker when it has begun the session (the producer gives up on a worker that never does). */
export const STARTED = 4;
/** Event count of chunk c at COUNT_AT + c; its final flag at FINAL_AT + c. */
export const COUNT_AT = 16;
export const FINAL_AT = COUNT_AT + CHUNKS;
const CONTROL_WORDS = 64;

/** STATE values. */
export const STATE_BUSY = 1;
export const STATE_DONE = 2;
export const STATE_FAILED = 3;

/** Results (Float64 indices): bytes written and events accepted by the consumer's writer. */
export const RESULT_BYTES = 0;
export const RESULT_EVENTS = 1;
const RESULTS = 4;
/** Most bytes of a failure's JSON ({ name, message, code }). */
export const ERROR_MAX_BYTES = 4096;

const RESULTS_AT = CONTROL_WORDS * 4;
const ERROR_AT = RESULTS_AT + RESULTS * 8;
const EVENTS_AT = ERROR_AT + ERROR_MAX_BYTES;
const TEXT_AT = EVENTS_AT + CHUNKS * CHUNK_EVENTS * STRIDE * 8;
/** Bytes of one ring (about 5.9 MB). */
export const RING_BYTES = TEXT_AT + CHUNKS * TEXT_UNITS * 2;

/** Typed views of one ring's SharedArrayBuffer. */
export class Ring {
  readonly sab: SharedArrayBuffer;
  readonly ctrl: Int32Array;
  readonly results: Float64Array;
  readonly error: Uint8Array;
  /** Every chunk's events; chunk c starts at c * CHUNK_EVENTS * STRIDE. */
  readonly events: Float64Array;
  /** Every chunk's str-def text; chunk c starts at c * TEXT_UNITS. */
  readonly text: Uint16Array;

  constructor(sab: SharedArrayBuffer = new SharedArrayBuffer(RING_BYTES)) {
    if (sab.byteLength !== RING_BYTES) throw new Error(`ring: ${sab.byteLength} bytes, ${RING_BYTES} expected`);
    this.sab = sab;
    this.ctrl = new Int32Array(sab, 0, CONTROL_WORDS);
    this.results = new Float64Array(sab, RESULTS_AT, RESULTS);
    this.error = new Uint8Array(sab, ERROR_AT, ERROR_MAX_BYTES);
    this.events = new Float64Array(sab, EVENTS_AT, CHUNKS * CHUNK_EVENTS * STRIDE);
    this.text = new Uint16Array(sab, TEXT_AT, CHUNKS * TEXT_UNITS);
  }

  /** Clears the control words and results for a new writer. */
  reset(): void {
    this.ctrl.fill(0);
    this.results.fill(0);
  }

  /** Stores a failure for the producer (name, message and OS error code survive the thread hop). */
  putError(err: unknown): void {
    const e = err instanceof Error ? err : new Error(String(err));
    const code = (e as { code?: unknown }).code;
    let bytes = new TextEncoder().encode(JSON.stringify({ name: e.name, message: e.message, code }));
    if (bytes.length > ERROR_MAX_BYTES) {
      bytes = new TextEncoder().encode(JSON.stringify({ name: e.name, message: e.message.slice(0, 1000), code }));
    }
    this.error.set(bytes);
    Atomics.store(this.ctrl, ERROR_BYTES, bytes.length);
  }

  /**
   * The stored failure as an error of the same kind: a Deno.errors class by
   * name (so the CLI still reports a file system error as one line, exit 2),
   * else an Error with the same name, message and code.
   */
  takeError(): Error {
    const n = Atomics.load(this.ctrl, ERROR_BYTES);
    const { name, message, code } = JSON.parse(new TextDecoder().decode(this.error.slice(0, n))) as {
      name: string;
      message: string;
      code?: string;
    };
    const errors = Deno.errors as unknown as Record<string, ErrorConstructor | undefined>;
    const builtins: Record<string, ErrorConstructor> = { RangeError, TypeError };
    const C = errors[name] ?? builtins[name] ?? Error;
    const e = new C(message);
    if (e.name !== name) e.name = name;
    if (code !== undefined) (e as { code?: string }).code = code;
    return e;
  }
}

/**
 * Feeds `count` events of chunk `c` to `writer` through `rec` (the consumer's
 * one reused record).
 */
export function feedChunk(ring: Ring, c: number, count: number, writer: TraceWriter, rec: EventRecord): void {
  const ev = ring.events;
  const fs = rec.fields;
  let b = c * CHUNK_EVENTS * STRIDE;
  let textAt = c * TEXT_UNITS;
  for (let i = 0; i < count; i++, b += STRIDE) {
    rec.index = ev[b];
    rec.tNs = ev[b + 1];
    rec.cpu = ev[b + 2];
    rec.thread = ev[b + 3];
    const kind = ev[b + 4];
    rec.kind = kind;
    fs[0] = ev[b + 5];
    fs[1] = ev[b + 6];
    fs[2] = ev[b + 7];
    fs[3] = ev[b + 8];
    fs[4] = ev[b + 9];
    fs[5] = ev[b + 10];
    if (kind === KIND_STR_DEF) {
      const units = ring.text;
      const n = units[textAt] | (units[textAt + 1] << 16);
      let s = "";
      for (let k = 0; k < n; k++) s += String.fromCharCode(units[textAt + 2 + k]);
      textAt += 2 + n;
      rec.text = s;
      writer.onEvent(rec);
      rec.text = "";
    } else writer.onEvent(rec);
  }
}
