/**
 * Detector hooks as subscriptions: each hook is a list, so several detectors
 * and the runner can each subscribe (an assignment would silently drop the
 * earlier subscriber). Call sites loop over {@link Hook.list} with their
 * arguments, which allocates nothing per call (a rest-argument `call(...a)`
 * would build an array on the lock path).
 *
 * @example
 * ```ts
 * import { Hook } from "./hooks.ts";
 * const h = new Hook<(n: number) => void>();
 * const off = h.add((n) => console.log("first", n));
 * h.add((n) => console.log("second", n));
 * for (const f of h.list) f(1); // both are called, in subscription order
 * off();
 * ```
 * @module
 */
import type { Lock, SoftInt, Thread, Timeout } from "./objects.ts";

/** Subscribers, at most this many per hook (a leak guard: subscriptions are per machine). */
export const HOOK_SUBSCRIBERS_MAX = 64;

/** One hook: subscribers called in subscription order. */
export class Hook<F extends (...args: never[]) => unknown> {
  readonly #list: F[] = [];

  /**
   * The subscribers, in subscription order (loop over it to call them). The
   * same array for the hook's life: {@link add} and unsubscribing edit it in
   * place, so a hot path may keep the reference.
   */
  get list(): readonly F[] {
    return this.#list;
  }

  /** Subscribes `fn`; returns a function that unsubscribes it. */
  add(fn: F): () => void {
    if (this.#list.length >= HOOK_SUBSCRIBERS_MAX) throw new Error("hook: too many subscribers");
    this.#list.push(fn);
    return () => {
      const i = this.#list.indexOf(fn);
      if (i >= 0) this.#list.splice(i, 1);
    };
  }
}

/** Every hook a machine offers to detectors, the runner and kernel models. */
export class MachineHooks {
  /** A lock acquisition is attempted (before blocking; WITNESS_CHECKORDER). */
  readonly lockEnter: Hook<(th: Thread, l: Lock, mode: number) => void> = new Hook();
  /**
   * A lock acquisition found the lock taken (`waitNs` 0: the attempt starts
   * waiting), or a waiting attempt finally got it after `waitNs` in all,
   * retries included (NetBSD barging can make a thread lose several times).
   */
  readonly lockWaited: Hook<(th: Thread, l: Lock, waitNs: number) => void> = new Hook();
  /** CHECKORDER on a pseudo-lock by the current thread (taskq barrier, kern_task.c). */
  readonly checkOrder: Hook<(l: Lock) => void> = new Hook();
  /** A pseudo-lock is now held by the current thread (WITNESS_LOCK). */
  readonly witnessLock: Hook<(l: Lock) => void> = new Hook();
  /** A pseudo-lock is no longer held by the current thread (WITNESS_UNLOCK). */
  readonly witnessUnlock: Hook<(l: Lock) => void> = new Hook();
  /**
   * At quiescence, with the threads left blocked: each subscriber returns how
   * many of them it explained with its own violation (a lost wakeup).
   * Subscribers explain disjoint threads; when together they explain every
   * one, no deadlock is reported.
   */
  readonly quiescentBlocked: Hook<(blocked: Thread[]) => number> = new Hook();
  /** A soft interrupt became pending (`pending`) or was dequeued to run on `cpu`. */
  readonly softint: Hook<(si: SoftInt, cpu: number, pending: boolean) => void> = new Hook();
  /** A timeout fired `lateNs` after its deadline (timeout.ts). */
  readonly timeoutFire: Hook<(to: Timeout, lateNs: number) => void> = new Hook();
  /** The run is ending (before the final checkpoint and `run-end`): end-of-run checks. */
  readonly end: Hook<() => void> = new Hook();
}
