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
import { foldFailure } from "./_fold_error.ts";

/** Events between seek snapshots. */
export const SNAPSHOT_EVERY = 131072;
const FILES_MAX = 8;

/**
 * The snapshots of one trace, built incrementally: `states[k]` is the state
 * after k * SNAPSHOT_EVERY events. Only as much of the trace is folded as the
 * furthest request needed, so the first request on a huge trace costs a fold
 * up to its index, not of the whole file.
 */
export interface Snapshots {
  /** File identity (size and modification time) the snapshots belong to. */
  readonly key: string;
  /** Snapshots taken so far. */
  readonly states: RebuiltState[];
}

const cache = new Map<string, Snapshots>();

function keyOf(path: string): string {
  const st = Deno.statSync(path);
  return `${st.size}:${st.mtime?.getTime() ?? 0}`;
}

/** The snapshot cache entry of a trace (new when the file changed). */
export function snapshotsOf(path: string): Snapshots {
  const key = keyOf(path);
  const have = cache.get(path);
  if (have && have.key === key) return have;
  if (cache.size >= FILES_MAX) cache.delete(cache.keys().next().value as string);
  const snaps = { key, states: [new RebuiltState()] };
  cache.set(path, snaps);
  return snaps;
}

/**
 * The state after events [0, index) of the trace at `path` (clamped to the
 * event count). Folds from the nearest snapshot at or before `index`, taking
 * new snapshots on the way past the furthest one.
 */
export function stateAt(path: string, index: number): StateJson {
  if (!Number.isSafeInteger(index) || index < 0) throw new RangeError(`bad event index ${index}`);
  const snaps = snapshotsOf(path);
  const k = Math.min(Math.floor(index / SNAPSHOT_EVERY), snaps.states.length - 1);
  const s = snaps.states[k].clone();
  if (s.index < index) {
    const extend = k === snaps.states.length - 1;
    const r = TraceReader.open(path);
    let at = s.index;
    try {
      for (const e of r.events(s.index)) {
        if (e.index >= index) break;
        at = e.index;
        s.apply(e);
        if (extend && s.index % SNAPSHOT_EVERY === 0) snaps.states.push(s.clone());
      }
    } catch (err) {
      throw foldFailure(err, r, at);
    } finally {
      r.close();
    }
  }
  return s.toJSON();
}
