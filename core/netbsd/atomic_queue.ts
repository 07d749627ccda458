/**
 * The "atomic FIFO/LIFO queue" of the NetBSD network infrastructure
 * proposal (shared/seeds/netbsd-network-infrastructure-future.txt): items are
 * inserted locklessly and removed from the head only, locklessly, through an
 * `atomic_queue_link_t` at a fixed offset in each item. The proposal never
 * became a NetBSD API (there is no atomic_qinit in NetBSD/src), so this models
 * the design as written: a head pointer changed by compare-and-swap.
 *
 * Only head insertion (LIFO) is modelled. Removal at the head is the classic
 * Treiber pop: load head, load head->next, CAS(head, old, next). Without a
 * generation counter beside the head pointer it suffers ABA: between the two
 * loads and the CAS, other threads pop the old head, pop its successor and
 * push the old head back; the CAS still sees the same pointer and installs a
 * successor that is in use. `lifo-gen` compares (pointer, generation) in one
 * double-width CAS, as a 64-bit word with a 32-bit tag would, and does not.
 *
 * Items are 1..n; the link "at a fixed offset" is `next[item]`. Each load,
 * store and CAS is one step (a yield point) so exploration can interleave
 * between them.
 *
 * @example
 * ```ts
 * import { AtomicLifo } from "./atomic_queue.ts";
 * const q = new AtomicLifo(4, "lifo-gen");
 * q.seed(1);
 * q.count(5); // 1
 * ```
 * @module
 */
import type { Machine } from "../machine.ts";
import type { Lock } from "../objects.ts";
import type { Op } from "./pcq.ts";

/** Lockless variants: with a generation counter beside the head, or the head pointer alone. */
export const LIFO_VARIANTS = ["lifo-gen", "lifo"] as const;

/** What both free-list implementations offer the scenario. */
export interface FreeList {
  /** CAS attempts that failed and looped (0 for the locked list). */
  readonly casFailures: number;
  /** Puts `item` on the list before the run (no steps). */
  seed(item: number): void;
  /** Removes the head item; 0 when empty. */
  pop(m: Machine): Op<number>;
  /** Inserts `item` at the head. */
  push(m: Machine, item: number): Op<void>;
  /** Items reachable from the head, stopping after `limit` (a cycle from a corrupted list). */
  count(limit: number): number;
}

/** A lockless LIFO (Treiber stack) over items 1..n. */
export class AtomicLifo implements FreeList {
  /** The head item, 0 when empty. */
  head = 0;
  /** Generation counter changed by every successful CAS (lifo-gen compares it). */
  gen = 0;
  /** Per-item link (the atomic_queue_link_t at a fixed offset). */
  readonly next: Int32Array;
  /** CAS attempts that failed and looped. */
  casFailures = 0;
  readonly #withGen: boolean;

  /** A list over items 1..`n`, empty. */
  constructor(n: number, variant: (typeof LIFO_VARIANTS)[number]) {
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`atomic queue: ${n} items`);
    this.next = new Int32Array(n + 1);
    this.#withGen = variant === "lifo-gen";
  }

  /** Inserts before the run (no steps). */
  seed(item: number): void {
    this.next[item] = this.head;
    this.head = item;
  }

  /** Lockless insert at the head: load head, store the link, CAS the head. */
  *push(m: Machine, item: number): Op<void> {
    const cost = m.cost;
    for (;;) {
      const h = this.head, g = this.gen;
      yield m.spend(cost.atomicLoad);
      this.next[item] = h;
      yield m.spend(cost.atomicStore);
      if (this.#cas(h, g, item)) {
        yield m.spend(cost.atomicCas);
        return;
      }
      this.casFailures++;
      yield m.spend(cost.atomicCas);
    }
  }

  /** Lockless removal at the head: load head (and generation), load its link, CAS. */
  *pop(m: Machine): Op<number> {
    const cost = m.cost;
    for (;;) {
      const h = this.head, g = this.gen;
      yield m.spend(cost.atomicLoad);
      if (h === 0) return 0;
      const n = this.next[h];
      yield m.spend(cost.atomicLoad);
      if (this.#cas(h, g, n)) {
        yield m.spend(cost.atomicCas);
        return h;
      }
      this.casFailures++;
      yield m.spend(cost.atomicCas);
    }
  }

  /** Items reachable from the head (at most `limit`). */
  count(limit: number): number {
    let k = 0;
    for (let x = this.head; x !== 0 && k < limit; x = this.next[x]) k++;
    return k;
  }

  /** compare-and-swap of the head: pointer alone, or (pointer, generation) for lifo-gen. */
  #cas(expectHead: number, expectGen: number, to: number): boolean {
    if (this.head !== expectHead || (this.#withGen && this.gen !== expectGen)) return false;
    this.head = to;
    this.gen++;
    return true;
  }
}

/** The locked list of today: a TAILQ used as a LIFO under a spin mutex. */
export class MutexTailq implements FreeList {
  /** The mutex. */
  readonly lock: Lock;
  /** Always 0: nothing loops. */
  readonly casFailures = 0;
  readonly #next: Int32Array;
  #head = 0;

  /** A list over items 1..`n` guarded by a new spin mutex of class `cls`. */
  constructor(m: Machine, cls: string, n: number) {
    this.lock = m.newLock(cls, "spin");
    this.#next = new Int32Array(n + 1);
  }

  /** Inserts before the run (no steps). */
  seed(item: number): void {
    this.#next[item] = this.#head;
    this.#head = item;
  }

  /** mutex_enter; TAILQ_FIRST/TAILQ_REMOVE; mutex_exit. */
  *pop(m: Machine): Op<number> {
    yield m.lock(this.lock);
    const h = this.#head;
    if (h !== 0) this.#head = this.#next[h];
    yield m.spend(m.cost.ifqOp);
    m.unlock(this.lock);
    yield m.spend(m.cost.mtxLeave);
    return h;
  }

  /** mutex_enter; TAILQ_INSERT_HEAD; mutex_exit. */
  *push(m: Machine, item: number): Op<void> {
    yield m.lock(this.lock);
    this.#next[item] = this.#head;
    this.#head = item;
    yield m.spend(m.cost.ifqOp);
    m.unlock(this.lock);
    yield m.spend(m.cost.mtxLeave);
  }

  /** Items on the list. */
  count(limit: number): number {
    let k = 0;
    for (let x = this.#head; x !== 0 && k < limit; x = this.#next[x]) k++;
    return k;
  }
}
