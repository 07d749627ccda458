/**
 * Comparing two runs event by event: the first index where they differ (kind,
 * time, CPU, thread, fields or interned text), the two events there, and how
 * the rebuilt states differ right after it (threads, locks, CPUs). Up to the
 * divergence the runs are identical, so the states before it are too.
 *
 * @module
 */
import { FIELDS_MAX } from "../core/schema.ts";
import { eventJson } from "./_query_events.ts";
import type { RunIndex } from "./_query_index.ts";
import type { TraceReader } from "./reader.ts";
import type { StateJson } from "./state.ts";

/** Most events compared in one request (a longer common prefix is reported as not diverged yet). */
export const COMPARE_EVENTS_MAX = 50_000_000;

/** Where two runs part. */
export interface Divergence {
  /** First index at which the events differ (or where one run ends). */
  event: number;
  /** The events there (null past a run's end). */
  a: Record<string, unknown> | null;
  b: Record<string, unknown> | null;
  /** Differences of the states after the divergent event, one line each. */
  stateDiff: string[];
}

/**
 * Index of the first differing event, or -1 when the runs are equal (up to
 * COMPARE_EVENTS_MAX); `progress` hears how far it got every 2^18 events.
 */
export function firstDifference(
  ra: TraceReader,
  na: number,
  rb: TraceReader,
  nb: number,
  progress?: (done: number, of: number) => void,
): number {
  const ia = ra.events(0)[Symbol.iterator](), ib = rb.events(0)[Symbol.iterator]();
  const n = Math.min(na, nb, COMPARE_EVENTS_MAX);
  for (let i = 0; i < n; i++) {
    if (progress && (i & 0x3ffff) === 0 && i > 0) progress(i, n);
    const x = ia.next(), y = ib.next();
    if (x.done || y.done) return i;
    const a = x.value, b = y.value;
    if (a.kind !== b.kind || a.tNs !== b.tNs || a.cpu !== b.cpu || a.thread !== b.thread || a.text !== b.text) return i;
    for (let j = 0; j < FIELDS_MAX; j++) if (a.fields[j] !== b.fields[j]) return i;
  }
  return na === nb || n === COMPARE_EVENTS_MAX ? -1 : n;
}

/** The event at `index` as JSON, or null past the end. */
export function eventAt(r: TraceReader, ix: RunIndex, index: number): Record<string, unknown> | null {
  if (index >= ix.events) return null;
  for (const e of r.events(index)) return eventJson(e, r, ix);
  return null;
}

/** Lines saying how state `b` differs from state `a` (threads, locks, CPUs). */
export function diffStates(a: StateJson, b: StateJson): string[] {
  const out: string[] = [];
  const show = (t: StateJson["threads"][number] | undefined) =>
    t
      ? `${t.state}${t.waitObj ? ` on ${t.waitName || `#${t.waitObj}`}` : ""} cpu${t.cpu} holds [${t.held.join(", ")}]`
      : "absent";
  const tb = new Map(b.threads.map((t) => [t.id, t]));
  const ids = new Set([...a.threads.map((t) => t.id), ...tb.keys()]);
  const ta = new Map(a.threads.map((t) => [t.id, t]));
  for (const id of [...ids].sort((x, y) => x - y)) {
    const sa = show(ta.get(id)), sb = show(tb.get(id));
    if (sa !== sb) out.push(`thread ${(ta.get(id) ?? tb.get(id))!.name} (${id}): ${sa} | ${sb}`);
  }
  const lb = new Map(b.locks.map((l) => [l.id, l]));
  for (const la of a.locks) {
    const l2 = lb.get(la.id);
    const fa = `owner ${la.owner} readers ${la.readers} waiters [${la.waiters.join(",")}]`;
    const fb = l2 ? `owner ${l2.owner} readers ${l2.readers} waiters [${l2.waiters.join(",")}]` : "absent";
    if (fa !== fb) out.push(`lock ${la.cls} (${la.id}): ${fa} | ${fb}`);
  }
  const n = Math.max(a.cpus.length, b.cpus.length);
  for (let c = 0; c < n; c++) {
    const ca = a.cpus[c], cb = b.cpus[c];
    const fa = ca ? `runs ${ca.current} queue [${ca.runQueue.join(",")}]` : "absent";
    const fb = cb ? `runs ${cb.current} queue [${cb.runQueue.join(",")}]` : "absent";
    if (fa !== fb) out.push(`cpu${c}: ${fa} | ${fb}`);
  }
  return out.slice(0, 200);
}
