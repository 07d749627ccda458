/**
 * The per-run index behind the viewer queries, built in one streaming pass
 * over the trace and small whatever the trace size: a fixed time grid of
 * per-CPU occupancy cells (dominant thread, busy share, first event), a
 * snapshot of what each CPU ran every {@link CHUNK_EVENTS} events (so a
 * window can be replayed exactly from near its start), object names, kind
 * counts and the violations.
 *
 * @module
 */
import { EventRecord } from "../core/event.ts";
import { ENUMS, FIELDS_MAX, KIND, KIND_ID_MAX } from "../core/schema.ts";
import type { TraceHeader } from "../format/format.ts";
import { BlockCursor } from "./_blocks.ts";
import type { DecodedBlock } from "../format/decode.ts";
import { LockTrack } from "./_query_locks.ts";
import { Occupancy, pyramid } from "./_query_grid.ts";

export { type CellSum, coarsen, Occupancy, sumCells } from "./_query_grid.ts";
import type { TraceReader } from "./reader.ts";

/** Events between two per-CPU snapshots; an exact timeline window replays at most this many extra events. */
export const CHUNK_EVENTS = 4096;
/** 32-bit words per chunk in `chunkKinds`. */
export const KIND_WORDS: number = Math.ceil((KIND_ID_MAX + 1) / 32);
/** Target events per grid cell: the grid stays about 1/64 of the event count. */
const EVENTS_PER_CELL = 64;
/** Most grid cells over all CPUs (bounds the index at ~14 bytes a cell). */
const CELLS_MAX = 2_000_000;
/** Most object names kept (obj-alloc can name one object per packet). */
const NAMES_MAX = 200_000;
/** Most violations kept. */
const VIOLATIONS_MAX = 10_000;

/** Thread kinds as thread-create's `kind` field carries them (ENUMS.threadKind). */
export const THREAD_KINDS = ENUMS.threadKind;

/** A thread as the index knows it. */
export interface ThreadInfo {
  id: number;
  name: string;
  kind: string;
  prio: number;
}

/** A violation event. */
export interface ViolationInfo {
  index: number;
  tNs: number;
  cpu: number;
  thread: number;
  kind: string;
  message: string;
}

/** Everything the queries know about one run without reading it again. */
export interface RunIndex {
  readonly header: TraceHeader;
  readonly events: number;
  readonly hasFooter: boolean;
  /** The damage message when the trace is damaged (events before it are indexed). */
  readonly damage: string | undefined;
  readonly tFirst: number;
  readonly tLast: number;
  readonly cpus: number;
  readonly grid: Occupancy;
  /** `grid` then coarser copies (each LEVEL_FACTOR times coarser). */
  readonly levels: Occupancy[];
  /** Time of event k * CHUNK_EVENTS. */
  readonly chunkT: Float64Array;
  /** Thread running on each CPU just before event k * CHUNK_EVENTS (cpus per chunk). */
  readonly chunkCur: Int32Array;
  /** Lock waits and holds open just before event k * CHUNK_EVENTS: entries [chunkLockAt[k], chunkLockAt[k+1]) of `chunkLocks`. */
  readonly chunkLockAt: Float64Array;
  /** Flat open-lock entries (see `_query_locks.ts` LOCK_ENTRY). */
  readonly chunkLocks: Float64Array;
  /** Kinds present in each chunk: KIND_WORDS bits-words per chunk, bit k set when kind k occurs (filtered paging skips the rest). */
  readonly chunkKinds: Uint32Array;
  /** Soft interrupts pending on each CPU just before event k * CHUNK_EVENTS (cpus per chunk). */
  readonly chunkSoftint: Int32Array;
  /** Switches to a thread (not to idle): the CLI's `contextSwitches`. */
  readonly switches: number;
  /** `wake` events, and those onto another CPU than the waker's: the CLI's `wakeups` and `crossCpuWakeups`. */
  readonly wakeups: number;
  readonly crossCpuWakeups: number;
  /** `lock-wait` events per lock id (the CLI's `lockContention` sums them per class). */
  readonly lockWaitsById: Map<number, number>;
  readonly kindCounts: Float64Array;
  readonly busyNs: Float64Array;
  readonly threads: Map<number, ThreadInfo>;
  /** Names of kernel objects (locks by class, task queues, tasks, softints, ...). */
  readonly names: Map<number, string>;
  readonly locks: { id: number; cls: string; type: string }[];
  readonly violations: ViolationInfo[];
  readonly endReason: string | undefined;
  readonly bytes: number;
}

/**
 * The index's typed arrays, in the order the persisted index stores them
 * (`_query_store.ts`) and a Worker transfers them (`_query_worker.ts`); each
 * level of the grid adds {@link LEVEL_ARRAYS}.
 */
export const INDEX_ARRAYS = [
  "chunkT",
  "chunkCur",
  "chunkLockAt",
  "chunkLocks",
  "chunkKinds",
  "chunkSoftint",
  "kindCounts",
  "busyNs",
] as const satisfies readonly (keyof RunIndex)[];
/** The typed arrays of each grid level (an Occupancy), after {@link INDEX_ARRAYS}. */
export const LEVEL_ARRAYS = ["act", "busy", "firstEv"] as const;

/** The typed arrays of `ix` in that order: {@link INDEX_ARRAYS}, then each level's {@link LEVEL_ARRAYS}. */
export function indexArrays(ix: RunIndex): (Float64Array | Int32Array | Uint32Array | Uint16Array)[] {
  const out: (Float64Array | Int32Array | Uint32Array | Uint16Array)[] = INDEX_ARRAYS.map((k) => ix[k]);
  for (const g of ix.levels) for (const k of LEVEL_ARRAYS) out.push(g[k]);
  return out;
}

/** Mutable state of the indexing pass. */
interface Pass {
  cur: Int32Array;
  lastT: Float64Array;
  chunkT: number[];
  chunkCur: number[];
  chunkLockAt: number[];
  chunkLocks: number[];
  chunkSoftint: number[];
  softint: Int32Array;
  chunkKinds: number[];
  locks: LockTrack;
  rec: EventRecord;
}

/**
 * Calls `fn` with each decoded block from the one holding `fromIndex` on,
 * and the position of `fromIndex` in the first; stops when `fn` returns
 * false, at the end, or (recover mode) at damage. Reading the columns
 * directly instead of filling a record per event halves the cost of a pass.
 * `cur`: a cursor kept by the caller (a run's), so a block it holds already
 * is not decoded again; `fn` must then not use that cursor itself.
 */
export function forEachBlock(
  reader: TraceReader,
  fromIndex: number,
  fn: (d: DecodedBlock, start: number) => boolean,
  cur: BlockCursor = new BlockCursor(),
): void {
  let b = reader.locate(fromIndex, cur);
  if (b < 0) return;
  // `start` is fromIndex's position in the first block and 0 in the others (computed after the block is loaded:
  // a loop update computing it from the block before gave the later blocks a negative start).
  for (let first = true; reader.loadBlock(b, cur); b++, first = false) {
    if (!fn(cur.decoded, first ? fromIndex - cur.decoded.firstIndex : 0)) return;
  }
}

/**
 * Builds the index of an open reader (opened with `recover: true`) in one
 * pass. A file without a footer is scanned first to learn its length.
 */
export function buildIndex(
  reader: TraceReader,
  bytes: number,
  progress?: (done: number, of: number) => void,
  limit = Infinity,
): RunIndex {
  // A prefix index (a preview while the whole one is built) covers events [0, limit).
  const { events, tFirst, tLast } = extent(reader, limit);
  const cpus = reader.header.cpus;
  const cells = Math.max(1, Math.min(Math.ceil(events / EVENTS_PER_CELL), Math.floor(CELLS_MAX / cpus)));
  const cellNs = Math.max(1, Math.ceil((tLast - tFirst + 1) / cells));
  const grid = new Occupancy(cpus, cells, cellNs, tFirst);
  const ix = newIndex(reader, events, bytes, grid, tFirst, tLast);
  const pass: Pass = {
    cur: new Int32Array(cpus),
    lastT: new Float64Array(cpus).fill(tFirst),
    chunkT: [],
    chunkCur: [],
    chunkLockAt: [],
    chunkLocks: [],
    chunkSoftint: [],
    softint: new Int32Array(cpus),
    chunkKinds: [],
    locks: new LockTrack(),
    rec: new EventRecord(),
  };
  let reported = 0;
  if (events > 0) {
    forEachBlock(reader, 0, (d) => {
      if (d.firstIndex >= events) return false;
      visitBlock(ix, pass, d, reader, events - d.firstIndex);
      const done = d.firstIndex + d.count;
      if (progress && done - reported >= 1 << 18) progress(reported = done, events);
      return true;
    });
  }
  pass.chunkLockAt.push(pass.chunkLocks.length);
  for (let c = 0; c < cpus; c++) account(ix, pass, c, tLast);
  grid.finish();
  return {
    ...ix,
    levels: pyramid(grid),
    damage: reader.damage?.message,
    chunkT: Float64Array.from(pass.chunkT),
    chunkCur: Int32Array.from(pass.chunkCur),
    chunkLockAt: Float64Array.from(pass.chunkLockAt),
    chunkLocks: Float64Array.from(pass.chunkLocks),
    chunkKinds: Uint32Array.from(pass.chunkKinds),
    chunkSoftint: Int32Array.from(pass.chunkSoftint),
  };
}

/**
 * Events indexed (at most `limit`) and the first and last of their times.
 * Damage (met in recover mode) can hide events the footer counts; then one
 * extra pass finds the last good event. A prefix reads no block past its
 * end (a preview is built first on a cold worker: a block less is a few
 * tens of milliseconds sooner).
 */
function extent(reader: TraceReader, limit: number): { events: number; tFirst: number; tLast: number } {
  let events = Math.min(reader.eventCount ?? reader.scan(), limit);
  const first = events > 0 ? reader.readEvent(0) : undefined;
  const tFirst = first?.tNs ?? 0;
  let tLast = events > 0 ? reader.readEvent(events - 1)?.tNs : 0;
  if (tLast === undefined) {
    events = 0;
    tLast = tFirst;
    forEachBlock(reader, 0, (d) => {
      events = d.firstIndex + d.count;
      tLast = d.tNs[d.count - 1];
      return events < limit;
    });
    if (events > limit) {
      events = limit;
      tLast = reader.readEvent(limit - 1)?.tNs ?? tFirst;
    }
  }
  return { events: first ? events : 0, tFirst, tLast };
}

function newIndex(reader: TraceReader, events: number, bytes: number, grid: Occupancy, tFirst: number, tLast: number) {
  return {
    header: reader.header,
    events,
    hasFooter: reader.hasFooter,
    tFirst,
    tLast,
    cpus: reader.header.cpus,
    grid,
    kindCounts: new Float64Array(KIND_ID_MAX + 1),
    busyNs: new Float64Array(reader.header.cpus),
    threads: new Map<number, ThreadInfo>(),
    names: new Map<number, string>(),
    locks: [] as { id: number; cls: string; type: string }[],
    violations: [] as ViolationInfo[],
    endReason: undefined as string | undefined,
    switches: 0,
    wakeups: 0,
    crossCpuWakeups: 0,
    lockWaitsById: new Map<number, number>(),
    bytes,
  };
}

type Building = ReturnType<typeof newIndex>;

/** Closes the running span of `cpu` at `t`. */
function account(ix: Building, pass: Pass, cpu: number, t: number): void {
  const th = pass.cur[cpu];
  const from = pass.lastT[cpu];
  if (t > from) {
    ix.grid.add(cpu, th, from, t);
    if (th !== 0) ix.busyNs[cpu] += t - from;
  }
  pass.lastT[cpu] = t;
}

/** Kinds whose events name things or end the run: the only ones decoded into a record. */
const NOTED = new Set<number>([
  KIND.violation,
  KIND.runEnd,
  KIND.threadCreate,
  KIND.lockInit,
  KIND.softintEstablish,
  KIND.intrEnter,
  KIND.taskqCreate,
  KIND.taskInit,
  KIND.timeoutInit,
  KIND.objAlloc,
]);

function visitBlock(ix: Building, pass: Pass, d: DecodedBlock, strings: TraceReader, left: number): void {
  const { kind, tNs, cpu, fields, thread } = d;
  const counts = ix.kindCounts;
  const cpus = ix.cpus;
  let nextChunk = pass.chunkT.length * CHUNK_EVENTS - d.firstIndex;
  const n = Math.min(d.count, left);
  for (let i = 0; i < n; i++) {
    if (i === nextChunk) {
      pass.chunkT.push(tNs[i]);
      for (let c = 0; c < cpus; c++) pass.chunkCur.push(pass.cur[c]);
      pass.chunkLockAt.push(pass.chunkLocks.length);
      pass.locks.snapshot(pass.chunkLocks);
      for (let c = 0; c < cpus; c++) pass.chunkSoftint.push(pass.softint[c]);
      for (let w = 0; w < KIND_WORDS; w++) pass.chunkKinds.push(0);
      nextChunk += CHUNK_EVENTS;
    }
    const k = kind[i], at = i * FIELDS_MAX;
    counts[k]++;
    pass.chunkKinds[pass.chunkKinds.length - KIND_WORDS + (k >>> 5)] |= 1 << (k & 31);
    if (k === KIND.switch) {
      const c = cpu[i] < cpus ? cpu[i] : 0;
      account(ix, pass, c, tNs[i]);
      pass.cur[c] = fields[at + 1];
      if (fields[at + 1] !== 0) ix.switches++;
      ix.grid.noteEvent(c, tNs[i], d.firstIndex + i);
    } else if (k === KIND.lockWait) {
      pass.locks.wait(thread[i], fields[at], cpu[i], tNs[i], d.firstIndex + i);
      ix.lockWaitsById.set(fields[at], (ix.lockWaitsById.get(fields[at]) ?? 0) + 1);
    } else if (k === KIND.lockAcquire) pass.locks.acquire(fields[at + 2], fields[at], cpu[i], tNs[i], d.firstIndex + i);
    else if (k === KIND.lockRelease) pass.locks.release(thread[i], fields[at], tNs[i]);
    else if (k === KIND.softintSchedule || k === KIND.softintRun) {
      // Pending per CPU: a schedule that queued marks its target CPU, the handler's start clears the mark.
      const c = k === KIND.softintSchedule ? fields[at + 1] : cpu[i];
      if (c < cpus) pass.softint[c] = softintPending(pass.softint[c], k, fields[at + 2]);
    } else if (k === KIND.wake) {
      ix.wakeups++;
      if (fields[at + 1] !== cpu[i]) ix.crossCpuWakeups++;
    } else if (NOTED.has(k)) {
      d.fill(i, pass.rec);
      if (k === KIND.violation) noteViolation(ix, pass.rec, strings);
      else if (k === KIND.runEnd) ix.endReason = ENUMS.runEnd[fields[i * FIELDS_MAX]] ?? "?";
      else noteNames(ix, pass.rec, strings);
    }
  }
}

function noteViolation(ix: Building, e: EventRecord, strings: TraceReader): void {
  if (ix.violations.length >= VIOLATIONS_MAX) return;
  ix.violations.push({
    index: e.index,
    tNs: e.tNs,
    cpu: e.cpu,
    thread: e.thread,
    kind: ENUMS.violation[e.fields[0]] ?? String(e.fields[0]),
    message: strings.string(e.fields[1]) ?? "",
  });
}

/** Remembers the names that make events and states readable. */
function noteNames(ix: Building, e: EventRecord, strings: TraceReader): void {
  const f = e.fields;
  const str = (id: number) => strings.string(id) ?? `#${id}`;
  const name = (id: number, s: number) => {
    if (ix.names.size < NAMES_MAX) ix.names.set(id, str(s));
  };
  switch (e.kind) {
    case KIND.threadCreate:
      ix.threads.set(f[0], { id: f[0], name: str(f[1]), kind: THREAD_KINDS[f[5]] ?? String(f[5]), prio: f[2] });
      break;
    case KIND.lockInit:
      name(f[0], f[1]);
      ix.locks.push({ id: f[0], cls: str(f[1]), type: ENUMS.lockType[f[2]] ?? String(f[2]) });
      break;
    case KIND.softintEstablish:
      name(f[0], f[2]);
      break;
    case KIND.intrEnter:
    case KIND.taskqCreate:
    case KIND.taskInit:
    case KIND.timeoutInit:
    case KIND.objAlloc:
      if (!ix.names.has(f[0])) name(f[0], f[1]);
      break;
  }
}

/**
 * Soft interrupts pending on a CPU after a `softint-schedule` (queued 1: one
 * more; 0: it was already pending) or a `softint-run` (its mark cleared).
 */
export function softintPending(was: number, kind: number, queued: number): number {
  if (kind === KIND.softintSchedule) return queued === 1 ? was + 1 : was;
  return was > 0 ? was - 1 : 0;
}

/**
 * Index of the first event at or after `t`: from the chunk times, then a scan of at most one chunk or so
 * (`cur`: see {@link forEachBlock}).
 */
export function indexAtTime(reader: TraceReader, ix: RunIndex, t: number, cur?: BlockCursor): number {
  let lo = 0, hi = ix.chunkT.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if (ix.chunkT[mid] < t) lo = mid;
    else hi = mid - 1;
  }
  let found = ix.events;
  if (ix.events === 0) return 0;
  forEachBlock(reader, lo * CHUNK_EVENTS, (d, start) => {
    for (let i = start; i < d.count; i++) {
      if (d.tNs[i] >= t) {
        found = d.firstIndex + i;
        return false;
      }
    }
    return true;
  }, cur);
  return found;
}
