/**
 * Seeking: the rebuilt state at any event. The first request for a trace
 * folds it once, keeping a snapshot every {@link SNAPSHOT_EVERY} events; later
 * requests restore the nearest snapshot at or before the target and fold at
 * most that many events. Snapshots are kept per file (keyed by path, size and
 * modification time) for a bounded number of files.
 *
 * @example
 * ```ts
 * import { stateAt } from "./seek.ts";
 * const s = stateAt("runs/taskq-demo-1.lstrace", 1000);
 * s.threads.length > 0; // true
 * ```
 * @module
 */
import { TraceReader } from "./reader.ts";
import { RebuiltState, type StateJson } from "./state.ts";
import { foldReader } from "./check.ts";

/** Events between seek snapshots. */
export const SNAPSHOT_EVERY = 131072;
const FILES_MAX = 8;

interface Snapshots {
  readonly key: string;
  readonly states: RebuiltState[];
  readonly events: number;
}

const cache = new Map<string, Snapshots>();

function keyOf(path: string): string {
  const st = Deno.statSync(path);
  return `${st.size}:${st.mtime?.getTime() ?? 0}`;
}

/** Builds (or reuses) the snapshot index of a trace. */
export function snapshotsOf(path: string): Snapshots {
  const key = keyOf(path);
  const have = cache.get(path);
  if (have && have.key === key) return have;
  const states: RebuiltState[] = [];
  const r = TraceReader.open(path);
  let events: number;
  try {
    events = foldReader(r, { every: SNAPSHOT_EVERY, snapshot: (s) => states.push(s.clone()) }).events;
  } finally {
    r.close();
  }
  if (cache.size >= FILES_MAX) cache.delete(cache.keys().next().value as string);
  const snaps = { key, states, events };
  cache.set(path, snaps);
  return snaps;
}

/** The state after events [0, index) of the trace at `path` (index clamped to the event count). */
export function stateAt(path: string, index: number): StateJson {
  if (!Number.isSafeInteger(index) || index < 0) throw new RangeError(`bad event index ${index}`);
  const snaps = snapshotsOf(path);
  const target = Math.min(index, snaps.events);
  const k = Math.min(Math.floor(target / SNAPSHOT_EVERY), snaps.states.length - 1);
  const s = k >= 0 ? snaps.states[k].clone() : new RebuiltState();
  if (s.index < target) {
    const r = TraceReader.open(path);
    try {
      for (const e of r.events(s.index)) {
        if (e.index >= target) break;
        s.apply(e);
      }
    } finally {
      r.close();
    }
  }
  return s.toJSON();
}
