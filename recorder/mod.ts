/**
 * The recorder: writes the `.lstrace` trace of a run and exports it as
 * NDJSON. The format is specified in docs/trace-format.md; the reader lives
 * in replay/reader.ts.
 *
 * - {@link TraceWriter}: the {@link EventSink} that writes a trace file (or memory).
 * - {@link exportNdjson}: streams a trace as one JSON object per line.
 * - format constants, the {@link TraceHeader} type, CRC-32C and varints.
 *
 * @example
 * ```ts
 * import { exportNdjson, TraceWriter } from "./mod.ts";
 * const w = TraceWriter.create("runs/demo.lstrace", { tool: "lockstep 0.1.0", scenario: "demo", seed: 1, cpus: 2, config: {}, inputs: [] });
 * // machine.run(w) ... then:
 * w.close();
 * exportNdjson("runs/demo.lstrace", "runs/demo.ndjson");
 * ```
 * @module
 */
export type { EventSink } from "../core/event.ts";
export {
  BLOCK_PAYLOAD_DEFAULT_BYTES,
  BLOCK_PAYLOAD_MAX_BYTES,
  BLOCK_PAYLOAD_MIN_BYTES,
  BLOCKS_MAX,
  canonicalJson,
  CHECKPOINTS_INDEX_MAX,
  type ConfigValue,
  CPUS_MAX,
  crc32c,
  FORMAT_VERSION,
  getVarI,
  getVarU,
  HEADER_BYTES_MAX,
  headerProblem,
  type JsonValue,
  LAYOUT_KEY,
  layoutConflicts,
  MAGIC,
  putVarI,
  putVarU,
  schemaLayout,
  STRING_MAX_BYTES,
  STRING_TABLE_MAX_BYTES,
  STRINGS_MAX,
  type TraceHeader,
  type TraceHeaderInit,
  type VarCursor,
} from "./format.ts";
export { encodeToBytes, TraceWriter, type TraceWriterOptions } from "./writer.ts";
export {
  eventToJson,
  eventToNdjson,
  exportNdjson,
  type ExportNdjsonOptions,
  type ExportNdjsonResult,
  type StringLookup,
} from "./ndjson.ts";
