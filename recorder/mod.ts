/**
 * The recorder: writes the `.lstrace` trace of a run, to a file or to memory;
 * {@link ThreadedTraceWriter} (what `run --out` uses) encodes a long run's
 * events on a worker thread, with the same bytes.
 * The format itself (layout, encoding, limits) lives in format/, shared with
 * the reader in replay/.
 *
 * @example
 * ```ts
 * import { TraceWriter } from "./mod.ts";
 * const w = TraceWriter.create("runs/demo.lstrace", { tool: "lockstep 0.1.0", scenario: "demo", seed: 1, cpus: 2, config: {}, inputs: [] });
 * // machine.run(w) ... then:
 * w.close();
 * ```
 * @module
 */
export type { EventSink } from "../core/event.ts";
export {
  encodeToBytes,
  traceHeaderBytes,
  TraceWriter,
  type TraceWriterOptions,
  VALIDATE_EVENTS_ENV,
  type WriterState,
} from "./writer.ts";
export { HAND_OFF_EVENTS, ThreadedTraceWriter, type ThreadedTraceWriterOptions } from "./threaded.ts";
export type { ByteSink } from "./_sink.ts";
