/**
 * Lock holds and waits as intervals. {@link LockTrack} follows the lock part
 * of the rebuilt state (replay/state.ts: an owner per exclusive hold, a FIFO
 * of waiters) from the lock events alone: `lock-wait` opens a wait of the
 * running thread, `lock-acquire` closes that thread's wait (only if one is
 * open: an uncontended acquire, `waitNs` 0, never waited) and opens a hold,
 * `lock-release` closes the running thread's hold. The index keeps a copy of
 * what is open at every chunk boundary, so a timeline window starts from the
 * state at its left edge instead of guessing.
 *
 * @module
 */

/** Entry layout in flat snapshots: kind (0 wait, 1 hold), thread, lock, cpu, start ns, start event. */
export const LOCK_ENTRY = 6;
/** Most open holds and waits tracked at once (threads x locks held; a run far past this is a leak upstream). */
export const LOCK_OPEN_MAX = 65_536;

/** One open hold or wait. Pooled: the tracker allocates nothing per event once warm. */
interface Open {
  kind: number;
  thread: number;
  lock: number;
  cpu: number;
  t: number;
  ev: number;
}

function keyOf(thread: number, lock: number): number | string {
  // A number key when both fit in 26 bits (the product stays exact), else a string.
  return thread < 2 ** 26 && lock < 2 ** 26 ? thread * 2 ** 26 + lock : `${thread}:${lock}`;
}

/** Receives closed intervals: `kind` 0 wait, 1 hold. */
export type SpanSink = (
  kind: number,
  thread: number,
  lock: number,
  cpu: number,
  t0: number,
  ev0: number,
  t1: number,
) => void;

/** Open lock waits and holds by (thread, lock). */
export class LockTrack {
  readonly #open = [new Map<number | string, Open>(), new Map<number | string, Open>()];
  readonly #pool: Open[] = [];

  /** Number of open waits and holds. */
  get size(): number {
    return this.#open[0].size + this.#open[1].size;
  }

  #put(kind: number, thread: number, lock: number, cpu: number, t: number, ev: number): void {
    const m = this.#open[kind];
    const key = keyOf(thread, lock);
    // A second wait (spin, then sleep) or a recursive acquire keeps the first start.
    if (m.has(key) || this.size >= LOCK_OPEN_MAX) return;
    const o = this.#pool.pop() ?? { kind: 0, thread: 0, lock: 0, cpu: 0, t: 0, ev: 0 };
    o.kind = kind, o.thread = thread, o.lock = lock, o.cpu = cpu, o.t = t, o.ev = ev;
    m.set(key, o);
  }

  #take(kind: number, thread: number, lock: number, t: number, sink: SpanSink | undefined): void {
    const m = this.#open[kind];
    const key = keyOf(thread, lock);
    const o = m.get(key);
    if (o === undefined) return;
    m.delete(key);
    sink?.(kind, o.thread, o.lock, o.cpu, o.t, o.ev, t);
    this.#pool.push(o);
  }

  /** `lock-wait`: the running `thread` on `cpu` waits for `lock`. */
  wait(thread: number, lock: number, cpu: number, t: number, ev: number): void {
    this.#put(0, thread, lock, cpu, t, ev);
  }

  /** `lock-acquire`: `thread` holds `lock`; its wait, if it waited, ends. */
  acquire(thread: number, lock: number, cpu: number, t: number, ev: number, sink?: SpanSink): void {
    this.#take(0, thread, lock, t, sink);
    this.#put(1, thread, lock, cpu, t, ev);
  }

  /** `lock-release`: the running `thread` released `lock`. */
  release(thread: number, lock: number, t: number, sink?: SpanSink): void {
    this.#take(1, thread, lock, t, sink);
  }

  /** Appends the open entries to `out` (LOCK_ENTRY numbers each, waits then holds, in opening order). */
  snapshot(out: number[]): void {
    for (const m of this.#open) for (const o of m.values()) out.push(o.kind, o.thread, o.lock, o.cpu, o.t, o.ev);
  }

  /** Restores entries [from, to) of a flat snapshot. */
  restore(flat: ArrayLike<number>, from: number, to: number): void {
    for (let i = from; i < to; i += LOCK_ENTRY) {
      this.#put(flat[i], flat[i + 1], flat[i + 2], flat[i + 3], flat[i + 4], flat[i + 5]);
    }
  }

  /** Calls `sink` for every open entry, ended at `t`. */
  forEachOpen(t: number, sink: SpanSink): void {
    for (const m of this.#open) for (const o of m.values()) sink(o.kind, o.thread, o.lock, o.cpu, o.t, o.ev, t);
  }
}
