/**
 * The viewer index persisted beside its trace, `FILE.vix`, so a new server
 * opens a large run it has indexed before in milliseconds instead of reading
 * every event again. Like the seek sidecar (seek.ts) it is bound to the
 * trace's content key ({@link TraceReader.contentKey}: the CRCs of its
 * header, blocks and footer) and size, and checked with its own CRC-32C; a
 * stale, damaged or foreign file is ignored (the index is then built from
 * the trace as before) and replaced by the next build. Written to a
 * temporary file and renamed; skipped quietly when the folder is not
 * writable. Only whole traces (with a footer, no damage) get one.
 *
 * Layout (little-endian): magic `LSVX`, version u32 ({@link INDEX_FORMAT}),
 * content key u32, trace size u64, meta length u32, index code key u32
 * ({@link indexCodeKey}), then the meta (UTF-8
 * JSON: the index's scalars, names, threads, locks, violations and the list
 * of arrays with their element type and length), then each array's bytes at
 * an 8-byte aligned offset, then the CRC-32C of everything before it (u32).
 *
 * @module
 */
import { crc32c, getU32, getU64, putU32, putU64 } from "../format/format.ts";
import { KIND_ID_MAX } from "../core/schema.ts";
import {
  CHUNK_EVENTS,
  KIND_WORDS,
  Occupancy,
  type RunIndex,
  type ThreadInfo,
  type ViolationInfo,
} from "./_query_index.ts";
import type { TraceReader } from "./reader.ts";

/** Suffix of the persisted viewer index. */
export const INDEX_SUFFIX = ".vix";
/**
 * Version of what `buildIndex` computes: bump it whenever a figure of the
 * index changes meaning, so older `.vix` files are rebuilt rather than read.
 */
export const INDEX_FORMAT = 1;
const MAGIC = 0x5856534c; // "LSVX"
const HEAD_BYTES = 28;
/** Largest `.vix` read (the grid is bounded at ~14 bytes x 2 M cells; the rest is small). */
const FILE_BYTES_MAX = 256 * 1024 * 1024;

type Typed = Float64Array | Int32Array | Uint32Array | Uint16Array;
const TYPES = { f64: Float64Array, i32: Int32Array, u32: Uint32Array, u16: Uint16Array } as const;
type TypeName = keyof typeof TYPES;

function typeName(a: Typed): TypeName {
  if (a instanceof Float64Array) return "f64";
  if (a instanceof Int32Array) return "i32";
  if (a instanceof Uint32Array) return "u32";
  return "u16";
}

/** The index fields that are plain arrays, in file order (levels' arrays follow). */
const ARRAYS = [
  "chunkT",
  "chunkCur",
  "chunkLockAt",
  "chunkLocks",
  "chunkKinds",
  "chunkSoftint",
  "kindCounts",
  "busyNs",
] as const;

interface Meta {
  chunkEvents: number;
  events: number;
  tFirst: number;
  tLast: number;
  cpus: number;
  switches: number;
  wakeups: number;
  crossCpuWakeups: number;
  lockWaitsById: [number, number][];
  threads: ThreadInfo[];
  names: [number, string][];
  locks: { id: number; cls: string; type: string }[];
  violations: ViolationInfo[];
  endReason: string | null;
  levels: { cells: number; cellNs: number; t0: number }[];
  arrays: { type: TypeName; length: number }[];
}

/** Source files whose code decides what the index holds (the event schema included). */
const CODE_FILES = [
  "./_query_index.ts",
  "./_query_grid.ts",
  "./_query_locks.ts",
  "./_query_store.ts",
  "../core/schema.ts",
];
let codeKey: number | undefined;

/**
 * A checksum of the code that builds the index (CODE_FILES' text), so an
 * index saved by another version of that code is rebuilt rather than read,
 * without relying on someone bumping INDEX_FORMAT. 0 when the sources
 * cannot be read (a compiled or remote copy): INDEX_FORMAT alone then.
 */
export function indexCodeKey(): number {
  if (codeKey !== undefined) return codeKey;
  try {
    const parts = CODE_FILES.map((f) => Deno.readFileSync(new URL(f, import.meta.url)));
    const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      all.set(p, at);
      at += p.length;
    }
    codeKey = crc32c(all);
  } catch {
    codeKey = 0;
  }
  return codeKey;
}

/** The identity a `.vix` is bound to, or undefined for a trace that gets none (no footer, damaged). */
function identity(reader: TraceReader): number | undefined {
  if (!reader.hasFooter || reader.damage !== undefined) return undefined;
  return reader.contentKey();
}

const align8 = (n: number) => (n + 7) & ~7;

/**
 * Writes `ix` (the whole index of the trace at `path`, read through `reader`)
 * to `path.vix`. Returns false when the trace gets none or the write failed
 * (a read-only folder, a full disk); never throws for those.
 */
export function saveIndex(path: string, reader: TraceReader, ix: RunIndex): boolean {
  const key = identity(reader);
  if (key === undefined || ix.damage !== undefined || ix.events !== reader.eventCount) return false;
  const arrays: Typed[] = [...ARRAYS.map((k) => ix[k] as Typed)];
  for (const g of ix.levels) arrays.push(g.act, g.busy, g.firstEv);
  const meta: Meta = {
    chunkEvents: CHUNK_EVENTS,
    events: ix.events,
    tFirst: ix.tFirst,
    tLast: ix.tLast,
    cpus: ix.cpus,
    switches: ix.switches,
    wakeups: ix.wakeups,
    crossCpuWakeups: ix.crossCpuWakeups,
    lockWaitsById: [...ix.lockWaitsById],
    threads: [...ix.threads.values()],
    names: [...ix.names],
    locks: ix.locks,
    violations: ix.violations,
    endReason: ix.endReason ?? null,
    levels: ix.levels.map((g) => ({ cells: g.cells, cellNs: g.cellNs, t0: g.t0 })),
    arrays: arrays.map((a) => ({ type: typeName(a), length: a.length })),
  };
  const metaBytes = new TextEncoder().encode(JSON.stringify(meta));
  let size = align8(HEAD_BYTES + metaBytes.length);
  const at: number[] = [];
  for (const a of arrays) {
    at.push(size);
    size = align8(size + a.byteLength);
  }
  const buf = new Uint8Array(size + 4);
  putU32(buf, 0, MAGIC);
  putU32(buf, 4, INDEX_FORMAT);
  putU32(buf, 8, key);
  putU64(buf, 12, ix.bytes);
  putU32(buf, 20, metaBytes.length);
  putU32(buf, 24, indexCodeKey());
  buf.set(metaBytes, HEAD_BYTES);
  arrays.forEach((a, k) => buf.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), at[k]));
  putU32(buf, size, crc32c(buf, 0, 0, size));
  const target = path + INDEX_SUFFIX;
  const tmp = `${target}.${Deno.pid}.tmp`;
  try {
    Deno.writeFileSync(tmp, buf);
    Deno.renameSync(tmp, target);
    return true;
  } catch {
    try {
      Deno.removeSync(tmp);
    } catch {
      // nothing was created
    }
    return false;
  }
}

/** Whether a persisted index lies beside the trace at `path` (not yet checked: see {@link loadIndex}). */
export function hasStore(path: string): boolean {
  try {
    return Deno.statSync(path + INDEX_SUFFIX).isFile;
  } catch {
    return false;
  }
}

/**
 * The index persisted beside the trace at `path` (`bytes` long, read through
 * `reader`), or undefined when there is none or it does not belong to this
 * trace content, this index format, or is damaged anywhere.
 */
export function loadIndex(path: string, reader: TraceReader, bytes: number): RunIndex | undefined {
  const key = identity(reader);
  if (key === undefined) return undefined;
  let buf: Uint8Array<ArrayBuffer>;
  try {
    const st = Deno.statSync(path + INDEX_SUFFIX);
    if (!st.isFile || st.size < HEAD_BYTES + 4 || st.size > FILE_BYTES_MAX) return undefined;
    buf = readWhole(path + INDEX_SUFFIX, st.size);
  } catch {
    return undefined;
  }
  if (getU32(buf, 0) !== MAGIC || getU32(buf, 4) !== INDEX_FORMAT) return undefined;
  if (getU32(buf, 24) !== indexCodeKey()) return undefined; // built by other index code: its figures may differ
  if (getU32(buf, 8) !== key || getU64(buf, 12) !== bytes) return undefined; // another trace, or another version of it
  const end = buf.length - 4;
  if (crc32c(buf, 0, 0, end) !== getU32(buf, end)) return undefined;
  try {
    const metaLen = getU32(buf, 20);
    if (HEAD_BYTES + metaLen > end) return undefined;
    const meta = JSON.parse(new TextDecoder().decode(buf.subarray(HEAD_BYTES, HEAD_BYTES + metaLen))) as Meta;
    if (meta.chunkEvents !== CHUNK_EVENTS || meta.events !== reader.eventCount) return undefined;
    if (meta.arrays.length !== ARRAYS.length + 3 * meta.levels.length) return undefined;
    let pos = align8(HEAD_BYTES + metaLen);
    const arrays: Typed[] = [];
    for (const { type, length } of meta.arrays) {
      const T = TYPES[type];
      if (T === undefined || !Number.isSafeInteger(length) || length < 0) return undefined;
      const n = length * T.BYTES_PER_ELEMENT;
      if (pos + n > end) return undefined;
      // Views on the file's bytes: each array is 8-byte aligned in the file, and `buf` starts its own buffer.
      arrays.push(new T(buf.buffer, pos, length));
      pos = align8(pos + n);
    }
    const named = Object.fromEntries(ARRAYS.map((k, i) => [k, arrays[i]]));
    const levels = meta.levels.map((l, i) => {
      const [act, busy, firstEv] = arrays.slice(ARRAYS.length + 3 * i, ARRAYS.length + 3 * i + 3);
      if (act.length !== l.cells * meta.cpus || busy.length !== act.length || firstEv.length !== act.length) {
        throw new RangeError("grid size");
      }
      // The queries only call `cellOf` and read public fields (as for a grid a Worker sent back).
      const g = { act, busy, firstEv, cpus: meta.cpus, cells: l.cells, cellNs: l.cellNs, t0: l.t0 };
      return Object.setPrototypeOf(g, Occupancy.prototype) as Occupancy;
    });
    if (levels.length === 0) return undefined;
    const chunks = named.chunkT.length;
    if (
      named.kindCounts.length !== KIND_ID_MAX + 1 || named.busyNs.length !== meta.cpus ||
      named.chunkCur.length !== chunks * meta.cpus || named.chunkSoftint.length !== chunks * meta.cpus ||
      named.chunkKinds.length !== chunks * KIND_WORDS || named.chunkLockAt.length !== chunks + 1 ||
      meta.cpus !== reader.header.cpus
    ) return undefined;
    return {
      header: reader.header,
      events: meta.events,
      hasFooter: true,
      damage: undefined,
      tFirst: meta.tFirst,
      tLast: meta.tLast,
      cpus: meta.cpus,
      grid: levels[0],
      levels,
      chunkT: named.chunkT as Float64Array,
      chunkCur: named.chunkCur as Int32Array,
      chunkLockAt: named.chunkLockAt as Float64Array,
      chunkLocks: named.chunkLocks as Float64Array,
      chunkKinds: named.chunkKinds as Uint32Array,
      chunkSoftint: named.chunkSoftint as Int32Array,
      switches: meta.switches,
      wakeups: meta.wakeups,
      crossCpuWakeups: meta.crossCpuWakeups,
      lockWaitsById: new Map(meta.lockWaitsById),
      kindCounts: named.kindCounts as Float64Array,
      busyNs: named.busyNs as Float64Array,
      threads: new Map(meta.threads.map((t) => [t.id, t])),
      names: new Map(meta.names),
      locks: meta.locks,
      violations: meta.violations,
      endReason: meta.endReason ?? undefined,
      bytes,
    };
  } catch {
    return undefined; // malformed despite a good checksum (another writer's bug): treated as absent
  }
}

/**
 * The file's first `size` bytes, read into one buffer (Deno.readFileSync
 * grows its buffer as it reads, several times slower on a ten-megabyte file).
 */
function readWhole(path: string, size: number): Uint8Array<ArrayBuffer> {
  const buf = new Uint8Array(size);
  const f = Deno.openSync(path, { read: true });
  try {
    let done = 0;
    while (done < size) {
      const n = f.readSync(buf.subarray(done));
      if (n === null || n === 0) throw new RangeError("the file got shorter");
      done += n;
    }
  } finally {
    f.close();
  }
  return buf;
}
