/**
 * Full replay's read-ahead worker: opens the trace with its own
 * {@link TraceReader} and walks its blocks in order exactly as the one-thread
 * comparison does (`locate(0)`, then `loadBlock` of each next block), each
 * decoded straight into a shared slot (replay/_read_ring.ts). Damage is
 * published as the TraceError the reader threw, at the block where it threw,
 * and ends the walk; so is the end of the trace.
 *
 * @module
 */
import { type MessagePort, parentPort } from "node:worker_threads";
import { TraceFold } from "./check.ts";
import type { StateSnapshot } from "./state.ts";
import { TraceError, TraceReader } from "./reader.ts";
import { BlockCursor } from "./_blocks.ts";
import {
  CANCEL,
  CONSUMED,
  PUBLISHED,
  ReadRing,
  SLOT_BLOCK,
  SLOT_DAMAGE,
  SLOT_END,
  SLOT_FAILED,
  SLOTS,
  STARTED,
  STATE,
  STATE_BUSY,
  STATE_IDLE,
  TEXT_BYTES,
} from "./_read_ring.ts";

/** One replay's job. */
export interface ReadJob {
  readonly sab: SharedArrayBuffer;
  readonly path: string;
  /** Tests only: fail (as a worker bug would) before publishing this block; -1: never. */
  readonly failAtBlock: number;
  /** Fold each block before publishing it; the result goes to `port` before the end record. */
  readonly fold: boolean;
  /** Tags the fold result. */
  readonly id: number;
  /** Where fold results go (sent with the first job; kept). */
  readonly port?: MessagePort;
}

/** The fold's result, as {@link TraceFold.result} has it but for the header and with the state as a snapshot. */
export interface FoldMessage {
  readonly id: number;
  readonly events: number;
  readonly simNs: number;
  readonly digestsChecked: number;
  readonly mismatch: { event: number; parts: string[] } | null;
  readonly decisions: { seq: number[]; values: number[] };
  readonly violations: { kind: string; event: number; message: string }[];
  readonly endReason: string;
  readonly state: StateSnapshot;
}

const WAIT_SLICE_MS = 1000;
let ring: ReadRing | null = null;
let cursors: BlockCursor[] = [];
let port: MessagePort | null = null;
const encoder = new TextEncoder();

function job(m: ReadJob): void {
  if (m.port !== undefined) port = m.port;
  if (ring === null || ring.sab !== m.sab) {
    ring = new ReadRing(m.sab);
    // One cursor per slot, its columns the slot's (capacity is the format's limit: never reallocated).
    cursors = ring.slots.map((s) => {
      const c = new BlockCursor();
      const d = c.decoded;
      d.kind = s.decoded.kind;
      d.tNs = s.decoded.tNs;
      d.cpu = s.decoded.cpu;
      d.thread = s.decoded.thread;
      d.fields = s.decoded.fields;
      return c;
    });
  }
  const r = ring, ctrl = r.ctrl;
  Atomics.store(ctrl, STATE, STATE_BUSY);
  Atomics.store(ctrl, STARTED, 1);
  Atomics.notify(ctrl, STARTED);
  let reader: TraceReader | null = null;
  let k = 0; // the next slot record to publish
  const publish = (what: number) => {
    r.slots[k % SLOTS].meta[0] = what;
    Atomics.store(ctrl, PUBLISHED, ++k);
    Atomics.notify(ctrl, PUBLISHED);
  };
  try {
    reader = TraceReader.open(m.path);
    const fold = m.fold ? new TraceFold(reader) : null;
    const end = () => {
      if (fold !== null) {
        const c = fold.result();
        const msg: FoldMessage = {
          id: m.id,
          events: c.events,
          simNs: c.simNs,
          digestsChecked: c.digestsChecked,
          mismatch: c.mismatch,
          decisions: { seq: c.decisions.seq as number[], values: c.decisions.values as number[] },
          violations: c.violations,
          endReason: c.endReason,
          state: c.state.snapshot(),
        };
        if (port === null) throw new Error("read-ahead: no port for the fold's result");
        port.postMessage(msg);
      }
      publish(SLOT_END);
    };
    for (let b = -1;; b++) {
      // Wait for the slot to be released (or the replay to stop).
      for (;;) {
        if (Atomics.load(ctrl, CANCEL) !== 0) return;
        const consumed = Atomics.load(ctrl, CONSUMED);
        if (k - consumed < SLOTS) break;
        Atomics.wait(ctrl, CONSUMED, consumed, WAIT_SLICE_MS);
      }
      if (k === m.failAtBlock) throw new Error(`test failure before block ${k}`);
      const slot = r.slots[k % SLOTS], cur = cursors[k % SLOTS];
      try {
        if (b < 0) {
          b = reader.locate(0, cur);
          if (b < 0) return end();
        }
        if (!reader.loadBlock(b, cur)) return end();
        // Folded as the one-thread pass folds it: when the comparison first loads it.
        fold?.block(cur.decoded);
      } catch (err) {
        if (!(err instanceof TraceError)) throw err;
        r.putError({
          code: err.code,
          message: err.message,
          block: err.block,
          offset: err.offset,
          recovered: err.recovered,
        });
        return publish(SLOT_DAMAGE);
      }
      const d = cur.decoded;
      // The columns must still be the slot's: a reallocation would leave the main thread reading stale memory.
      if (d.kind !== slot.decoded.kind || d.fields !== slot.decoded.fields || d.tNs !== slot.decoded.tNs) {
        throw new Error(`read-ahead: block ${b} (${d.count} events) did not decode into its slot`);
      }
      slot.meta[1] = d.count;
      slot.meta[2] = d.block;
      slot.firstIndex[0] = d.firstIndex;
      let at = 0;
      for (const [i, text] of d.texts) {
        const bytes = encoder.encode(text);
        if (at + 8 + bytes.length > TEXT_BYTES) throw new Error("read-ahead: a block's texts exceed the slot");
        slot.textView.setUint32(at, i, true);
        slot.textView.setUint32(at + 4, bytes.length, true);
        slot.text.set(bytes, at + 8);
        at += 8 + bytes.length;
      }
      slot.meta[3] = at;
      publish(SLOT_BLOCK);
    }
  } catch (err) {
    r.putError({ failed: err instanceof Error ? `${err.name}: ${err.message}` : String(err) });
    publish(SLOT_FAILED);
  } finally {
    reader?.close();
    // The replay may reuse the cursors' cached blocks only within one job.
    for (const c of cursors) {
      c.decoded.block = -1;
      c.payloadBlock = -1;
    }
    Atomics.store(ctrl, STATE, STATE_IDLE);
    Atomics.notify(ctrl, STATE);
  }
}

parentPort?.on("message", (m: ReadJob) => job(m));
