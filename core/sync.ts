/**
 * Sleeping primitives built from the machine's effects: msleep with an
 * interlock, OpenBSD `struct cond` (cond_wait/cond_signal) and condition
 * variables (cv_wait/cv_signal/cv_broadcast).
 *
 * @example
 * ```ts
 * import { msleep } from "./sync.ts";
 * // inside kernel code: const err = yield* msleep(m, chan, mtx, 0);
 * ```
 * @module
 */
import type { Machine } from "./machine.ts";
import { Chan, type KObj, type Lock, type Thread } from "./objects.ts";
import { BLOCK_WHY, type EnumValues, KIND } from "./schema.ts";

/** Block reasons: ENUMS.blockWhy. */
export const WHY: EnumValues<"blockWhy"> = BLOCK_WHY;

/**
 * msleep(ident, mtx, ..., timo): sleep on `chan` releasing `mtx` atomically,
 * then re-take `mtx`. Returns 0, or EWOULDBLOCK when the timeout expired.
 */
export function* msleep(
  m: Machine,
  chan: KObj,
  mtx: Lock | null,
  timeoutNs = 0,
  why: number = WHY.sleep,
  waitFor?: Thread[],
): Generator<number, number, number> {
  const r = yield m.sleep(chan, mtx, timeoutNs, why, waitFor);
  if (mtx !== null) yield m.lock(mtx);
  return r;
}

/** OpenBSD `struct cond` (sys/kern/kern_synch.c): a one-shot completion. */
export class Cond extends Chan {
  /** 1 until cond_signal (c_wait). */
  waiting = 1;
}

/** cond_init(). */
export function condNew(m: Machine, name: string): Cond {
  const c = new Cond(m.newId(), name);
  m.emit(KIND.objName, c.id, m.str(name));
  return c;
}

/** cond_wait(c, wmesg): sleeps until cond_signal; `waitFor` names who can signal. */
export function* condWait(m: Machine, c: Cond, waitFor?: Thread[]): Generator<number, void, number> {
  while (c.waiting !== 0) yield m.sleep(c, null, 0, WHY.barrier, waitFor);
}

/** cond_signal(c). */
export function* condSignal(m: Machine, c: Cond): Generator<number, void, number> {
  c.waiting = 0;
  m.wakeupOne(c);
  yield m.spend(m.cost.wakeup);
}

/** cv_wait(cv, mtx): a condition variable is a channel used with an interlock. */
export function* cvWait(m: Machine, cv: Chan, mtx: Lock): Generator<number, void, number> {
  yield* msleep(m, cv, mtx);
}

/** cv_signal(cv). */
export function* cvSignal(m: Machine, cv: Chan): Generator<number, void, number> {
  m.wakeupOne(cv);
  yield m.spend(m.cost.wakeup);
}

/** cv_broadcast(cv). */
export function* cvBroadcast(m: Machine, cv: Chan): Generator<number, void, number> {
  m.wakeup(cv);
  yield m.spend(m.cost.wakeup);
}
