/**
 * Counter tracks of a timeline window, from the rebuilt state (replay/seek.ts
 * snapshots) at the window's replay start folded forward through the window:
 * run-queue length per CPU (runnable threads queued there), socket buffer
 * fill (so_rcv / so_snd bytes, the busiest sockets), soft interrupts pending
 * per CPU (from the index's per-chunk counts), and throughput per
 * network flow (bytes the external sink received per bucket, `sink-rx`, the
 * busiest flows).
 *
 * @module
 */
import { KIND, THREAD_STATE } from "../core/schema.ts";
import type { CounterTrack, ThreadStates } from "./_query_timeline.ts";
import { CHUNK_EVENTS, type RunIndex, softintPending } from "./_query_index.ts";
import type { TraceReader } from "./reader.ts";
import { stateBefore } from "./seek.ts";
import { SCHED_KINDS } from "./state.ts";

/** Most points per counter track. */
const POINTS_MAX = 4000;
/** Sockets and flows shown (the busiest). */
const SOCKETS_SHOWN = 4;
const FLOWS_SHOWN = 4;
/** Most state spans per thread. */
const STATE_SPANS_MAX = 2000;
/** Throughput buckets across the window. */
const RATE_BUCKETS = 100;
const TS_RUNNABLE = THREAD_STATE.runnable, TS_BLOCKED = THREAD_STATE.blocked;
const SCHED = new Set<number>(SCHED_KINDS);

class Track {
  readonly points: number[] = [];
  last = Number.NaN;
  changes = 0;
  constructor(readonly name: string, readonly unit: string) {}
  put(t: number, v: number): void {
    if (v === this.last || this.points.length >= POINTS_MAX * 2) return;
    this.points.push(t, v);
    this.last = v;
    this.changes++;
  }
}

/**
 * The counters of [t0, t1] and each thread's runnable and blocked stretches,
 * folding from event `fromIndex` (the window's first event) of the trace at
 * `path`.
 */
export function counterTracks(
  path: string,
  reader: TraceReader,
  ix: RunIndex,
  fromIndex: number,
  t0: number,
  t1: number,
): { counters: CounterTrack[]; threadStates: ThreadStates[] } {
  const s = stateBefore(path, reader, fromIndex); // a persisted snapshot at a multiple of SNAPSHOT_EVERY, or empty
  const cpus = reader.header.cpus;
  const rq = Array.from({ length: cpus }, (_, c) => new Track(`run queue cpu${c}`, "threads"));
  // Soft interrupts pending: not part of the rebuilt state; the index keeps them per chunk, and seek snapshots fall on
  // chunk boundaries (SNAPSHOT_EVERY is a multiple of CHUNK_EVENTS).
  const si = Array.from({ length: cpus }, (_, c) => new Track(`softint pending cpu${c}`, "softints"));
  const pending = new Int32Array(cpus);
  const k0 = s.index / CHUNK_EVENTS;
  if (Number.isInteger(k0) && (k0 + 1) * cpus <= ix.chunkSoftint.length) {
    pending.set(ix.chunkSoftint.subarray(k0 * cpus, (k0 + 1) * cpus));
  }
  const sockets = new Map<string, Track>();
  const flowBytes = new Map<number, Float64Array>();
  const bucketNs = Math.max(1, (t1 - t0) / RATE_BUCKETS);
  const queued = new Array<number>(cpus).fill(0);
  // Per thread: the open runnable or blocked stretch (state, what it waits on, since when).
  const open = new Map<number, { state: number; obj: number; since: number }>();
  const states = new Map<number, ThreadStates>();
  const close = (id: number, t: number) => {
    const o = open.get(id);
    if (!o) return;
    open.delete(id);
    let ts = states.get(id);
    if (!ts) states.set(id, ts = { thread: id, spans: [] });
    if (ts.spans.length >= STATE_SPANS_MAX || t <= o.since) return;
    const on = o.obj ? s.names.get(o.obj) ?? `#${o.obj}` : "";
    ts.spans.push({ t0: o.since, t1: t, state: o.state === TS_BLOCKED ? "blocked" : "runnable", on });
  };
  const recount = (t: number) => {
    queued.fill(0);
    for (const th of s.threads) {
      if (!th) continue;
      if (th.state === TS_RUNNABLE && th.cpu < cpus) queued[th.cpu]++;
      const o = open.get(th.id);
      const shown = th.state === TS_RUNNABLE || th.state === TS_BLOCKED;
      if (o && (!shown || o.state !== th.state || o.obj !== th.waitObj)) close(th.id, t);
      if (shown && !open.has(th.id)) open.set(th.id, { state: th.state, obj: th.waitObj, since: t });
    }
    for (let c = 0; c < cpus; c++) rq[c].put(t, queued[c]);
  };
  const socket = (so: number, which: number) => {
    const key = `${so}:${which}`;
    let tr = sockets.get(key);
    if (!tr) sockets.set(key, tr = new Track(`so#${so} ${which === 0 ? "rcv" : "snd"}`, "bytes"));
    return tr;
  };
  let started = false;
  const start = () => {
    started = true;
    recount(t0);
    for (let c = 0; c < cpus; c++) si[c].put(t0, pending[c]);
    for (const so of s.sockets.values()) {
      if (so.rcvCc) socket(so.id, 0).put(t0, so.rcvCc);
      if (so.sndCc) socket(so.id, 1).put(t0, so.sndCc);
    }
  };
  for (const e of reader.events(s.index)) {
    if (e.tNs > t1) break;
    if (!started && e.tNs >= t0) start();
    s.apply(e);
    if (e.kind === KIND.softintSchedule || e.kind === KIND.softintRun) {
      const c = e.kind === KIND.softintSchedule ? e.fields[1] : e.cpu;
      if (c < cpus) {
        pending[c] = softintPending(pending[c], e.kind, e.fields[2]);
        if (started) si[c].put(e.tNs, pending[c]);
      }
    }
    if (!started) continue;
    if (SCHED.has(e.kind) || e.kind === KIND.lockWait || e.kind === KIND.lockAcquire) recount(e.tNs);
    else if (e.kind === KIND.sbAppend || e.kind === KIND.sbDrop) {
      socket(e.fields[0], e.fields[1]).put(e.tNs, e.fields[3]);
    } else if (e.kind === KIND.sinkRx) {
      let b = flowBytes.get(e.fields[0]);
      if (!b) flowBytes.set(e.fields[0], b = new Float64Array(RATE_BUCKETS));
      b[Math.min(RATE_BUCKETS - 1, Math.floor((e.tNs - t0) / bucketNs))] += e.fields[1];
    }
  }
  if (!started) start();
  for (const id of [...open.keys()]) close(id, t1);
  const out: CounterTrack[] = [...rq, ...si.filter((t) => t.changes > 1 || t.last > 0)]
    .map((r) => ({ name: r.name, unit: r.unit, points: r.points }));
  const busiest = [...sockets.values()].sort((a, b) => b.changes - a.changes).slice(0, SOCKETS_SHOWN * 2);
  for (const tr of busiest) out.push({ name: tr.name, unit: tr.unit, points: tr.points });
  const flows = [...flowBytes].sort((a, b) => sum(b[1]) - sum(a[1])).slice(0, FLOWS_SHOWN);
  for (const [flow, bytes] of flows) {
    const points: number[] = [];
    // bits per ns = Gbit/s
    bytes.forEach((v, i) => points.push(Math.round(t0 + i * bucketNs), Math.round((v * 8 / bucketNs) * 1000) / 1000));
    out.push({ name: `flow ${flow} delivered`, unit: "Gbit/s", points });
  }
  return { counters: out, threadStates: [...states.values()].sort((a, b) => a.thread - b.thread) };
}

function sum(a: Float64Array): number {
  let n = 0;
  for (const v of a) n += v;
  return n;
}
