/**
 * The threaded trace writer: the simulation thread only copies each event's
 * numbers into a shared ring (recorder/_ring.ts); a worker thread encodes,
 * compresses, checksums and writes the blocks with the ordinary
 * {@link TraceWriter}, so the file holds the same bytes as a one-thread
 * recording. On a 2-core machine that takes the writer's cost off the
 * simulation's wall time.
 *
 * - Short runs never start a worker: the first {@link HAND_OFF_EVENTS}
 *   events are written on the calling thread, as {@link TraceWriter} does;
 *   then the writer hands its state ({@link TraceWriter.handOver}) to a
 *   worker that resumes it. Starting a worker costs tens of milliseconds of
 *   the calling thread, paid once per process: the worker is kept
 *   (unreferenced, so it never holds the process open) for the next
 *   recording, which then hands over after {@link WARM_HAND_OFF_EVENTS}.
 * - Memory stays bounded: at most one ring (about 6 MB) of events is in
 *   flight; the simulation thread waits when the worker lags.
 * - A killed process leaves the header and every whole block the worker
 *   wrote, readable as before; the events still in the ring are lost.
 * - A failure in the worker (a full disk, a refused event when checking is
 *   on) is thrown on the simulation thread at the next chunk hand-off or by
 *   {@link ThreadedTraceWriter.close}, with the same error class, message
 *   and code.
 * - Only regular files use a worker (a FIFO or a device cannot be opened
 *   twice without the reader seeing an end); other targets, and a process
 *   where workers cannot start, encode on the calling thread.
 *
 * @example
 * ```ts
 * import { ThreadedTraceWriter } from "./threaded.ts";
 * const w = ThreadedTraceWriter.create("/tmp/run.lstrace", { tool: "lockstep", scenario: "s", seed: 1, cpus: 1, config: {}, inputs: [] });
 * // machine.addSink(w); machine.run(); then:
 * w.close();
 * console.log(w.events, w.bytesWritten);
 * ```
 * @module
 */
import { Worker } from "node:worker_threads";
import type { EventRecord, EventSink } from "../core/event.ts";
import { STRING_MAX_BYTES, type TraceHeaderInit } from "../format/format.ts";
import { KIND_STR_DEF } from "../format/_layout.ts";
import { FileSink } from "./_sink.ts";
import {
  CHUNK_EVENTS,
  CHUNKS,
  CONSUMED,
  COUNT_AT,
  FINAL_AT,
  PUBLISHED,
  RESULT_BYTES,
  RESULT_EVENTS,
  Ring,
  STARTED,
  STATE,
  STATE_BUSY,
  STATE_DONE,
  STATE_FAILED,
  STRIDE,
  TEXT_UNITS,
} from "./_ring.ts";
import { TraceWriter, type TraceWriterOptions } from "./writer.ts";
import type { SessionMessage } from "./_write_worker.ts";

/** A ring and the worker that consumes it (started when first needed), kept for reuse. */
interface Lane {
  readonly ring: Ring;
  worker: Worker | null;
}

/** Lanes whose writer closed cleanly: the next writer takes one instead of starting a worker. */
const idleLanes: Lane[] = [];

/**
 * Events written on the calling thread before a worker takes over (about
 * 0.1-0.2 s of recording). Starting the first worker of a process blocks the
 * calling thread for 50-250 ms on the 2-core machine (Deno builds the
 * worker's isolate synchronously) and costs about 0.1 s of CPU, and a cold
 * worker encodes slower at first: measured, a 1 M-event recording in a new
 * process was 1.45x slower with the worker taking over after 2^18 events.
 * Below this size a run never starts one.
 */
export const HAND_OFF_EVENTS = 1 << 20;

/**
 * The hand-over point when an idle worker is already running in this process
 * (a later recording): nothing is left to pay for, so it takes over almost
 * at once.
 */
export const WARM_HAND_OFF_EVENTS = 1 << 13;

/** Milliseconds between checks of a failed worker while waiting. */
const WAIT_SLICE_MS = 50;

/** Longest wait for a worker that has not begun its session (it failed to load): then the recording fails. */
const WORKER_START_MAX_MS = 60_000;

/** Options of {@link ThreadedTraceWriter}: the writer's, and when to hand over. */
export interface ThreadedTraceWriterOptions extends TraceWriterOptions {
  /** Events written on the calling thread before a worker takes over (default {@link HAND_OFF_EVENTS}). */
  readonly handOffEvents?: number;
}

/** Whether this process may start writer workers (LOCKSTEP_WRITER_THREADS=0 turns them off). */
function workersAllowed(): boolean {
  try {
    return Deno.env.get("LOCKSTEP_WRITER_THREADS") !== "0";
  } catch {
    return true; // no --allow-env: the default
  }
}

/** See the module documentation. */
export class ThreadedTraceWriter implements EventSink {
  readonly #path: string;
  readonly #header: TraceHeaderInit;
  readonly #opts: TraceWriterOptions;
  /** The writer on this thread, until it hands over (and for good when no worker may start). */
  #local: TraceWriter | null;
  #file: FileSink | null;
  /** Events the local writer takes before the hand-over (never, when no worker may start). */
  #handOffAt: number;
  #localEvents = 0;
  #lane: Lane | null = null;
  #ring: Ring | null = null;
  #ctrl: Int32Array = new Int32Array(0);
  #events: Float64Array = new Float64Array(0);

  /** Position of the next event in #events, the current chunk's start and end. */
  #at = 0;
  #chunkStart = 0;
  #chunkEnd = 0;
  /** Next free text unit of the current chunk, and its end. */
  #textAt = 0;
  #textEnd = 0;
  /** Chunks published, and the events in them (plus the local writer's, at the hand-over). */
  #published = 0;
  #eventsPublished = 0;
  #closed = false;
  /** A failure already thrown to the caller (close then ends quietly). */
  #failed = false;
  #bytesWritten = 0;
  #eventsDone = 0;
  /** When the local writer handed over (a clock for the worker's start only, never for the trace). */
  #handedOffMs = 0;

  private constructor(path: string, header: TraceHeaderInit, opts: ThreadedTraceWriterOptions, file: FileSink) {
    const { handOffEvents, ...writerOpts } = opts;
    const warm = idleLanes.length > 0 && idleLanes[idleLanes.length - 1].worker !== null;
    const at = handOffEvents ?? (warm ? WARM_HAND_OFF_EVENTS : HAND_OFF_EVENTS);
    if (!Number.isSafeInteger(at) || at < 1) {
      throw new RangeError(`trace writer: handOffEvents must be a positive integer, got ${handOffEvents}`);
    }
    this.#path = path;
    this.#header = header;
    this.#opts = writerOpts;
    this.#file = file;
    this.#local = TraceWriter.over(file, header, writerOpts);
    let regular = false;
    try {
      regular = Deno.statSync(path).isFile;
    } catch {
      regular = false;
    }
    this.#handOffAt = regular && workersAllowed() ? at : -1;
  }

  /**
   * Creates (or truncates) the file at `path` and writes the header; checks
   * the options and the header as {@link TraceWriter.create} does.
   *
   * @example
   * ```ts
   * import { ThreadedTraceWriter } from "./threaded.ts";
   * const w = ThreadedTraceWriter.create("/tmp/t.lstrace", { tool: "lockstep", scenario: "s", seed: 7, cpus: 4, config: {}, inputs: [] });
   * w.close();
   * ```
   */
  static create(path: string, header: TraceHeaderInit, opts: ThreadedTraceWriterOptions = {}): ThreadedTraceWriter {
    const file = new FileSink(path);
    try {
      return new ThreadedTraceWriter(path, header, opts, file);
    } catch (err) {
      file.close();
      throw err;
    }
  }

  /** Whether a worker thread took over the writing. */
  get threaded(): boolean {
    return this.#ring !== null;
  }

  /** Events accepted so far. */
  get events(): number {
    if (this.#local !== null) return this.#local.events;
    if (this.#closed && !this.#failed) return this.#eventsDone;
    return this.#eventsPublished + (this.#at - this.#chunkStart) / STRIDE;
  }

  /** Bytes in the file so far (blocks still in the ring or being encoded are not counted). */
  get bytesWritten(): number {
    if (this.#local !== null) return this.#local.bytesWritten;
    if (!this.#closed) return Math.max(this.#bytesWritten, this.#ring!.results[RESULT_BYTES]);
    return this.#bytesWritten;
  }

  /** Encodes the event on this thread (early in a run), or copies it into the ring (the one cost here). */
  onEvent(e: EventRecord): void {
    const local = this.#local;
    if (local !== null) {
      local.onEvent(e);
      if (++this.#localEvents === this.#handOffAt) this.#handOff();
      return;
    }
    if (this.#closed) throw new Error(`trace writer: event ${e.index}: the writer is closed`);
    const ev = this.#events;
    let b = this.#at;
    ev[b] = e.index;
    ev[b + 1] = e.tNs;
    ev[b + 2] = e.cpu;
    ev[b + 3] = e.thread;
    const kind = e.kind;
    ev[b + 4] = kind;
    const fs = e.fields;
    ev[b + 5] = fs[0];
    ev[b + 6] = fs[1];
    ev[b + 7] = fs[2];
    ev[b + 8] = fs[3];
    ev[b + 9] = fs[4];
    ev[b + 10] = fs[5];
    if (kind === KIND_STR_DEF) b = this.#putText(e, b);
    this.#at = b + STRIDE;
    if (this.#at === this.#chunkEnd) this.#publish(false);
  }

  /** Ends the run: same as {@link close}. */
  onEnd(): void {
    this.close();
  }

  /**
   * Hands over the last events and waits until the file is complete (last
   * block, footer, trailer). Throws the worker's failure if it has not been
   * thrown yet. A second call does nothing.
   */
  close(): void {
    if (this.#closed) return;
    const local = this.#local;
    if (local !== null) {
      this.#closed = true;
      local.close();
      return;
    }
    if (this.#failed) {
      this.#closed = true;
      return;
    }
    this.#publish(true);
    this.#closed = true;
    const ctrl = this.#ctrl;
    for (;;) {
      const state = Atomics.load(ctrl, STATE);
      if (state === STATE_DONE) break;
      if (state === STATE_FAILED) this.#fail();
      this.#checkStarted();
      Atomics.wait(ctrl, STATE, state, WAIT_SLICE_MS);
    }
    // DONE is set before the final chunk's CONSUMED: wait for that too, so the lane is idle when reused.
    while (Atomics.load(ctrl, CONSUMED) !== this.#published) {
      Atomics.wait(ctrl, CONSUMED, Atomics.load(ctrl, CONSUMED), WAIT_SLICE_MS);
    }
    this.#bytesWritten = this.#ring!.results[RESULT_BYTES];
    this.#eventsDone = this.#ring!.results[RESULT_EVENTS];
    idleLanes.push(this.#lane!);
  }

  /**
   * The local writer hands its state to a worker, which opens the file again
   * and appends; from here on events go through the ring. Stays local when
   * no worker can start.
   */
  #handOff(): void {
    const lane = idleLanes.pop() ?? { ring: new Ring(), worker: null };
    const worker = lane.worker ?? startWorker();
    if (worker === null) {
      this.#handOffAt = -1;
      return;
    }
    lane.worker = worker;
    const local = this.#local!;
    const state = local.handOver();
    this.#file!.close();
    this.#file = null;
    this.#local = null;
    this.#eventsPublished = state.events;
    this.#bytesWritten = state.bytesWritten;
    const ring = lane.ring;
    ring.reset();
    this.#lane = lane;
    this.#ring = ring;
    this.#ctrl = ring.ctrl;
    this.#events = ring.events;
    this.#startChunk();
    this.#ctrl[STATE] = STATE_BUSY;
    this.#handedOffMs = performance.now();
    const msg: SessionMessage = { sab: ring.sab, path: this.#path, header: this.#header, opts: this.#opts, state };
    worker.postMessage(msg);
  }

  /**
   * A worker that has not begun its session long after the hand-over never
   * will (its module failed to load): fail the recording rather than wait
   * forever (the worker's own error event cannot reach this blocked thread).
   */
  #checkStarted(): void {
    if (Atomics.load(this.#ctrl, STARTED) !== 0) return;
    if (performance.now() - this.#handedOffMs < WORKER_START_MAX_MS) return;
    this.#failed = true;
    this.#closed = true;
    throw new Error(`trace writer: the writer worker did not start within ${WORKER_START_MAX_MS / 1000} s`);
  }

  /** Throws the worker's failure (once); the lane is dropped (its worker is idle again, the ring is not reused). */
  #fail(): never {
    this.#failed = true;
    this.#closed = true;
    throw this.#ring!.takeError();
  }

  /**
   * str-def (rare): its text goes to the chunk's text area; a chunk without
   * room is published first and the event (at `b`) moved to the next one.
   * Returns the event's position.
   */
  #putText(e: EventRecord, b: number): number {
    const text = e.text;
    const n = typeof text === "string" ? text.length : 0;
    if (n > STRING_MAX_BYTES) {
      // Longer than the format allows in any encoding: the writer's own refusal, here.
      throw new RangeError(`trace writer: event ${e.index} (str-def): text of ${n}+ bytes exceeds ${STRING_MAX_BYTES}`);
    }
    if (this.#textAt + 2 + n > this.#textEnd) {
      // Publish the chunk without this event, then put it first in the next chunk.
      const copy = this.#events.slice(b, b + STRIDE);
      this.#publish(false);
      b = this.#at;
      this.#events.set(copy, b);
    }
    const units = this.#ring!.text;
    let p = this.#textAt;
    units[p] = n & 0xffff;
    units[p + 1] = n >>> 16;
    p += 2;
    for (let k = 0; k < n; k++) units[p + k] = text.charCodeAt(k);
    this.#textAt = p + n;
    return b;
  }

  /** Publishes the current chunk (`final`: the last one) and starts the next once its slot is free. */
  #publish(final: boolean): void {
    const ctrl = this.#ctrl;
    const c = this.#published % CHUNKS;
    const count = (this.#at - this.#chunkStart) / STRIDE;
    ctrl[COUNT_AT + c] = count;
    ctrl[FINAL_AT + c] = final ? 1 : 0;
    this.#published++;
    this.#eventsPublished += count;
    Atomics.store(ctrl, PUBLISHED, this.#published);
    Atomics.notify(ctrl, PUBLISHED);
    if (Atomics.load(ctrl, STATE) === STATE_FAILED) this.#fail();
    if (final) return;
    // Back-pressure: the next chunk's slot must be consumed before it is filled again.
    while (this.#published - Atomics.load(ctrl, CONSUMED) >= CHUNKS) {
      const consumed = Atomics.load(ctrl, CONSUMED);
      if (Atomics.load(ctrl, STATE) === STATE_FAILED) this.#fail();
      this.#checkStarted();
      Atomics.wait(ctrl, CONSUMED, consumed, WAIT_SLICE_MS);
    }
    this.#startChunk();
  }

  #startChunk(): void {
    const next = this.#published % CHUNKS;
    this.#chunkStart = next * CHUNK_EVENTS * STRIDE;
    this.#at = this.#chunkStart;
    this.#chunkEnd = this.#chunkStart + CHUNK_EVENTS * STRIDE;
    this.#textAt = next * TEXT_UNITS;
    this.#textEnd = this.#textAt + TEXT_UNITS;
  }
}

/** Starts a writer worker; null when this process cannot. */
function startWorker(): Worker | null {
  try {
    const w = new Worker(new URL("./_write_worker.ts", import.meta.url));
    w.unref();
    return w;
  } catch {
    return null;
  }
}
