/**
 * The viewer index persisted beside its trace, `FILE.vix`, so a new server
 * opens a large run it has indexed before in milliseconds instead of reading
 * every event again. Like the seek sidecar (seek.ts) it is bound to the
 * trace's content key ({@link TraceReader.contentKey}: the CRCs of its
 * header, blocks and footer) and size. Opening one reads only its head and
 * meta (checked with their own CRC-32C); each array is read, and checked
 * against its own CRC-32C, the first time a query touches it, so a server
 * opening a ten-megabyte index reads the few hundred kilobytes the first view
 * needs and checksums nothing else. A stale, foreign or damaged head is
 * ignored (the index is then built from the trace); a damaged array throws
 * {@link IndexDamaged} when touched, before any of its values is used (the
 * queries then drop the index, delete the file and build it again). Written
 * to a temporary file and renamed; skipped quietly when the folder is not
 * writable. Only whole traces (with a footer, no damage) get one.
 *
 * Layout (little-endian): magic `LSVX`, version u32 ({@link INDEX_FORMAT}),
 * content key u32, trace size u64, meta length u32, index code key u32
 * ({@link indexCodeKey}), meta CRC u32 (CRC-32C of the 28 bytes before it and
 * the meta), then the meta (UTF-8 JSON: the index's scalars, names, threads,
 * locks, violations and the list of arrays with their element type, length,
 * offset and CRC-32C), then each array's bytes at an 8-byte aligned offset.
 *
 * @module
 */
import { crc32c, getU32, getU64, putU32, putU64 } from "../format/format.ts";
import { KIND_ID_MAX } from "../core/schema.ts";
import {
  CHUNK_EVENTS,
  INDEX_ARRAYS,
  indexArrays,
  KIND_WORDS,
  LEVEL_ARRAYS,
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
export const INDEX_FORMAT = 2;
const MAGIC = 0x5856534c; // "LSVX"
const HEAD_BYTES = 32;
/** Largest meta read (names are bounded at 200 000, violations at 10 000). */
const META_BYTES_MAX = 64 * 1024 * 1024;
/** Largest `.vix` (the grid is bounded at ~14 bytes x 2 M cells; the rest is small). */
const FILE_BYTES_MAX = 256 * 1024 * 1024;

/**
 * A persisted index's array failed its check when a query first touched it
 * (the file was damaged or replaced after it was opened). Nothing of the
 * array was used; the index must be dropped and built again.
 */
export class IndexDamaged extends Error {
  /** `trace`: the path of the trace whose index it is. */
  constructor(readonly trace: string, message: string) {
    super(`${trace}${INDEX_SUFFIX}: ${message}`);
    this.name = "IndexDamaged";
  }
}

type Typed = Float64Array | Int32Array | Uint32Array | Uint16Array;
const TYPES = { f64: Float64Array, i32: Int32Array, u32: Uint32Array, u16: Uint16Array } as const;
type TypeName = keyof typeof TYPES;

function typeName(a: Typed): TypeName {
  if (a instanceof Float64Array) return "f64";
  if (a instanceof Int32Array) return "i32";
  if (a instanceof Uint32Array) return "u32";
  return "u16";
}

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
  /** Each array: element type, length, byte offset in the file, CRC-32C of its bytes. */
  arrays: { type: TypeName; length: number; at: number; crc: number }[];
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
  const arrays: Typed[] = indexArrays(ix);
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
    arrays: arrays.map((a) => ({
      type: typeName(a),
      length: a.length,
      at: 0,
      crc: crc32c(new Uint8Array(a.buffer, a.byteOffset, a.byteLength)),
    })),
  };
  // The offsets depend on the meta's length, which depends on the offsets: lay out twice (the second pass
  // only ever grows the meta by a few digits, so align8 of its end is rechecked until stable).
  let metaBytes = new Uint8Array(0), size = 0;
  for (let guess = 0;;) {
    size = align8(HEAD_BYTES + guess);
    meta.arrays.forEach((m, k) => {
      m.at = size;
      size = align8(size + arrays[k].byteLength);
    });
    metaBytes = new TextEncoder().encode(JSON.stringify(meta));
    if (align8(HEAD_BYTES + metaBytes.length) === align8(HEAD_BYTES + guess)) break;
    guess = metaBytes.length;
  }
  const buf = new Uint8Array(size);
  putU32(buf, 0, MAGIC);
  putU32(buf, 4, INDEX_FORMAT);
  putU32(buf, 8, key);
  putU64(buf, 12, ix.bytes);
  putU32(buf, 20, metaBytes.length);
  putU32(buf, 24, indexCodeKey());
  buf.set(metaBytes, HEAD_BYTES);
  arrays.forEach((a, k) => buf.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), meta.arrays[k].at));
  putU32(buf, 28, crc32c(metaBytes, crc32c(buf, 0, 0, 28)));
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

/**
 * The index persisted beside the trace at `path` (`bytes` long, read through
 * `reader`), or undefined when there is none or it does not belong to this
 * trace content or this index format, or its head or meta is damaged. Reads
 * only the head and meta: each array is read and checked when first touched
 * (see {@link IndexDamaged}).
 */
export function loadIndex(path: string, reader: TraceReader, bytes: number): RunIndex | undefined {
  const key = identity(reader);
  if (key === undefined) return undefined;
  const file = path + INDEX_SUFFIX;
  let head: Uint8Array, metaBytes: Uint8Array, fileBytes: number;
  try {
    const f = Deno.openSync(file, { read: true });
    try {
      const st = f.statSync();
      fileBytes = st.size;
      if (!st.isFile || st.size < HEAD_BYTES || st.size > FILE_BYTES_MAX) return undefined;
      head = readAt(f, 0, HEAD_BYTES);
      if (getU32(head, 0) !== MAGIC || getU32(head, 4) !== INDEX_FORMAT) return undefined;
      if (getU32(head, 24) !== indexCodeKey()) return undefined; // built by other index code: its figures may differ
      if (getU32(head, 8) !== key || getU64(head, 12) !== bytes) return undefined; // another trace, or another version of it
      const metaLen = getU32(head, 20);
      if (metaLen > META_BYTES_MAX || HEAD_BYTES + metaLen > st.size) return undefined;
      metaBytes = readAt(f, HEAD_BYTES, metaLen);
    } finally {
      f.close();
    }
  } catch {
    return undefined;
  }
  if (crc32c(metaBytes, crc32c(head, 0, 0, 28)) !== getU32(head, 28)) return undefined;
  try {
    const meta = JSON.parse(new TextDecoder().decode(metaBytes)) as Meta;
    if (meta.chunkEvents !== CHUNK_EVENTS || meta.events !== reader.eventCount) return undefined;
    if (meta.arrays.length !== INDEX_ARRAYS.length + 3 * meta.levels.length || meta.levels.length === 0) {
      return undefined;
    }
    let end = align8(HEAD_BYTES + metaBytes.length);
    for (const { type, length, at, crc } of meta.arrays) {
      const T = TYPES[type];
      if (T === undefined || !Number.isSafeInteger(length) || length < 0 || at !== end) return undefined;
      if (!Number.isInteger(crc) || crc < 0 || crc > 0xffffffff) return undefined;
      end = align8(at + length * T.BYTES_PER_ELEMENT);
    }
    if (end !== fileBytes) return undefined; // cut short or grown: the sections do not tile the file
    const len = (k: number) => meta.arrays[k].length;
    const named = Object.fromEntries(INDEX_ARRAYS.map((k, i) => [k, len(i)]));
    const chunks = named.chunkT;
    if (
      named.kindCounts !== KIND_ID_MAX + 1 || named.busyNs !== meta.cpus ||
      named.chunkCur !== chunks * meta.cpus || named.chunkSoftint !== chunks * meta.cpus ||
      named.chunkKinds !== chunks * KIND_WORDS || named.chunkLockAt !== chunks + 1 ||
      meta.cpus !== reader.header.cpus
    ) return undefined;
    const sections = new Sections(path, head, meta.arrays);
    const levels = meta.levels.map((l, i) => {
      const k = INDEX_ARRAYS.length + 3 * i;
      if ([0, 1, 2].some((j) => len(k + j) !== l.cells * meta.cpus)) throw new RangeError("grid size");
      // The queries only call `cellOf` and read public fields (as for a grid a Worker sent back).
      const g = { cpus: meta.cpus, cells: l.cells, cellNs: l.cellNs, t0: l.t0 };
      LEVEL_ARRAYS.forEach((name, j) => sections.lazy(g, name, k + j));
      return Object.setPrototypeOf(g, Occupancy.prototype) as Occupancy;
    });
    const ix = {
      header: reader.header,
      events: meta.events,
      hasFooter: true,
      damage: undefined,
      tFirst: meta.tFirst,
      tLast: meta.tLast,
      cpus: meta.cpus,
      grid: levels[0],
      levels,
      switches: meta.switches,
      wakeups: meta.wakeups,
      crossCpuWakeups: meta.crossCpuWakeups,
      lockWaitsById: new Map(meta.lockWaitsById),
      threads: new Map(meta.threads.map((t) => [t.id, t])),
      names: new Map(meta.names),
      locks: meta.locks,
      violations: meta.violations,
      endReason: meta.endReason ?? undefined,
      bytes,
    };
    INDEX_ARRAYS.forEach((name, k) => sections.lazy(ix, name, k));
    return ix as unknown as RunIndex;
  } catch {
    return undefined; // malformed despite a good checksum (another writer's bug): treated as absent
  }
}

/**
 * The arrays of one opened `.vix`, each read and checked on first use. A
 * read checks the head again, so a file replaced since (another trace's, or
 * a rebuilt one) is never mixed with this one.
 */
class Sections {
  constructor(
    readonly trace: string,
    readonly head: Uint8Array,
    readonly arrays: Meta["arrays"],
  ) {}

  /** Makes `obj[name]` array `k`, read on first access and a plain value from then on. */
  lazy(obj: object, name: string, k: number): void {
    Object.defineProperty(obj, name, {
      configurable: true,
      enumerable: true,
      get: () => {
        const value = this.read(k);
        Object.defineProperty(obj, name, { value, enumerable: true, writable: false, configurable: false });
        return value;
      },
    });
  }

  read(k: number): Typed {
    const { type, length, at, crc } = this.arrays[k];
    const T = TYPES[type];
    let bytes: Uint8Array<ArrayBuffer>;
    try {
      const f = Deno.openSync(this.trace + INDEX_SUFFIX, { read: true });
      try {
        const head = readAt(f, 0, HEAD_BYTES);
        if (head.some((b, i) => b !== this.head[i])) throw new IndexDamaged(this.trace, "replaced since it was opened");
        bytes = readAt(f, at, length * T.BYTES_PER_ELEMENT);
      } finally {
        f.close();
      }
    } catch (err) {
      if (err instanceof IndexDamaged) throw err;
      throw new IndexDamaged(this.trace, `array ${k}: ${(err as Error).message}`);
    }
    if (crc32c(bytes) !== crc) throw new IndexDamaged(this.trace, `array ${k} fails its checksum`);
    return new T(bytes.buffer, 0, length);
  }
}

/** `n` bytes of `f` at `pos`, in a buffer of their own. Throws RangeError when the file is shorter. */
function readAt(f: Deno.FsFile, pos: number, n: number): Uint8Array<ArrayBuffer> {
  const buf = new Uint8Array(n);
  f.seekSync(pos, Deno.SeekMode.Start);
  for (let done = 0; done < n;) {
    const got = f.readSync(buf.subarray(done));
    if (got === null || got === 0) throw new RangeError("the file got shorter");
    done += got;
  }
  return buf;
}
