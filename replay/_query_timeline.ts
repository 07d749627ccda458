/**
 * Timeline aggregation: per-CPU slices for a time window, at most `px`
 * buckets per CPU. Narrow windows (few events) are replayed exactly from the
 * nearest chunk snapshot, with lock spans and packet hops; wide windows are
 * answered from the index's occupancy grid without reading the trace, so the
 * cost is bounded either way.
 *
 * @module
 */
import { FIELDS_MAX, KIND, KINDS } from "../core/schema.ts";
import type { DecodedBlock } from "../format/decode.ts";
import { CHUNK_EVENTS, forEachBlock, Occupancy, type RunIndex, sumCells } from "./_query_index.ts";
import { LockTrack, type SpanSink } from "./_query_locks.ts";
import type { TraceReader } from "./reader.ts";

/** Windows holding at most this many events are replayed exactly (~50 ms); wider ones use the grid. */
export const EXACT_EVENTS_MAX = 120_000;
/** Lock spans and packet hops are collected only in windows of at most this many events (they cost the most). */
export const DETAIL_EVENTS_MAX = 40_000;
/** Most lock spans and packets a response carries. */
const SPANS_MAX = 1000;
const PACKETS_MAX = 500;
const HOPS_MAX = 32;
const VIOLATION_MARKS_MAX = 1000;
const WAKEUPS_MAX = 1000;

/** A run of buckets on one CPU where the same thread dominated. */
export interface Slice {
  t0: number;
  t1: number;
  /** Thread id (see `threads` of the response for its name and kind). */
  th: number;
  /** Share of the slice spent non-idle, 0..1. */
  busy: number;
  /** First event on this CPU in the slice (-1 when none). */
  ev: number;
}

/**
 * A lock hold or wait of one thread. `t0` and `ev` are its true start (the
 * `lock-wait` or `lock-acquire` event), which may lie before the window.
 */
export interface LockSpan {
  kind: "hold" | "wait";
  lock: number;
  thread: number;
  /** CPU the thread ran on when the span began. */
  cpu: number;
  t0: number;
  t1: number;
  ev: number;
  /** Still open at the window's end (`t1` is the window's end then). */
  open?: boolean;
}

/** One packet's steps. */
export interface PacketHops {
  pkt: number;
  flow: number;
  hops: { tNs: number; cpu: number; kind: string; ev: number }[];
}

/** A wakeup: `thread` woken at `t0` by code on `cpu0`, next running at `t1` on `cpu1` (-1: not within the window). */
export interface WakeArrow {
  thread: number;
  t0: number;
  cpu0: number;
  t1: number;
  cpu1: number;
  /** The wake event. */
  ev: number;
}

/** A counter track: `points` is flat [t, value, t, value, ...], the value holding until the next point. */
export interface CounterTrack {
  name: string;
  unit: string;
  points: number[];
}

/** A thread's runnable and blocked stretches in the window (what it waits on when blocked or spinning). */
export interface ThreadStates {
  thread: number;
  spans: { t0: number; t1: number; state: "runnable" | "blocked"; on: string }[];
}

/** The timeline response. */
export interface Timeline {
  t0: number;
  t1: number;
  px: number;
  bucketNs: number;
  /** "exact": replayed from the trace; "grid": from the precomputed occupancy grid. */
  mode: "exact" | "grid";
  /** Whether lock spans and packet hops were collected (only in narrow windows). */
  detail: boolean;
  cpus: { cpu: number; slices: Slice[] }[];
  threads: Record<string, { name: string; kind: string }>;
  locks: Record<string, string>;
  spans: LockSpan[];
  packets: PacketHops[];
  /** Wakeups in the window (detail windows only). */
  wakeups: WakeArrow[];
  /** Counter tracks (detail windows only; filled by the caller, which can rebuild state). */
  counters: CounterTrack[];
  /** Per-thread runnable and blocked stretches (detail windows only; filled with the counters). */
  threadStates: ThreadStates[];
  violations: { index: number; tNs: number; cpu: number; kind: string; message: string }[];
}

/**
 * Builds the timeline of [t0, t1] (clamped to the run) with `px` buckets per
 * CPU. `gridOnly`: from the grid even when the window is narrow enough to
 * replay (a preview's first view: no block decoded on the request's thread).
 */
export function timeline(
  reader: TraceReader,
  ix: RunIndex,
  t0: number,
  t1: number,
  px: number,
  gridOnly = false,
): Timeline {
  t0 = Math.max(t0, ix.tFirst);
  t1 = Math.min(t1, ix.tLast);
  if (t1 <= t0) t1 = t0 + 1;
  const k0 = chunkBefore(ix, t0);
  const events = (chunkAfter(ix, t1) - k0) * CHUNK_EVENTS;
  const exact = !gridOnly && events <= EXACT_EVENTS_MAX;
  // The grid cannot show finer than a cell: fewer, wider buckets then.
  let bucketNs = Math.max(1, (t1 - t0) / px);
  if (!exact) bucketNs = Math.max(bucketNs, ix.grid.cellNs);
  px = Math.max(1, Math.min(px, Math.ceil((t1 - t0) / bucketNs)));
  const detail = exact && events <= DETAIL_EVENTS_MAX;
  const base = {
    t0,
    t1,
    px,
    bucketNs,
    detail,
    threads: {},
    locks: {},
    spans: [],
    packets: [],
    wakeups: [],
    counters: [],
    threadStates: [],
    violations: [],
  };
  const out: Timeline = exact
    ? { ...base, mode: "exact", ...replayWindow(reader, ix, k0, t0, t1, px, bucketNs, detail) }
    : { ...base, mode: "grid", cpus: fromGrid(ix, t0, px, bucketNs) };
  out.violations = ix.violations.filter((v) => v.tNs >= t0 && v.tNs <= t1).slice(0, VIOLATION_MARKS_MAX)
    .map(({ index, tNs, cpu, kind, message }) => ({ index, tNs, cpu, kind, message }));
  out.threads = namesOf(ix, out);
  return out;
}

/** The last chunk starting strictly before `t` (so no event at `t` is skipped), or 0. */
function chunkBefore(ix: RunIndex, t: number): number {
  let lo = 0, hi = ix.chunkT.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if (ix.chunkT[mid] < t) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** The first chunk starting after `t` (the chunk count when none). */
function chunkAfter(ix: RunIndex, t: number): number {
  let lo = 0, hi = ix.chunkT.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ix.chunkT[mid] <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Collects the lock spans that overlap a window: a {@link LockTrack} seeded
 * with what was open at the replay's starting chunk (the rebuilt lock state
 * there) and fed every lock event from that chunk on, so spans that began
 * before the window keep their true start and event.
 */
class SpanCollector {
  readonly spans: LockSpan[] = [];
  readonly track: LockTrack = new LockTrack();
  readonly sink: SpanSink;

  /** `minNs`: spans with less than this inside the window would not show at this zoom and are left out. */
  constructor(readonly t0: number, readonly minNs: number) {
    this.sink = (kind, thread, lock, cpu, s0, ev, s1) => {
      if (s1 <= s0 || s1 < this.t0 || s1 - Math.max(s0, this.t0) < this.minNs) return;
      this.spans.push({ kind: kind ? "hold" : "wait", lock, thread, cpu, t0: s0, t1: s1, ev });
    };
  }

  /**
   * Closes what is still open at `t`, marked `open` and kept however short:
   * a deadlock's waits begin at the run's last instant and are what matters most.
   */
  finish(t: number): LockSpan[] {
    this.track.forEachOpen(t, (kind, thread, lock, cpu, s0, ev, s1) => {
      this.spans.push({ kind: kind ? "hold" : "wait", lock, thread, cpu, t0: s0, t1: s1, ev, open: true });
    });
    const all = this.spans;
    if (all.length > SPANS_MAX) all.sort((a, b) => (b.t1 - b.t0) - (a.t1 - a.t0)).length = SPANS_MAX;
    return all.sort((a, b) => a.t0 - b.t0 || a.ev - b.ev);
  }
}

const PKT_KINDS = new Map(KINDS.filter((k) => k.fields[0]?.type === "pkt").map((k) => [k.id, k.name]));

/** Replays the window's events into bucket-sized cells, lock spans and packet hops. */
function replayWindow(
  r: TraceReader,
  ix: RunIndex,
  k0: number,
  t0: number,
  t1: number,
  px: number,
  bucketNs: number,
  detail: boolean,
) {
  const cpus = ix.cpus;
  const occ = new Occupancy(cpus, px, bucketNs, t0);
  const cur = new Int32Array(cpus);
  cur.set(ix.chunkCur.subarray(k0 * cpus, k0 * cpus + cpus));
  const lastT = new Float64Array(cpus).fill(t0);
  const spans = new SpanCollector(t0, bucketNs / 4);
  // The lock state at the starting chunk's first event, as the index pass rebuilt it.
  if (detail && k0 + 1 < ix.chunkLockAt.length) {
    spans.track.restore(ix.chunkLocks, ix.chunkLockAt[k0], ix.chunkLockAt[k0 + 1]);
  }
  const track = spans.track, sink = spans.sink;
  const packets = new Map<number, PacketHops>();
  const wakeups: WakeArrow[] = [];
  const woken = new Map<number, WakeArrow>(); // by thread: woken, not yet run
  const visit = (d: DecodedBlock, start: number): boolean => {
    const { kind, tNs, fields } = d;
    for (let i = start; i < d.count; i++) {
      const t = tNs[i], k = kind[i], cpu = d.cpu[i] < cpus ? d.cpu[i] : 0, at = i * FIELDS_MAX;
      if (t > t1) return false;
      const index = d.firstIndex + i;
      // Lock events before the window too: a wait or hold that spans its left edge starts where it really began.
      if (detail) {
        if (k === KIND.lockWait) track.wait(d.thread[i], fields[at], cpu, t, index);
        else if (k === KIND.lockAcquire) track.acquire(fields[at + 2], fields[at], cpu, t, index, sink);
        else if (k === KIND.lockRelease) track.release(d.thread[i], fields[at], t, sink);
      }
      if (t < t0) {
        if (k === KIND.switch) cur[cpu] = fields[at + 1];
        continue;
      }
      occ.noteEvent(cpu, t, index);
      if (k === KIND.switch) {
        occ.add(cpu, cur[cpu], lastT[cpu], t);
        lastT[cpu] = t;
        cur[cpu] = fields[at + 1];
        const w = woken.get(fields[at + 1]);
        if (w !== undefined) {
          [w.t1, w.cpu1] = [t, cpu];
          woken.delete(fields[at + 1]);
        }
      } else if (!detail) continue;
      else if (PKT_KINDS.has(k)) notePacket(packets, index, k, fields[at], fields[at + 1], t, cpu);
      else if (k === KIND.wake && wakeups.length < WAKEUPS_MAX) {
        const w = { thread: fields[at], t0: t, cpu0: cpu, t1: -1, cpu1: fields[at + 1], ev: index };
        wakeups.push(w);
        woken.set(w.thread, w);
      }
    }
    return true;
  };
  if (ix.events > 0) forEachBlock(r, Math.min(k0 * CHUNK_EVENTS, ix.events - 1), visit);
  for (let c = 0; c < cpus; c++) occ.add(c, cur[c], lastT[c], t1);
  occ.finish();
  const at = (a: ArrayLike<number>) => (cell: number, cpu: number) => a[cell * cpus + cpu];
  return {
    cpus: slicesOf(occ, at(occ.act), at(occ.busy), at(occ.firstEv)),
    spans: spans.finish(t1),
    packets: [...packets.values()],
    wakeups,
  };
}

function notePacket(
  packets: Map<number, PacketHops>,
  ev: number,
  kind: number,
  pkt: number,
  flow: number,
  t: number,
  cpu: number,
): void {
  let p = packets.get(pkt);
  if (!p) {
    if (packets.size >= PACKETS_MAX) return;
    p = { pkt, flow, hops: [] };
    packets.set(pkt, p);
  }
  if (p.hops.length < HOPS_MAX) p.hops.push({ tNs: t, cpu, kind: PKT_KINDS.get(kind)!, ev });
}

/** Buckets from the occupancy grid: per bucket, the thread with the most busy time over its cells. */
function fromGrid(ix: RunIndex, t0: number, px: number, bucketNs: number): Timeline["cpus"] {
  // The coarsest level that still has a few cells per bucket keeps the work near px * cpus * 4.
  const g = ix.levels.findLast((l) => l.cellNs * 4 <= bucketNs) ?? ix.grid;
  const act = new Int32Array(px * g.cpus).fill(-1);
  const busy = new Float64Array(px * g.cpus);
  const first = new Float64Array(px * g.cpus).fill(-1);
  const tally = new Map<number, number>();
  for (let cpu = 0; cpu < g.cpus; cpu++) {
    for (let b = 0; b < px; b++) {
      const c0 = g.cellOf(t0 + b * bucketNs), c1 = g.cellOf(t0 + (b + 1) * bucketNs - 1);
      const s = sumCells(g, cpu, c0, c1, tally);
      act[b * g.cpus + cpu] = s.act;
      busy[b * g.cpus + cpu] = s.busy;
      first[b * g.cpus + cpu] = s.ev;
    }
  }
  const occ = { cpus: g.cpus, cells: px, cellNs: bucketNs, t0 };
  return slicesOf(occ, (b, c) => act[b * g.cpus + c], (b, c) => busy[b * g.cpus + c], (b, c) => first[b * g.cpus + c]);
}

/** Run-length encodes buckets into slices, leaving idle and empty buckets out. */
function slicesOf(
  o: { cpus: number; cells: number; cellNs: number; t0: number },
  act: (cell: number, cpu: number) => number,
  busy: (cell: number, cpu: number) => number,
  first: (cell: number, cpu: number) => number,
): Timeline["cpus"] {
  const out: Timeline["cpus"] = [];
  for (let cpu = 0; cpu < o.cpus; cpu++) {
    const slices: Slice[] = [];
    let open: Slice | undefined, busySum = 0, n = 0;
    const close = () => {
      if (open) open.busy = Math.round(busySum / n) / 1000;
      open = undefined;
    };
    for (let b = 0; b < o.cells; b++) {
      const th = act(b, cpu);
      if (th <= 0) {
        close();
        continue;
      }
      const t = o.t0 + b * o.cellNs;
      if (!open || open.th !== th) {
        close();
        open = { t0: Math.round(t), t1: 0, th, busy: 0, ev: -1 };
        busySum = 0, n = 0;
        slices.push(open);
      }
      open.t1 = Math.round(t + o.cellNs);
      busySum += busy(b, cpu), n++;
      if (open.ev < 0) open.ev = first(b, cpu);
    }
    close();
    out.push({ cpu, slices });
  }
  return out;
}

/** Names of the threads and locks the response mentions. */
function namesOf(ix: RunIndex, t: Timeline): Timeline["threads"] {
  const threads: Timeline["threads"] = {};
  const add = (id: number) => {
    const th = ix.threads.get(id);
    if (th && !threads[id]) threads[id] = { name: th.name, kind: th.kind };
  };
  for (const c of t.cpus) for (const s of c.slices) add(s.th);
  for (const w of t.wakeups) add(w.thread);
  for (const s of t.spans) {
    add(s.thread);
    t.locks[s.lock] ??= ix.names.get(s.lock) ?? `lock ${s.lock}`;
  }
  return threads;
}
