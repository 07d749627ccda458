/**
 * Seeking: the rebuilt state at any event, across processes. A trace longer
 * than {@link SNAPSHOT_EVERY} events gets a sidecar file `FILE.seek` next to
 * it, holding the rebuilt state every SNAPSHOT_EVERY events and at the first
 * event of every block; a request reads the last snapshot at or before its
 * target, so it folds at most SNAPSHOT_EVERY events, all in the target's
 * block, and decodes that block only up to the target. The sidecar is
 * validated against the trace's content key ({@link TraceReader.contentKey}:
 * the CRCs of its header, blocks and footer) and its own checksums; a stale
 * or damaged sidecar is ignored and rebuilt by one fold of the trace
 * (written to a temporary file and renamed, and skipped quietly when the
 * folder is not writable). Shorter traces, and traces without a footer, are
 * folded from the start. Within one process the snapshots read are also kept
 * in memory for a bounded number of files.
 *
 * Sidecar layout (all integers little-endian): magic `LSSK`, version u32 = 2,
 * content key u32, trace size u64, snapshot interval u32, snapshot count u32,
 * then per snapshot, by ascending event index, the first at 0: event index
 * u64, byte offset u64, byte length u32, CRC-32C u32 of the bytes; then the
 * CRC-32C of everything before it (u32); then the snapshots, each the UTF-8
 * JSON of `{"state": StateSnapshot, "decoder": DecoderState | null}`: the
 * rebuilt state, and the block decoder's state at that event (null at a
 * block's first event), so a seek decodes from the snapshot, not from the
 * block's start. (Version 1 had the multiples of the interval and the state
 * alone; such a sidecar is stale and rebuilt.)
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
import type { DecoderState } from "../format/decode.ts";
import { TraceReader } from "./reader.ts";
import { RebuiltState, type StateJson, type StateSnapshot } from "./state.ts";
import { foldFailure } from "./_fold_error.ts";

/**
 * Events between seek snapshots (besides the one at each block's first
 * event): a multiple of the viewer index's chunk (4096 events,
 * replay/_query_index.ts), which {@link stateBefore} relies on. The sidecar
 * costs ~2-3 KiB per snapshot on the shipped scenarios (~3.6 MB for 10 M
 * events of mutex-storm, a quarter of the trace). A seek in a new process
 * folds at most this many events, cold (V8 has not compiled the decoder and
 * the fold yet: a few microseconds an event at first): 16384 made the fold
 * the largest part of `replay --at`; 4096 would halve it again for a sidecar
 * about half the trace's size.
 */
export const SNAPSHOT_EVERY = 8192;
/** Suffix of the sidecar file holding a trace's seek snapshots. */
export const SEEK_SUFFIX = ".seek";
const SEEK_MAGIC = 0x4b53534c; // "LSSK"
const SEEK_VERSION = 2;
const HEAD_BYTES = 28;
const ENTRY_BYTES = 24;
/** Most snapshots a sidecar may list (2^24 * 2^17 events is past any trace). */
const SNAPSHOTS_MAX = 1 << 24;
const FILES_MAX = 8;

/** Snapshots of one trace in memory. */
export interface Snapshots {
  /** The trace's content key and size the snapshots belong to. */
  readonly key: string;
  /** Event index of each snapshot, ascending (from the sidecar's table, or the fold that built it). */
  readonly at: readonly number[];
  /** The sidecar's table (entries and CRC), to read bodies from. */
  readonly table: Uint8Array;
  /** The snapshots' bytes when the sidecar could not be written (a read-only folder), else null. */
  readonly bodies: Uint8Array[] | null;
  /** Snapshots loaded so far (sparse), by position in `at`. */
  readonly states: (Snapshot | undefined)[];
}

/** One snapshot: the rebuilt state after `state.index` events, and the decoder's state there. */
interface Snapshot {
  readonly state: RebuiltState;
  /** Null at a block's first event (and after the last event). */
  readonly decoder: DecoderState | null;
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
    const start = nearestSnapshot(path, r, index, 1);
    const s = start?.state ?? new RebuiltState(r.header.cpus);
    at = s.index;
    // The snapshot is in the target's block, with the decoder's state there: only the events
    // between the two are decoded.
    if (s.index < index) {
      r.forEachBetween(s.index, index, (e) => void (at = e.index, s.apply(e)), start?.decoder ?? null);
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
 * persisted snapshot at or before it at a multiple of SNAPSHOT_EVERY (the
 * viewer's counters need a chunk boundary), or the empty state of the
 * trace's machine when there is none.
 */
export function stateBefore(path: string, r: TraceReader, index: number): RebuiltState {
  return nearestSnapshot(path, r, index, SNAPSHOT_EVERY)?.state ?? new RebuiltState(r.header.cpus);
}

/**
 * The last snapshot at or before `index` whose event index is a multiple of
 * `multiple` (a copy the caller may fold on), or undefined to fold from the
 * start.
 */
function nearestSnapshot(path: string, r: TraceReader, index: number, multiple: number): Snapshot | undefined {
  const count = r.eventCount;
  const contentKey = r.contentKey();
  if (count === undefined || contentKey === undefined || count <= SNAPSHOT_EVERY) return undefined;
  // Near the start a fold from the empty state is short: not worth a first fold of the whole trace.
  if (index < SNAPSHOT_EVERY && !cache.has(path)) return undefined;
  const size = Deno.statSync(path).size;
  const key = `${contentKey}:${size}`;
  let snaps = cache.get(path);
  if (!snaps || snaps.key !== key) {
    snaps = readTable(path + SEEK_SUFFIX, contentKey, size) ?? buildSidecar(path, r, contentKey, size);
    if (cache.size >= FILES_MAX) cache.delete(cache.keys().next().value as string);
    cache.set(path, snaps);
  }
  // The last snapshot at or before the target (binary search), then back to a multiple if asked.
  const at = snaps.at;
  let lo = 0, hi = at.length - 1;
  const target = Math.min(index, count);
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (at[mid] <= target) lo = mid;
    else hi = mid - 1;
  }
  let k = lo;
  while (k > 0 && at[k] % multiple !== 0) k--;
  if (at[k] === 0) return undefined; // the empty state: nothing to read
  let s = snaps.states[k];
  if (s === undefined) {
    s = readBody(path + SEEK_SUFFIX, snaps, k);
    if (s === undefined) {
      // Damaged since the table was read: rebuild everything once, and use the fresh copy.
      cache.delete(path);
      const fresh = buildSidecar(path, r, contentKey, size);
      cache.set(path, fresh);
      if (fresh.at[k] !== at[k]) return undefined;
      s = readBody(path + SEEK_SUFFIX, fresh, k);
      if (s === undefined) return undefined;
      fresh.states[k] = s;
    } else {
      snaps.states[k] = s;
    }
  }
  return { state: s.state.clone(), decoder: s.decoder };
}

/**
 * The sidecar's table at `seekPath`, or undefined when the sidecar is
 * missing, belongs to another trace content or version, or its table is
 * damaged.
 */
function readTable(seekPath: string, contentKey: number, size: number): Snapshots | undefined {
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
    if (n < 1 || n > SNAPSHOTS_MAX || HEAD_BYTES + n * ENTRY_BYTES + 4 > fileBytes) return undefined;
    const table = new Uint8Array(HEAD_BYTES + n * ENTRY_BYTES + 4);
    if (!readAt(f, 0, table)) return undefined;
    const tableEnd = HEAD_BYTES + n * ENTRY_BYTES;
    if (crc32c(table, 0, 0, tableEnd) !== getU32(table, tableEnd)) return undefined;
    const at: number[] = [];
    for (let k = 0; k < n; k++) {
      const e = HEAD_BYTES + k * ENTRY_BYTES;
      const index = getU64(table, e), offset = getU64(table, e + 8), len = getU32(table, e + 16);
      if (k === 0 ? index !== 0 : !(index > at[k - 1])) return undefined; // ascending from 0
      if (offset < tableEnd + 4 || offset + len > fileBytes) return undefined;
      at.push(index);
    }
    return { key: `${contentKey}:${size}`, at, table, bodies: null, states: [] };
  } catch {
    return undefined; // unreadable or malformed: treated as absent, and rebuilt
  } finally {
    f.close();
  }
}

/** Snapshot `k` (from the sidecar, or the bytes kept when it could not be written); undefined when damaged. */
function readBody(seekPath: string, snaps: Snapshots, k: number): Snapshot | undefined {
  const table = snaps.table;
  const e = HEAD_BYTES + k * ENTRY_BYTES;
  const index = getU64(table, e), offset = getU64(table, e + 8), len = getU32(table, e + 16);
  let body: Uint8Array;
  let f: Deno.FsFile | undefined;
  try {
    if (snaps.bodies !== null) {
      body = snaps.bodies[k];
    } else {
      f = Deno.openSync(seekPath, { read: true });
      body = new Uint8Array(len);
      if (!readAt(f, offset, body)) return undefined;
    }
    if (body.length !== len || crc32c(body) !== getU32(table, e + 20)) return undefined;
    const o = JSON.parse(new TextDecoder().decode(body)) as { state: StateSnapshot; decoder: DecoderState | null };
    const s = RebuiltState.fromSnapshot(o.state);
    const d = o.decoder;
    if (s.index !== index || (d !== null && (typeof d !== "object" || typeof d.event !== "number"))) return undefined;
    return { state: s, decoder: d };
  } catch {
    return undefined;
  } finally {
    f?.close();
  }
}

/**
 * Folds the whole trace once, keeping a snapshot every SNAPSHOT_EVERY events
 * and at each block's first event, and writes them to the sidecar
 * (temporary file, then rename; nothing when the folder is not writable).
 * Returns the table (the snapshots are read back as needed, from the file or
 * from memory when it could not be written: none is kept as a live state).
 */
function buildSidecar(path: string, r: TraceReader, contentKey: number, size: number): Snapshots {
  const at: number[] = [];
  const bodies: Uint8Array[] = [];
  const enc = new TextEncoder();
  const s = new RebuiltState(r.header.cpus);
  const keep = (decoder: DecoderState | null) => {
    at.push(s.index);
    bodies.push(enc.encode(JSON.stringify({ state: s.snapshot(), decoder })));
  };
  keep(null);
  // Marks come before each block's first event and every SNAPSHOT_EVERY events, with the decoder's state there.
  r.forEachMarked(SNAPSHOT_EVERY, (index, decoder) => {
    if (index !== at[at.length - 1]) keep(decoder);
  }, (e) => s.apply(e));
  if (s.index % SNAPSHOT_EVERY === 0 && s.index !== at[at.length - 1]) keep(null); // after the last event
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
    const e = HEAD_BYTES + k * ENTRY_BYTES;
    putU64(table, e, at[k]);
    putU64(table, e + 8, offset);
    putU32(table, e + 16, b.length);
    putU32(table, e + 20, crc32c(b));
    offset += b.length;
  });
  putU32(table, HEAD_BYTES + n * ENTRY_BYTES, crc32c(table, 0, 0, HEAD_BYTES + n * ENTRY_BYTES));
  const seekPath = path + SEEK_SUFFIX;
  const tmp = `${seekPath}.${Deno.pid}.tmp`;
  let written = false;
  try {
    const f = Deno.openSync(tmp, { write: true, create: true, truncate: true });
    try {
      writeAll(f, table);
      for (const b of bodies) writeAll(f, b);
    } finally {
      f.close();
    }
    Deno.renameSync(tmp, seekPath);
    written = true;
  } catch {
    // A read-only folder or a full disk: seeking still works, from the snapshots kept in memory.
    try {
      Deno.removeSync(tmp);
    } catch {
      // nothing was created
    }
  }
  return { key: `${contentKey}:${size}`, at, table, bodies: written ? null : bodies, states: [] };
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
