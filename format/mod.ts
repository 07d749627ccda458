/**
 * The `.lstrace` trace format, in one place: constants and limits, the header,
 * CRC-32C, varints, the per-kind field layout derived from the event schema,
 * block decoding, zstd inflation of block payloads into a reused buffer
 * ({@link ZstdInflater}), the typed {@link TraceError}, and the JSON form of an event.
 * The writer (recorder/) and the reader (replay/) both use this module, so a
 * limit or a layout is declared once and enforced on both sides.
 * docs/trace-format.md is the specification.
 *
 * @example
 * ```ts
 * import { crc32c, FORMAT_VERSION, putVarU } from "./mod.ts";
 * const buf = new Uint8Array(16);
 * const end = putVarU(buf, 0, 300); // 2 bytes: 0xac 0x02
 * console.log(FORMAT_VERSION, end, crc32c(buf.subarray(0, end)).toString(16));
 * ```
 * @module
 */
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
  type ScenarioModuleRef,
  schemaLayout,
  STRING_MAX_BYTES,
  STRING_TABLE_MAX_BYTES,
  STRINGS_MAX,
  type TraceHeader,
  type TraceHeaderInit,
  type VarCursor,
} from "./format.ts";
export { TraceError, type TraceErrorCode, type TraceErrorPlace } from "./error.ts";
export { eventToJson, eventToNdjson, type StringLookup } from "./json.ts";
export { ZstdInflater } from "./inflate.ts";
