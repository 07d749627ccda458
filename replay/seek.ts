/**
 * Seeking: the rebuilt state at any event, across processes. A trace longer
 * than {@link SNAPSHOT_EVERY} events gets a sidecar file `FILE.seek` next to
 * it, holding the rebuilt state every SNAPSHOT_EVERY events; a request reads
 * the one snapshot at or before its target and folds at most SNAPSHOT_EVERY
 * events. The sidecar is validated against the trace's content key
 * ({@link TraceReader.contentKey}: the CRCs of its header, blocks and footer)
 * and its own checksums; a stale or damaged sidecar is ignored and rebuilt by
 * one fold of the trace (written to a temporary file and renamed, and skipped
 * quietly when the folder is not writable). Shorter traces, and traces
 * without a footer, are folded from the start. Within one process the
 * snapshots read are also kept in memory for a bounded number of files.
 *
 * Sidecar layout (all integers little-endian): magic `LSSK`, version u32 = 1,
 * content key u32, trace size u64, snapshot interval u32, snapshot count u32,
 * then per snapshot: event index u64, byte offset u64, byte length u32,
 * CRC-32C u32 of the bytes; then the CRC-32C of everything before it (u32);
 * then the snapshots, each the UTF-8 JSON of {@link StateSnapshot}.
 *
 * @example
 * ```ts
 * import { stateAt } from "./seek.ts";
 * const s = stateAt("runs/taskq-demo-1.lstrace", 1000);
 * s.threads.length > 0; // true
 * ```
 * @module
 */
import { crc32c, getU32, getU64, putU32, putU64 } from "../format/format.ts";
import { TraceReader } from "./reader.ts";
import { RebuiltState, type StateJson, type StateSnapshot } from "./state.ts";
import { foldFailure } from "./_fold_error.ts";

/**
 * Events between seek snapshots: a multiple of the viewer index's chunk
 * (4096 events, replay/_query_index.ts), and small enough that a seek folds
 * fewer events than the one block (~45 000 events at the default block size)
 * it decodes anyway. The sidecar costs ~2-3 KiB per snapshot on the shipped
 * scenarios (1.5 MB for 10 M events).
 */
export const SNAPSHOT_EVERY = 16384;
/** Suffix of the sidecar file holding a trace's seek snapshots. */
export const SEEK_SUFFIX = ".seek";
const SEEK_MAGIC = 0x4b53534c; // "LSSK"
const SEEK_VERSION = 1;
const HEAD_BYTES = 28;
const ENTRY_BYTES = 24;
/** Most snapshots a sidecar may list (2^24 * 2^17 events is past any trace). */
const SNAPSHOTS_MAX = 1 << 24;
const FILES_MAX = 8;

/** Snapshots of one trace in memory: `states[k]` is the state after k * SNAPSHOT_EVERY events, when loaded. */
export interface Snapshots {
  /** The trace's content key the snapshots belong to. */
  readonly key: string;
  /** Snapshots loaded so far (sparse). */
  readonly states: (RebuiltState | undefined)[];
}

const cache = new Map<string, Snapshots>();

/**
 * The state after events [0, index) of the trace at `path` (clamped to the
 * event count). Uses the persisted snapshots when the trace has them (and
 * makes them on first use when it is long enough). Throws TraceError for a
 * damaged trace. An open `reader` of the same file is used (and left open)
 * instead of opening it again.
 */
export function stateAt(path: string, index: number, reader?: TraceReader): StateJson {
  if (!Number.isSafeInteger(index) || index < 0) throw new RangeError(`bad event index ${index}`);
  const r = reader ?? TraceReader.open(path);
  let at = 0;
  try {
    const start = nearestSnapshot(path, r, index);
    const s = start ?? new RebuiltState(r.header.cpus);
    at = s.index;
    if (s.index < index) {
      for (const e of r.events(s.index)) {
        if (e.index >= index) break;
        at = e.index;
        s.apply(e);
      }
    }
    return s.toJSON();
  } catch (err) {
    throw foldFailure(err, r, at);
  } finally {
    if (reader === undefined) r.close();
  }
}

/**
 * A state to fold forward from towards event `index`: a copy of the
 * persisted snapshot at or before it (k * SNAPSHOT_EVERY events), or the
 * empty state of the trace's machine when there is none.
 */
export function stateBefore(path: string, r: TraceReader, index: number): RebuiltState {
  return nearestSnapshot(path, r, index) ?? new RebuiltState(r.header.cpus);
}

/** The snapshot at or before `index` (a copy the caller may fold on), or undefined to fold from the start. */
function nearestSnapshot(path: string, r: TraceReader, index: number): RebuiltState | undefined {
  const count = r.eventCount;
  const contentKey = r.contentKey();
  if (count === undefined || contentKey === undefined || count <= SNAPSHOT_EVERY || index < SNAPSHOT_EVERY) {
    return undefined;
  }
  const size = Deno.statSync(path).size;
  const key = `${contentKey}:${size}`;
  let snaps = cache.get(path);
  if (!snaps || snaps.key !== key) {
    if (cache.size >= FILES_MAX) cache.delete(cache.keys().next().value as string);
    snaps = { key, states: [] };
    cache.set(path, snaps);
  }
  const k = Math.floor(Math.min(index, count) / SNAPSHOT_EVERY);
  let s = snaps.states[k];
  if (s === undefined) {
    s = readSnapshot(path + SEEK_SUFFIX, contentKey, size, k) ?? buildSidecar(path, r, contentKey, size)[k];
    if (s === undefined) return undefined;
    snaps.states[k] = s;
  }
  return s.clone();
}

/**
 * Snapshot `k` from the sidecar at `seekPath`, or undefined when the sidecar
 * is missing, belongs to another trace content, or is damaged anywhere it
 * was read.
 */
function readSnapshot(seekPath: string, contentKey: number, size: number, k: number): RebuiltState | undefined {
  let f: Deno.FsFile;
  try {
    f = Deno.openSync(seekPath, { read: true });
  } catch {
    return undefined;
  }
  try {
    const fileBytes = f.statSync().size;
    const head = new Uint8Array(HEAD_BYTES);
    if (fileBytes < HEAD_BYTES + 4 || !readAt(f, 0, head)) return undefined;
    if (getU32(head, 0) !== SEEK_MAGIC || getU32(head, 4) !== SEEK_VERSION) return undefined;
    if (getU32(head, 8) !== contentKey || getU64(head, 12) !== size || getU32(head, 20) !== SNAPSHOT_EVERY) {
      return undefined; // another trace, or another version of this one: stale
    }
    const n = getU32(head, 24);
    if (n > SNAPSHOTS_MAX || HEAD_BYTES + n * ENTRY_BYTES + 4 > fileBytes || k >= n) return undefined;
    const table = new Uint8Array(HEAD_BYTES + n * ENTRY_BYTES + 4);
    if (!readAt(f, 0, table)) return undefined;
    const tableEnd = HEAD_BYTES + n * ENTRY_BYTES;
    if (crc32c(table, 0, 0, tableEnd) !== getU32(table, tableEnd)) return undefined;
    const at = HEAD_BYTES + k * ENTRY_BYTES;
    const eventIndex = getU64(table, at), offset = getU64(table, at + 8), len = getU32(table, at + 16);
    if (eventIndex !== k * SNAPSHOT_EVERY || offset < 0 || offset + len > fileBytes) return undefined;
    const body = new Uint8Array(len);
    if (!readAt(f, offset, body) || crc32c(body) !== getU32(table, at + 20)) return undefined;
    const s = RebuiltState.fromSnapshot(JSON.parse(new TextDecoder().decode(body)) as StateSnapshot);
    return s.index === eventIndex ? s : undefined;
  } catch {
    return undefined; // unreadable or malformed: treated as absent, and rebuilt
  } finally {
    f.close();
  }
}

/**
 * Folds the whole trace once, keeping a snapshot every SNAPSHOT_EVERY events,
 * and writes them to the sidecar (temporary file, then rename; nothing when
 * the folder is not writable). Returns the snapshots.
 */
function buildSidecar(path: string, r: TraceReader, contentKey: number, size: number): RebuiltState[] {
  const states: RebuiltState[] = [];
  const bodies: Uint8Array[] = [];
  const enc = new TextEncoder();
  const s = new RebuiltState(r.header.cpus);
  const keep = () => {
    states.push(s.clone());
    bodies.push(enc.encode(JSON.stringify(s.snapshot())));
  };
  keep();
  for (const e of r.events()) {
    s.apply(e);
    if (s.index % SNAPSHOT_EVERY === 0) keep();
  }
  const n = bodies.length;
  const table = new Uint8Array(HEAD_BYTES + n * ENTRY_BYTES + 4);
  putU32(table, 0, SEEK_MAGIC);
  putU32(table, 4, SEEK_VERSION);
  putU32(table, 8, contentKey);
  putU64(table, 12, size);
  putU32(table, 20, SNAPSHOT_EVERY);
  putU32(table, 24, n);
  let offset = table.length;
  bodies.forEach((b, k) => {
    const at = HEAD_BYTES + k * ENTRY_BYTES;
    putU64(table, at, k * SNAPSHOT_EVERY);
    putU64(table, at + 8, offset);
    putU32(table, at + 16, b.length);
    putU32(table, at + 20, crc32c(b));
    offset += b.length;
  });
  putU32(table, HEAD_BYTES + n * ENTRY_BYTES, crc32c(table, 0, 0, HEAD_BYTES + n * ENTRY_BYTES));
  const seekPath = path + SEEK_SUFFIX;
  const tmp = `${seekPath}.${Deno.pid}.tmp`;
  try {
    const f = Deno.openSync(tmp, { write: true, create: true, truncate: true });
    try {
      writeAll(f, table);
      for (const b of bodies) writeAll(f, b);
    } finally {
      f.close();
    }
    Deno.renameSync(tmp, seekPath);
  } catch {
    // A read-only folder or a full disk: seeking still works, by folding.
    try {
      Deno.removeSync(tmp);
    } catch {
      // nothing was created
    }
  }
  return states;
}

function readAt(f: Deno.FsFile, pos: number, dst: Uint8Array): boolean {
  f.seekSync(pos, Deno.SeekMode.Start);
  let done = 0;
  while (done < dst.length) {
    const n = f.readSync(dst.subarray(done));
    if (n === null || n === 0) return false;
    done += n;
  }
  return true;
}

function writeAll(f: Deno.FsFile, bytes: Uint8Array): void {
  let done = 0;
  for (let attempt = 0; done < bytes.length; attempt++) {
    if (attempt > 1_000_000) throw new Error("seek sidecar: write makes no progress");
    done += f.writeSync(bytes.subarray(done));
  }
}
