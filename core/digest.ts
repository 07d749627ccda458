/**
 * The state digest: one function, used by the live machine and by replay's
 * rebuilt state, so a checkpoint proves both agree. Each concern (scheduling,
 * locks, task queues and timeouts, reference counts, network) hashes to its
 * own 32-bit FNV-1a value so a mismatch can name the part that differs.
 *
 * @example
 * ```ts
 * import { digestState, type DigestView } from "./digest.ts";
 * declare const view: DigestView;
 * const [sched, lock, task, ref, net] = digestState(view);
 * ```
 * @module
 */

/** What a state must expose to be digested. Every walk is in ascending id order. */
export interface DigestView {
  /** Number of CPUs. */
  cpuCount(): number;
  /** Id of the thread running on `cpu`, 0 when idle. */
  cpuCurrent(cpu: number): number;
  /** Each thread: state (TS), its CPU when runnable or running (else 0), waited object id (0 none). */
  forEachThread(cb: (id: number, state: number, cpu: number, waitObj: number) => void): void;
  /** Each lock: exclusive owner (0 none), shared holders, waiter thread ids in arrival order. */
  forEachLock(cb: (id: number, owner: number, readers: number, waiters: readonly number[]) => void): void;
  /** Each task queue: the queued task ids in order. */
  forEachTaskq(cb: (id: number, queued: readonly number[]) => void): void;
  /** Each pending timeout: its deadline. */
  forEachTimeout(cb: (id: number, deadlineNs: number) => void): void;
  /** Each reference-counted object: count and whether it was freed. */
  forEachRef(cb: (id: number, refs: number, freed: boolean) => void): void;
  /** Each socket: receive and send buffer byte counts, splice drain id (0 none). */
  forEachSocket(cb: (id: number, rcvCc: number, sndCc: number, spliceTo: number) => void): void;
}

/** Names of the digest parts, in checkpoint field order. */
export const DIGEST_PARTS = ["sched", "lock", "task", "ref", "net"] as const;

/** 32-bit FNV-1a over 32-bit words (numbers above 2^32 add two words). */
export class Fnv {
  /** The hash so far (starts at the FNV-1a offset basis). */
  h = 0x811c9dc5;
  /** Mixes one non-negative safe integer. */
  add(x: number): void {
    this.#word(x >>> 0);
    if (x > 0xffffffff) this.#word(Math.floor(x / 0x100000000) >>> 0);
  }
  #word(w: number): void {
    let h = this.h;
    h = Math.imul(h ^ (w & 0xff), 0x01000193);
    h = Math.imul(h ^ ((w >>> 8) & 0xff), 0x01000193);
    h = Math.imul(h ^ ((w >>> 16) & 0xff), 0x01000193);
    h = Math.imul(h ^ (w >>> 24), 0x01000193);
    this.h = h;
  }
  /** The digest as an unsigned 32-bit number. */
  value(): number {
    return this.h >>> 0;
  }
}

/** Digests a state into its five parts [sched, lock, task, ref, net]. */
export function digestState(v: DigestView): number[] {
  const sched = new Fnv();
  v.forEachThread((id, state, cpu, waitObj) => {
    sched.add(id);
    sched.add(state);
    sched.add(cpu);
    sched.add(waitObj);
  });
  const n = v.cpuCount();
  for (let c = 0; c < n; c++) sched.add(v.cpuCurrent(c));
  const lock = new Fnv();
  v.forEachLock((id, owner, readers, waiters) => {
    lock.add(id);
    lock.add(owner);
    lock.add(readers);
    lock.add(waiters.length);
    for (const w of waiters) lock.add(w);
  });
  const task = new Fnv();
  v.forEachTaskq((id, queued) => {
    task.add(id);
    task.add(queued.length);
    for (const t of queued) task.add(t);
  });
  v.forEachTimeout((id, deadlineNs) => {
    task.add(id);
    task.add(deadlineNs);
  });
  const ref = new Fnv();
  v.forEachRef((id, refs, freed) => {
    ref.add(id);
    ref.add(refs);
    ref.add(freed ? 1 : 0);
  });
  const net = new Fnv();
  v.forEachSocket((id, rcvCc, sndCc, spliceTo) => {
    net.add(id);
    net.add(rcvCc);
    net.add(sndCc);
    net.add(spliceTo);
  });
  return [sched.value(), lock.value(), task.value(), ref.value(), net.value()];
}
