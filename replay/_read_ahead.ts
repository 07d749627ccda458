/**
 * Full replay's block feed on the main thread: the read-ahead worker
 * (replay/_read_worker.ts) reads, checks, decompresses and decodes up to
 * {@link SLOTS}` - 1` blocks ahead while this thread re-executes, compares
 * and folds. Blocks come in the order and with the damage the one-thread
 * reader would give: {@link ReadAhead.next} returns each block, null at the
 * end, and throws the same TraceError (code, message, place) at the block
 * where the reader threw it.
 *
 * - Short traces (below {@link READ_AHEAD_MIN_BYTES}, or
 *   {@link READ_AHEAD_COLD_MIN_BYTES} before the process's first worker) and processes with
 *   `LOCKSTEP_REPLAY_THREADS=0` (or where a worker cannot start) read on
 *   one thread: {@link ReadAhead.start} returns null. `LOCKSTEP_REPLAY_THREADS=1`
 *   reads ahead whatever the size.
 * - One worker and ring per process, kept (unreferenced) for the next replay.
 * - A failure of the worker itself (not damage) throws one Error naming it.
 *
 * @module
 */
import { MessageChannel, type MessagePort, receiveMessageOnPort, Worker } from "node:worker_threads";
import { TraceError, type TraceErrorCode } from "../format/error.ts";
import type { DecodedBlock } from "../format/decode.ts";
import {
  CANCEL,
  CONSUMED,
  PUBLISHED,
  ReadRing,
  SLOT_BLOCK,
  SLOT_DAMAGE,
  SLOT_END,
  SLOTS,
  STARTED,
  STATE,
  STATE_IDLE,
} from "./_read_ring.ts";
import type { FoldMessage, ReadJob } from "./_read_worker.ts";
import type { CheckResult } from "./check.ts";
import { RebuiltState } from "./state.ts";
import type { TraceHeader } from "../format/format.ts";

/**
 * With a worker already started in this process, traces smaller than this
 * replay on one thread. Measured in process on mutex-storm (paired, 8
 * rounds): 650 KB (460 K events) replays in 0.66x the one-thread time,
 * 330 KB (230 K events) gains nothing clear (0.84-1.5x).
 */
export const READ_AHEAD_MIN_BYTES: number = 512 * 1024;
/**
 * A process's first replay of a trace smaller than this does not start the
 * worker. Starting one blocks this thread about 0.1 s (`new Worker` builds
 * its isolate synchronously) and costs 0.15-0.2 s of CPU in all: measured
 * whole process (`replay FILE`, 5 pairs), a 1.6 MB trace (1.15 M events)
 * was 1.13x slower with it, a 5.8 MB one (4.1 M events) 0.92x. A process
 * that replays a second trace of {@link READ_AHEAD_MIN_BYTES} or more
 * (tests, the bench, a server) starts it then: it pays for itself from
 * there on.
 */
export const READ_AHEAD_COLD_MIN_BYTES: number = 4 * 1024 * 1024;
const WAIT_SLICE_MS = 1000;
const WORKER_START_MAX_MS = 60_000;

let lane: { ring: ReadRing; worker: Worker; port: MessagePort } | null = null;
let laneBusy = false;
let jobs = 0;
/** Replays of READ_AHEAD_MIN_BYTES or more in this process before a worker started. */
let coldSkipped = 0;

/**
 * LOCKSTEP_REPLAY_THREADS: "0" never reads ahead on a worker, "1" always
 * does (whatever the trace's size: for tests), anything else by size.
 */
function envSetting(): string | undefined {
  try {
    return Deno.env.get("LOCKSTEP_REPLAY_THREADS");
  } catch {
    return undefined; // no --allow-env: the default
  }
}

/** Options of {@link ReadAhead.start}. */
export interface ReadAheadOptions {
  /** true: always (when a worker can start); false: never; undefined: by size and environment. */
  readonly force?: boolean;
  /** Tests only: the worker fails before this block. */
  readonly failAtBlock?: number;
}

/** Options the replay sets. */
interface StartOptions extends ReadAheadOptions {
  /** The worker folds each block too; {@link ReadAhead.foldResult} has the result after the end. */
  readonly fold?: boolean;
}

/** See the module documentation. */
export class ReadAhead {
  readonly #ring: ReadRing;
  readonly #port: MessagePort;
  readonly #id: number;
  /** Whether the worker folds. */
  readonly folds: boolean;
  #result: FoldMessage | null = null;
  /** The next record to take. */
  #k = 0;
  #done = false;
  #closed = false;

  private constructor(ring: ReadRing, port: MessagePort, id: number, folds: boolean) {
    this.#ring = ring;
    this.#port = port;
    this.#id = id;
    this.folds = folds;
  }

  /** Starts reading `path` ahead, or returns null when this replay reads on one thread. */
  static start(path: string, opts: StartOptions = {}): ReadAhead | null {
    if (opts.force === false || laneBusy) return null;
    const env = envSetting();
    if (opts.force === undefined && env === "0") return null;
    if (opts.force !== true && env !== "1") {
      let size = 0;
      try {
        size = Deno.statSync(path).size;
      } catch {
        return null; // the reader reports it
      }
      if (size < READ_AHEAD_MIN_BYTES) return null;
      if (lane === null && size < READ_AHEAD_COLD_MIN_BYTES && coldSkipped++ === 0) return null;
    }
    let fresh: MessagePort | null = null;
    if (lane === null) {
      fresh = startLane();
      if (fresh === null) return null;
    }
    if (lane === null) return null;
    const ring = lane.ring, ctrl = ring.ctrl;
    ctrl.fill(0);
    laneBusy = true;
    const id = ++jobs, fold = opts.fold === true;
    const job: ReadJob = { sab: ring.sab, path, failAtBlock: opts.failAtBlock ?? -1, fold, id };
    if (fresh === null && pendingPort !== null) {
      fresh = pendingPort;
      pendingPort = null;
    }
    if (fresh !== null) lane.worker.postMessage({ ...job, port: fresh }, [fresh]);
    else lane.worker.postMessage(job);
    return new ReadAhead(ring, lane.port, id, fold);
  }

  /** The next block in order; null at the end of the trace. Throws the reader's TraceError at damage. */
  next(): DecodedBlock | null {
    if (this.#done) return null;
    const ctrl = this.#ring.ctrl, k = this.#k;
    // Release the block handed out last: the worker may read into its slot.
    if (k > 0) {
      Atomics.store(ctrl, CONSUMED, k);
      Atomics.notify(ctrl, CONSUMED);
    }
    let waitedMs = 0;
    for (;;) {
      const published = Atomics.load(ctrl, PUBLISHED);
      if (published > k) break;
      if (Atomics.load(ctrl, STARTED) === 0 && waitedMs >= WORKER_START_MAX_MS) {
        this.#done = true;
        throw new Error(`replay: the read-ahead worker did not start within ${WORKER_START_MAX_MS} ms`);
      }
      if (Atomics.wait(ctrl, PUBLISHED, published, WAIT_SLICE_MS) === "timed-out") waitedMs += WAIT_SLICE_MS;
    }
    const slot = this.#ring.slots[k % SLOTS];
    this.#k = k + 1;
    const what = slot.meta[0];
    if (what === SLOT_BLOCK) {
      const d = slot.decoded;
      d.count = slot.meta[1];
      d.block = slot.meta[2];
      d.firstIndex = slot.firstIndex[0];
      d.texts.clear();
      const n = slot.meta[3];
      if (n > 0) readTexts(slot.text, slot.textView, n, d.texts);
      return d;
    }
    this.#done = true;
    if (what === SLOT_END) {
      if (this.folds) this.#result = this.#receive();
      return null;
    }
    const e = this.#ring.getError();
    if (what === SLOT_DAMAGE) {
      const err = new TraceError(e.code as TraceErrorCode, "", {
        block: e.block as number | undefined,
        offset: e.offset as number | undefined,
        recovered: e.recovered as number | undefined,
      });
      err.message = e.message as string; // the reader's own message, word for word
      throw err;
    }
    throw new Error(`replay: the read-ahead worker failed: ${e.failed}`);
  }

  /** The worker's fold result, posted before the end record (so at most a moment behind it). */
  #receive(): FoldMessage {
    const nap = new Int32Array(new SharedArrayBuffer(4));
    for (let waitedMs = 0; waitedMs < WORKER_START_MAX_MS; waitedMs++) {
      const got = receiveMessageOnPort(this.#port);
      if (got !== undefined) {
        const m = got.message as FoldMessage;
        if (m.id === this.#id) return m;
        continue; // a result of an earlier replay that stopped early
      }
      Atomics.wait(nap, 0, 0, 1);
    }
    throw new Error("replay: the read-ahead worker's fold result did not arrive");
  }

  /** The fold of the whole trace, once {@link next} returned null; as {@link TraceFold.result}. */
  foldResult(header: TraceHeader): CheckResult {
    const m = this.#result;
    if (m === null) throw new Error("read-ahead: the fold result is asked before the end of the trace");
    return {
      header,
      events: m.events,
      simNs: m.simNs,
      digestsChecked: m.digestsChecked,
      mismatch: m.mismatch,
      decisions: m.decisions,
      violations: m.violations,
      endReason: m.endReason,
      state: RebuiltState.fromSnapshot(m.state),
    };
  }

  /** Stops the worker (if still reading) and frees the lane for the next replay. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const ctrl = this.#ring.ctrl;
    Atomics.store(ctrl, CANCEL, 1);
    Atomics.notify(ctrl, CONSUMED);
    let waitedMs = 0;
    // Wait for the worker to leave the job, so the ring is free; a worker that never started is dropped.
    while (Atomics.load(ctrl, STARTED) === 0 || Atomics.load(ctrl, STATE) !== STATE_IDLE) {
      if (Atomics.load(ctrl, STARTED) === 0 && waitedMs >= WORKER_START_MAX_MS) {
        lane?.worker.terminate();
        lane = null;
        break;
      }
      if (Atomics.wait(ctrl, STATE, Atomics.load(ctrl, STATE), 100) === "timed-out") waitedMs += 100;
    }
    laneBusy = false;
  }
}

/** Starts the process's worker; returns the port it is to be sent, null when a worker cannot start. */
function startLane(): MessagePort | null {
  try {
    const worker = new Worker(new URL("./_read_worker.ts", import.meta.url));
    worker.unref();
    const { port1, port2 } = new MessageChannel();
    port1.unref();
    lane = { ring: new ReadRing(), worker, port: port1 };
    return port2;
  } catch {
    return null;
  }
}

/** A port made by {@link warmReadAhead}, sent with the first job. */
let pendingPort: MessagePort | null = null;

/**
 * Starts the read-ahead worker now (unless LOCKSTEP_REPLAY_THREADS=0 or one
 * runs already), so a process that will replay several traces pays its
 * start (about 0.1 s of this thread) up front and every replay of
 * {@link READ_AHEAD_MIN_BYTES} or more reads ahead. Returns whether a worker
 * is ready for the next replay.
 */
export function warmReadAhead(): boolean {
  if (lane !== null) return true;
  if (envSetting() === "0") return false;
  pendingPort = startLane();
  return pendingPort !== null;
}

const textDecoder = new TextDecoder();

function readTexts(text: Uint8Array, view: DataView, n: number, into: Map<number, string>): void {
  for (let at = 0; at < n;) {
    const i = view.getUint32(at, true), len = view.getUint32(at + 4, true);
    into.set(i, textDecoder.decode(text.slice(at + 8, at + 8 + len)));
    at += 8 + len;
  }
}
