/**
 * The bytes of a trace file's prefix and header.
 *
 * @module
 */
import {
  canonicalJson,
  crc32c,
  FORMAT_VERSION,
  HEADER_BYTES_MAX,
  headerProblem,
  LAYOUT_KEY,
  MAGIC,
  PREFIX_BYTES,
  putU32,
  schemaLayout,
  type TraceHeader,
  type TraceHeaderInit,
} from "../format/format.ts";

const encoder = new TextEncoder();

/**
 * The file's prefix and header (magic, version, header length and checksum,
 * canonical JSON header with the schema layout). Throws on a header the
 * format refuses.
 *
 * @example
 * ```ts
 * import { traceHeaderBytes } from "./_header.ts";
 * const head = traceHeaderBytes({ tool: "lockstep", scenario: "s", seed: 1, cpus: 1, config: {}, inputs: [] });
 * ```
 */
export function traceHeaderBytes(init: TraceHeaderInit): Uint8Array {
  const header: TraceHeader = { ...init, formatVersion: FORMAT_VERSION };
  const problem = headerProblem(header);
  if (problem) throw new TypeError(`trace writer: bad header: ${problem}`);
  const json = encoder.encode(canonicalJson({ ...header, [LAYOUT_KEY]: schemaLayout() }));
  if (json.length > HEADER_BYTES_MAX) {
    throw new RangeError(`trace writer: header of ${json.length} bytes exceeds ${HEADER_BYTES_MAX}`);
  }
  const out = new Uint8Array(PREFIX_BYTES + json.length);
  out.set(MAGIC, 0);
  out[8] = FORMAT_VERSION & 0xff;
  out[9] = FORMAT_VERSION >>> 8;
  // Bytes 10..11: flags, zero in version 1.
  putU32(out, 12, json.length);
  out.set(json, PREFIX_BYTES);
  putU32(out, 16, crc32c(out, crc32c(out, 0, 8, 16), PREFIX_BYTES, out.length));
  return out;
}
