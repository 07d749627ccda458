/**
 * The threaded writer's worker (see _ring.ts for the protocol): for each
 * session message it opens the trace file, resumes the writer the simulation
 * thread started (TraceWriter.resume) and feeds every published chunk to an ordinary TraceWriter
 * (encode, zstd, checksum, write: the same bytes as on one thread), closes it
 * after the final chunk and reports. Between sessions it waits for the next
 * message, so one worker serves every recording of a process.
 * @module
 */
import { parentPort } from "node:worker_threads";
import { EventRecord } from "../core/event.ts";
import type { TraceHeaderInit } from "../format/format.ts";
import { FileSink } from "./_sink.ts";
import {
  CHUNKS,
  CONSUMED,
  COUNT_AT,
  feedChunk,
  FINAL_AT,
  PUBLISHED,
  RESULT_BYTES,
  RESULT_EVENTS,
  Ring,
  STARTED,
  STATE,
  STATE_DONE,
  STATE_FAILED,
} from "./_ring.ts";
import { TraceWriter, type TraceWriterOptions, type WriterState } from "./writer.ts";

/** What the simulation thread sends to start one recording. */
export interface SessionMessage {
  readonly sab: SharedArrayBuffer;
  readonly path: string;
  readonly header: TraceHeaderInit;
  readonly opts: TraceWriterOptions;
  /** The state of the writer that wrote the start of the file on the simulation thread. */
  readonly state: WriterState;
}

/** One recording: returns when the final chunk is written or the writer failed. */
function session(m: SessionMessage): void {
  const ring = new Ring(m.sab);
  const ctrl = ring.ctrl;
  const rec = new EventRecord();
  let writer: TraceWriter | undefined;
  Atomics.store(ctrl, STARTED, 1);
  try {
    writer = TraceWriter.resume(new FileSink(m.path, true), m.header, m.opts, m.state);
    for (let k = 0;; k++) {
      while (Atomics.load(ctrl, PUBLISHED) === k) Atomics.wait(ctrl, PUBLISHED, k);
      const c = k % CHUNKS;
      feedChunk(ring, c, ctrl[COUNT_AT + c], writer, rec);
      ring.results[RESULT_BYTES] = writer.bytesWritten;
      const final = ctrl[FINAL_AT + c] !== 0;
      if (final) {
        writer.close();
        ring.results[RESULT_BYTES] = writer.bytesWritten;
        ring.results[RESULT_EVENTS] = writer.events;
        Atomics.store(ctrl, STATE, STATE_DONE);
        Atomics.notify(ctrl, STATE);
      }
      Atomics.store(ctrl, CONSUMED, k + 1);
      Atomics.notify(ctrl, CONSUMED);
      if (final) return;
    }
  } catch (err) {
    try {
      writer?.close(); // after a refusal: closes the file without a footer
    } catch {
      // the first error is the one reported
    }
    ring.putError(err);
    Atomics.store(ctrl, STATE, STATE_FAILED);
    Atomics.notify(ctrl, STATE);
    Atomics.notify(ctrl, CONSUMED);
  }
}

parentPort?.on("message", (m: SessionMessage) => session(m));
