/**
 * Constants, limits, the header type, the checksum and the varint codec of the
 * `.lstrace` file format (docs/trace-format.md is the specification). The
 * writer (recorder/writer.ts) and the reader (replay/reader.ts) share
 * everything here, so a limit is declared once and enforced on both sides.
 *
 * @example
 * ```ts
 * import { crc32c, FORMAT_VERSION, putVarU } from "./format.ts";
 * const buf = new Uint8Array(16);
 * const end = putVarU(buf, 0, 300); // 2 bytes: 0xac 0x02
 * console.log(FORMAT_VERSION, end, crc32c(buf.subarray(0, end)).toString(16));
 * ```
 * @module
 */
import { FIELDS_MAX, KIND_ID_MAX, KINDS } from "../core/schema.ts";

/** File magic: PNG-style, with CR LF and ^Z so text-mode mangling is detected. */
export const MAGIC: Uint8Array = Uint8Array.of(0x89, 0x4c, 0x53, 0x54, 0x52, 0x0d, 0x0a, 0x1a);
/** The format version this code writes, and the newest it reads. */
export const FORMAT_VERSION = 3;
/** Bytes of the fixed file prefix: magic, version u16, flags u16, header length u32, header CRC u32. */
export const PREFIX_BYTES = 20;
/** Magic of a block header, "LSBK" read as a little-endian u32. */
export const BLOCK_MAGIC = 0x4b42534c;
/**
 * Bytes of a block header: magic, stored payload length, event count, first index u64, first time u64,
 * raw (decoded) payload length, codec u8 and 3 zero bytes, CRC.
 */
export const BLOCK_HEADER_BYTES = 40;
/** Offset of the block header's CRC (of bytes 0..35 and the stored payload). */
export const BLOCK_CRC_AT = 36;
/** Block codec: the payload is stored as is. */
export const CODEC_NONE = 0;
/** Block codec: the payload is one zstd frame (RFC 8878) of the raw payload. */
export const CODEC_ZSTD = 1;
/** Magic of the footer, "LSFT" read as a little-endian u32. */
export const FOOTER_MAGIC = 0x5446534c;
/** Bytes of the footer's fixed part: magic, payload length, payload CRC. */
export const FOOTER_HEADER_BYTES = 12;
/** Magic that ends a cleanly closed file, "LSND" read as a little-endian u32. */
export const TRAILER_MAGIC = 0x444e534c;
/** Bytes of the trailer: footer offset u64, CRC of those 8 bytes, magic. */
export const TRAILER_BYTES = 16;

/** Largest header JSON; the configuration and external inputs live here. */
export const HEADER_BYTES_MAX: number = 16 * 1024 * 1024;
/**
 * Largest raw (decoded) block payload, and so also largest stored one (a block that
 * compresses no smaller is stored raw); bounds the reader's per-block memory.
 */
export const BLOCK_PAYLOAD_MAX_BYTES: number = 256 * 1024;
/** Default raw block payload the writer fills before writing a block (larger blocks compress better). */
export const BLOCK_PAYLOAD_DEFAULT_BYTES: number = 256 * 1024;
/** Most events a block may hold: every event takes at least one raw payload byte. */
export const BLOCK_EVENTS_MAX: number = BLOCK_PAYLOAD_MAX_BYTES;
/** Smallest block payload the writer accepts: one longest str-def must fit. */
export const BLOCK_PAYLOAD_MIN_BYTES = 8192;
/** Every event takes at least its lead byte, so a block holds at most one event per raw payload byte. */
export const EVENT_MIN_BYTES = 1;
/**
 * Bytes of the largest field-mode table at the start of a raw payload: a count, then per listed
 * (kind, field) slot a gap varint (at most 2 bytes) and a mode varint (1 byte) (see the spec).
 */
export const MODE_TABLE_MAX_BYTES: number = 3 + (KIND_ID_MAX + 1) * FIELDS_MAX * 3;
/**
 * Most bytes an event other than str-def can take: lead 1, escaped kind 1, time delta 8,
 * context 2 + 8, 6 fields of 8 (67). The writer flushes a block before it could overflow.
 */
export const EVENT_MAX_BYTES = 80;
/** Longest interned string, in UTF-8 bytes. */
export const STRING_MAX_BYTES = 4096;
/** Most distinct strings a trace may intern. */
export const STRINGS_MAX: number = 1 << 20;
/** Most bytes all interned strings together may take. */
export const STRING_TABLE_MAX_BYTES: number = 64 * 1024 * 1024;
/** CPU numbers (the event's cpu and `cpu` fields) are below this. */
export const CPUS_MAX = 1024;
/** Most blocks a trace may hold (1 TiB at the default block size). */
export const BLOCKS_MAX: number = 1 << 24;
/** Most checkpoint positions the footer lists; beyond, every other one is dropped (see the spec). */
export const CHECKPOINTS_INDEX_MAX: number = 1 << 20;
/** Largest footer payload. */
export const FOOTER_MAX_BYTES: number = 1 << 28;
/** Most bytes an unsigned or zigzag varint of a safe integer takes. */
export const VARINT_MAX_BYTES = 8;
/** Largest value any integer in the format may hold (2^53 - 1). */
export const SAFE_MAX: number = Number.MAX_SAFE_INTEGER;

/** A header configuration value: the fully resolved settings of a run (core's ConfigValue). */
export type { ConfigValue } from "../core/config.ts";
import type { ConfigValue } from "../core/config.ts";

/** Anything JSON can hold; the type of the external inputs. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/**
 * The trace header: everything needed to reproduce the run. No wall-clock
 * field: two runs with the same inputs give byte-identical traces.
 *
 * @example
 * ```ts
 * import type { TraceHeader } from "./format.ts";
 * const h: TraceHeader = {
 *   formatVersion: 1, tool: "lockstep 0.1.0", scenario: "mutex-storm", seed: 1, cpus: 4,
 *   config: { cpus: 4, "sched.quantumNs": 1000000 }, inputs: [],
 * };
 * ```
 */
export interface TraceHeader {
  /** Format version of the file (equal to the binary version field). */
  readonly formatVersion: number;
  /** Name and version of the tool that wrote the trace, e.g. "lockstep 0.1.0". */
  readonly tool: string;
  /** Scenario name. */
  readonly scenario: string;
  /** The run's seed (a non-negative safe integer). */
  readonly seed: number;
  /** Number of simulated CPUs, 1..CPUS_MAX. */
  readonly cpus: number;
  /** The fully resolved configuration. Keys are stored sorted. */
  readonly config: Readonly<Record<string, ConfigValue>>;
  /** External inputs of the run, in order. */
  readonly inputs: readonly JsonValue[];
  /** Optional free text naming who or what made the trace (no timestamps). */
  readonly createdBy?: string;
  /**
   * The user's scenario module, when the scenario came from a file rather
   * than the built-in registry: its path as given (relative to the directory
   * the run was started in) and the SHA-256 of its content, so replay can
   * re-import it and say when it has changed since.
   */
  readonly module?: ScenarioModuleRef;
}

/** Where a user's scenario came from (see {@link TraceHeader.module}). */
export interface ScenarioModuleRef {
  /** Path of the module, as given on the command line (relative to the working directory) or absolute. */
  readonly path: string;
  /** SHA-256 of the module file's bytes, lower-case hex. */
  readonly sha256: string;
}

/** A header as given to the writer; the writer fills in the format version. */
export type TraceHeaderInit = Omit<TraceHeader, "formatVersion">;

/**
 * Checks a header's shape and ranges; returns a message describing the first
 * problem, or undefined when the header is valid.
 *
 * @example
 * ```ts
 * import { headerProblem } from "./format.ts";
 * const bad = headerProblem({ formatVersion: 1, tool: "t", scenario: "s", seed: -1, cpus: 2, config: {}, inputs: [] });
 * console.log(bad); // "seed must be a non-negative safe integer"
 * ```
 */
export function headerProblem(h: unknown): string | undefined {
  if (typeof h !== "object" || h === null || Array.isArray(h)) return "header must be an object";
  const r = h as Record<string, unknown>;
  for (const key of Object.keys(r)) {
    if (!HEADER_KEYS.includes(key)) return `unknown header key "${key}"`;
  }
  if (r.formatVersion !== FORMAT_VERSION) return `formatVersion must be ${FORMAT_VERSION}`;
  if (typeof r.tool !== "string" || r.tool.length === 0) return "tool must be a non-empty string";
  if (typeof r.scenario !== "string") return "scenario must be a string";
  if (!isUnsigned(r.seed)) return "seed must be a non-negative safe integer";
  if (!isUnsigned(r.cpus) || r.cpus < 1 || r.cpus > CPUS_MAX) return `cpus must be an integer in 1..${CPUS_MAX}`;
  if (typeof r.config !== "object" || r.config === null || Array.isArray(r.config)) return "config must be an object";
  for (const [key, value] of Object.entries(r.config)) {
    const ok = typeof value === "string" || typeof value === "boolean" ||
      (typeof value === "number" && Number.isFinite(value));
    if (!ok) return `config "${key}" must be a string, a finite number or a boolean`;
  }
  if (!Array.isArray(r.inputs)) return "inputs must be an array";
  if (r.createdBy !== undefined && typeof r.createdBy !== "string") return "createdBy must be a string";
  if (r.module !== undefined) {
    const mo = r.module as Record<string, unknown>;
    if (typeof mo !== "object" || mo === null || Array.isArray(mo)) return "module must be an object";
    for (const key of Object.keys(mo)) if (key !== "path" && key !== "sha256") return `unknown module key "${key}"`;
    if (typeof mo.path !== "string" || mo.path.length === 0 || mo.path.length > 4096) {
      return "module.path must be a non-empty string";
    }
    if (typeof mo.sha256 !== "string" || !/^[0-9a-f]{64}$/.test(mo.sha256)) {
      return "module.sha256 must be 64 hex digits";
    }
  }
  return undefined;
}

const HEADER_KEYS = ["formatVersion", "tool", "scenario", "seed", "cpus", "config", "inputs", "createdBy", "module"];

/** Key of the header JSON holding the event layout (not part of {@link TraceHeader}). */
export const LAYOUT_KEY = "layout";

/**
 * The event layout of this build's schema, stored in every trace's header
 * JSON under "layout": `id:type,type,...` for each kind, joined by `;`. A
 * reader compares it with its own schema, so a trace written before a kind's
 * fields changed is refused instead of misread.
 *
 * @example
 * ```ts
 * import { schemaLayout } from "./format.ts";
 * console.log(schemaLayout().split(";")[0]); // "0:str"
 * ```
 */
export function schemaLayout(): string {
  return KINDS.map((k) => `${k.id}:${k.fields.map((f) => f.type).join(",")}`).join(";");
}

/**
 * The kinds whose fields differ between a trace's `layout` and this build's
 * schema, described for an error message; empty when the trace is readable.
 * Kinds known to only one side do not conflict (a kind added later is simply
 * absent from older traces).
 *
 * @example
 * ```ts
 * import { layoutConflicts, schemaLayout } from "./format.ts";
 * console.log(layoutConflicts(schemaLayout())); // []
 * ```
 */
export function layoutConflicts(layout: string): string[] {
  const ours = new Map(KINDS.map((k) => [k.id, k]));
  const out: string[] = [];
  for (const entry of layout.split(";").slice(0, 256)) {
    const colon = entry.indexOf(":");
    const id = Number(entry.slice(0, colon));
    const kind = ours.get(id);
    if (colon < 0 || !kind) continue;
    const types = kind.fields.map((f) => f.type).join(",");
    if (entry.slice(colon + 1) !== types) {
      out.push(`${kind.name} has (${entry.slice(colon + 1)}) in the trace, (${types}) here`);
    }
  }
  return out;
}

function isUnsigned(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}

/**
 * Serialises JSON with object keys sorted at every depth, so equal headers
 * give equal bytes whatever order the caller built them in.
 *
 * @example
 * ```ts
 * import { canonicalJson } from "./format.ts";
 * console.log(canonicalJson({ b: 1, a: [true, { d: "x", c: null }] })); // {"a":[true,{"c":null,"d":"x"}],"b":1}
 * ```
 */
export function canonicalJson(value: unknown, depthMax = 64): string {
  if (depthMax <= 0) throw new RangeError("canonicalJson: nesting too deep");
  if (value === null || typeof value === "boolean" || typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new RangeError(`canonicalJson: ${value} has no JSON form`);
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return "[" + value.map((v) => canonicalJson(v, depthMax - 1)).join(",") + "]";
  if (typeof value === "object") {
    const keys = Object.keys(value as object).filter((k) => (value as Record<string, unknown>)[k] !== undefined);
    keys.sort();
    const parts = keys.map((k) =>
      JSON.stringify(k) + ":" + canonicalJson((value as Record<string, unknown>)[k], depthMax - 1)
    );
    return "{" + parts.join(",") + "}";
  }
  throw new TypeError(`canonicalJson: ${typeof value} has no JSON form`);
}

// ---------------------------------------------------------------------------
// CRC-32C (Castagnoli), slice-by-8.
//
// Chosen over node:zlib's crc32 (CRC-32/IEEE, native, ~50 GB/s) because the
// Castagnoli polynomial detects more error patterns at block lengths of tens
// of KiB, and this table version runs at ~1 GB/s here: a 5-byte event costs
// ~5 ns of checksum, about a tenth of the decode budget (see the spec).

const CRC_TABLE: Uint32Array = makeCrcTable();

function makeCrcTable(): Uint32Array {
  const t = new Uint32Array(256 * 8);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[i] = c >>> 0;
  }
  for (let i = 0; i < 256; i++) {
    for (let s = 1; s < 8; s++) {
      const prev = t[(s - 1) * 256 + i];
      t[s * 256 + i] = (prev >>> 8) ^ t[prev & 0xff];
    }
  }
  return t;
}

/**
 * CRC-32C of `bytes[start, end)`, continuing from `crc` (the value a previous
 * call returned, or 0 to start).
 *
 * @example
 * ```ts
 * import { crc32c } from "./format.ts";
 * const check = crc32c(new TextEncoder().encode("123456789")); // 0xe3069283
 * ```
 */
export function crc32c(bytes: Uint8Array, crc = 0, start = 0, end: number = bytes.length): number {
  const t = CRC_TABLE;
  let c = ~crc | 0;
  let i = start;
  const end8 = end - ((end - start) & 7);
  for (; i < end8; i += 8) {
    const a = (bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24)) ^ c;
    c = t[1792 + (a & 0xff)] ^ t[1536 + ((a >>> 8) & 0xff)] ^ t[1280 + ((a >>> 16) & 0xff)] ^ t[1024 + (a >>> 24)] ^
      t[768 + bytes[i + 4]] ^ t[512 + bytes[i + 5]] ^ t[256 + bytes[i + 6]] ^ t[bytes[i + 7]];
  }
  for (; i < end; i++) c = t[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

// ---------------------------------------------------------------------------
// Varints: unsigned LEB128 of safe integers (at most 8 bytes, the 8th holding
// at most 4 bits) and zigzag LEB128 of signed safe integers (sign in bit 0;
// the 8th byte holds at most 5 bits). Overlong forms (a final 0x00 byte after
// the first) are refused by the decoder, so every value has one encoding.

/**
 * Writes `v` (a safe non-negative integer, checked by the caller) as an
 * unsigned LEB128 varint at `pos`; returns the position after it.
 *
 * @example
 * ```ts
 * import { putVarU } from "./format.ts";
 * const b = new Uint8Array(8);
 * putVarU(b, 0, 2 ** 53 - 1); // returns 8
 * ```
 */
export function putVarU(buf: Uint8Array, pos: number, v: number): number {
  if (v < 0x80) {
    buf[pos] = v;
    return pos + 1;
  }
  if (v < 0x4000) {
    buf[pos] = v | 0x80;
    buf[pos + 1] = v >>> 7;
    return pos + 2;
  }
  if (v < 0x100000000) {
    // Below 2^32 (sequence numbers, most times and ids): unsigned shifts, no division.
    while (v >= 0x80) {
      buf[pos++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    buf[pos] = v;
    return pos + 1;
  }
  // Division keeps values above 2^32 exact; `& 0x7f` is exact too because
  // ToInt32 preserves the low bits of any integer below 2^53.
  while (v >= 0x80) {
    buf[pos++] = (v & 0x7f) | 0x80;
    v = Math.floor(v / 128);
  }
  buf[pos] = v;
  return pos + 1;
}

/**
 * Writes `v` (a safe integer, checked by the caller) as a zigzag LEB128
 * varint at `pos`; returns the position after it.
 *
 * @example
 * ```ts
 * import { putVarI } from "./format.ts";
 * const b = new Uint8Array(8);
 * putVarI(b, 0, -1); // b[0] === 1, returns 1
 * ```
 */
export function putVarI(buf: Uint8Array, pos: number, v: number): number {
  // Zigzag Z = 2m + sign would exceed 2^53 for the largest magnitudes, so the
  // first group is built from m directly: its low 6 bits and the sign.
  let sign = 0;
  let m = v;
  if (v < 0) {
    sign = 1;
    m = -v - 1;
  }
  const low = m & 0x3f;
  m = m < 0x100000000 ? m >>> 6 : Math.floor(m / 64);
  if (m === 0) {
    buf[pos] = (low << 1) | sign;
    return pos + 1;
  }
  buf[pos] = 0x80 | (low << 1) | sign;
  return putVarU(buf, pos + 1, m);
}

/** A read position and the end it may not pass; the varint readers advance `pos`. */
export interface VarCursor {
  pos: number;
  end: number;
}

/**
 * Reads an unsigned varint at `c.pos` without passing `c.end`. Returns the
 * value and advances `c.pos`, or returns -1 (leaving `c.pos`) on a varint
 * that is truncated, overlong or above 2^53 - 1.
 *
 * @example
 * ```ts
 * import { getVarU } from "./format.ts";
 * const c = { pos: 0, end: 2 };
 * getVarU(Uint8Array.of(0xac, 0x02), c); // 300, c.pos === 2
 * ```
 */
export function getVarU(buf: Uint8Array, c: VarCursor): number {
  let p = c.pos;
  const end = c.end;
  let v = 0;
  let mul = 1;
  for (let i = 0; i < VARINT_MAX_BYTES; i++) {
    if (p >= end) return -1;
    const b = buf[p++];
    if (b < 0x80) {
      if (i > 0 && b === 0) return -1; // overlong
      if (i === VARINT_MAX_BYTES - 1 && b > 0x0f) return -1; // above 2^53 - 1
      c.pos = p;
      return v + b * mul;
    }
    v += (b & 0x7f) * mul;
    mul *= 128;
  }
  return -1;
}

/**
 * Reads a zigzag varint at `c.pos` without passing `c.end`. Returns the value
 * and advances `c.pos`, or returns NaN on a varint that is truncated,
 * overlong or outside the safe integers.
 *
 * @example
 * ```ts
 * import { getVarI } from "./format.ts";
 * getVarI(Uint8Array.of(0x03), { pos: 0, end: 1 }); // -2
 * ```
 */
export function getVarI(buf: Uint8Array, c: VarCursor): number {
  const p = c.pos;
  if (p >= c.end) return NaN;
  const b0 = buf[p];
  const sign = b0 & 1;
  let m = (b0 & 0x7f) >>> 1;
  if (b0 < 0x80) {
    c.pos = p + 1;
  } else {
    c.pos = p + 1;
    const rest = getVarU(buf, c);
    // 7 more bytes carry 47 bits at most: m = rest * 64 + low stays below 2^53.
    if (rest < 0 || rest >= 2 ** 47 || (rest === 0)) {
      c.pos = p;
      return NaN;
    }
    m += rest * 64;
  }
  if (sign === 0) return m;
  if (m === SAFE_MAX) {
    c.pos = p;
    return NaN; // -2^53 is not a safe integer
  }
  return -m - 1;
}

/**
 * Writes `v` (< 2^32) little-endian at `pos`.
 *
 * @example
 * ```ts
 * import { getU32, putU32 } from "./format.ts";
 * const b = new Uint8Array(4);
 * putU32(b, 0, 0x4b42534c); // the bytes "LSBK"
 * console.log(getU32(b, 0) === 0x4b42534c);
 * ```
 */
export function putU32(buf: Uint8Array, pos: number, v: number): void {
  buf[pos] = v;
  buf[pos + 1] = v >>> 8;
  buf[pos + 2] = v >>> 16;
  buf[pos + 3] = v >>> 24;
}

/**
 * Reads a little-endian u32 at `pos`.
 *
 * @example
 * ```ts
 * import { getU32 } from "./format.ts";
 * getU32(Uint8Array.of(1, 0, 0, 0), 0); // 1
 * ```
 */
export function getU32(buf: Uint8Array, pos: number): number {
  return (buf[pos] | (buf[pos + 1] << 8) | (buf[pos + 2] << 16) | (buf[pos + 3] << 24)) >>> 0;
}

/**
 * Writes a safe non-negative integer as a little-endian u64 at `pos`.
 *
 * @example
 * ```ts
 * import { getU64, putU64 } from "./format.ts";
 * const b = new Uint8Array(8);
 * putU64(b, 0, 2 ** 53 - 1);
 * console.log(getU64(b, 0)); // 9007199254740991
 * ```
 */
export function putU64(buf: Uint8Array, pos: number, v: number): void {
  putU32(buf, pos, v >>> 0);
  putU32(buf, pos + 4, Math.floor(v / 0x100000000));
}

/**
 * Reads a little-endian u64 at `pos`; returns -1 when it is above 2^53 - 1.
 *
 * @example
 * ```ts
 * import { getU64 } from "./format.ts";
 * getU64(new Uint8Array(8).fill(0xff), 0); // -1
 * ```
 */
export function getU64(buf: Uint8Array, pos: number): number {
  const hi = getU32(buf, pos + 4);
  if (hi > 0x1fffff) return -1;
  return hi * 0x100000000 + getU32(buf, pos);
}
