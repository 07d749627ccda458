/**
 * NetBSD's lockless producer/consumer queue, pcq(9), and the queue it is
 * measured against, an `ifqueue` under a spin mutex.
 *
 * {@link Pcq} follows sys/kern/subr_pcq.c 1.14 (2023/02/23) step by step:
 * the producer index `p` and the consumer index `c` share one 32-bit word
 * `pcq_pc` (p in the low 16 bits, c in the high 16); `pcq_put` reserves slot
 * `p` with a CAS on that word and then stores the item into `pcq_items[p]`;
 * `pcq_get` (callers serialise gets, "consumer under a mutex") reads the word,
 * reads the slot, clears it and advances `c` with a CAS loop. The queue is
 * full when advancing `p` would make it equal to `c`, so `pcq_create(n)`
 * holds n-1 items while `pcq_maxitems()` returns n (the quirk of reference
 * section 4). A NULL slot below `p` means a producer reserved it but has not
 * stored yet: `pcq_get` returns NULL and relies on the producer's later
 * notification (softint_schedule) to be called again.
 *
 * Every shared-memory access is its own step (a `yield m.spend(...)`), so
 * the scheduler, and schedule exploration, can interleave other CPUs between
 * a load and the CAS that depends on it: the model's lockless code is as
 * racy as the real one. The `nocas` variant replaces the producer's CAS by a
 * plain 16-bit store of the new producer index, the bug exploration must find
 * (two producers that load the same word reserve the same slot: one item is
 * overwritten and lost, and the consumer later finds a NULL slot).
 *
 * @example
 * ```ts
 * import { Pcq } from "./pcq.ts";
 * const q = new Pcq(4, "cas");
 * q.maxitems(); // 4, but only 3 items fit
 * ```
 * @module
 */
import type { Machine } from "../machine.ts";
import type { Lock } from "../objects.ts";

/** PCQ_MAXLEN of sys/sys/pcq.h: the indices are 16 bits wide. */
export const PCQ_MAXLEN = 0xffff;

/** Producer implementations: the real CAS, or a plain store (broken on purpose). */
export const PCQ_VARIANTS = ["cas", "nocas"] as const;
/** A producer implementation. */
export type PcqVariant = (typeof PCQ_VARIANTS)[number];

/** Generator type of a queue operation returning `T` (used with `yield*` from kernel code). */
export type Op<T> = Generator<number, T, number>;

/** A lockless multi-producer single-consumer queue (subr_pcq.c 1.14). Items are non-zero numbers; 0 is NULL. */
export class Pcq {
  /** pcq_nitems: slots, one more than the items that fit. */
  readonly nitems: number;
  /** The producer implementation. */
  readonly variant: PcqVariant;
  /** pcq_pc: p in bits 0-15, c in bits 16-31. */
  pc = 0;
  /** pcq_items[]: 0 is NULL. */
  readonly items: Float64Array;
  /** Producer CAS attempts that failed and looped. */
  casFailures = 0;
  /** pcq_get calls that found a reserved but not yet stored slot (returned NULL on a non-empty queue). */
  racedGets = 0;

  /** pcq_create(nitems): 1 <= nitems <= PCQ_MAXLEN (the KASSERT of pcq_create). */
  constructor(nitems: number, variant: PcqVariant = "cas") {
    if (!Number.isInteger(nitems) || nitems < 1 || nitems > PCQ_MAXLEN) {
      throw new RangeError(`pcq_create: nitems ${nitems} not in 1..${PCQ_MAXLEN}`);
    }
    this.nitems = nitems;
    this.variant = variant;
    this.items = new Float64Array(nitems);
  }

  /** pcq_maxitems(): the size asked for, one more than fits. */
  maxitems(): number {
    return this.nitems;
  }

  /** Items currently reserved (p - c modulo the size): what a consumer could still get. */
  length(): number {
    const p = this.pc & 0xffff, c = this.pc >>> 16;
    return p >= c ? p - c : p + this.nitems - c;
  }

  #advance(i: number): number {
    return i + 1 === this.nitems ? 0 : i + 1;
  }

  /** pcq_put(): false when full. Each load, CAS and store is one step. */
  *put(m: Machine, item: number): Op<boolean> {
    if (!(item > 0)) throw new Error(`pcq_put: item must be non-NULL, got ${item}`);
    const cost = m.cost;
    let op = 0;
    for (;;) {
      const v = this.pc; // v = pcq->pcq_pc
      yield m.spend(cost.atomicLoad);
      op = v & 0xffff;
      const c = v >>> 16;
      const p = this.#advance(op);
      if (p === c) return false; // Queue is full.
      const nv = (p | (c << 16)) >>> 0;
      if (this.variant === "nocas") {
        // The bug: the producer half stored without a CAS (a 16-bit store of
        // p). The consumer's half is kept, but a producer that loaded the same
        // v reserves the same slot: one of the two items is overwritten.
        this.pc = ((this.pc & 0xffff0000) | p) >>> 0;
        yield m.spend(cost.atomicStore);
        break;
      }
      const ok = this.pc === v; // atomic_cas_32(&pcq->pcq_pc, v, nv)
      if (ok) this.pc = nv;
      yield m.spend(cost.atomicCas);
      if (ok) break;
      this.casFailures++;
    }
    this.items[op] = item; // atomic_store_release(&pcq->pcq_items[op], item)
    yield m.spend(cost.atomicStore);
    return true;
  }

  /** pcq_peek(): the next item or 0 (no step: a single load the caller accounts for). */
  peek(): number {
    const p = this.pc & 0xffff, c = this.pc >>> 16;
    return p === c ? 0 : this.items[c];
  }

  /** pcq_get(): the next item, or 0 when empty or when its producer has not stored it yet. Caller serialises. */
  *get(m: Machine): Op<number> {
    const cost = m.cost;
    let v = this.pc;
    yield m.spend(cost.atomicLoad);
    let p = v & 0xffff, c = v >>> 16;
    if (p === c) return 0; // Queue is empty.
    const item = this.items[c];
    yield m.spend(cost.atomicLoad);
    if (item === 0) {
      this.racedGets++; // raced with a producer: its notification will call us again
      return 0;
    }
    this.items[c] = 0;
    yield m.spend(cost.atomicStore);
    c = this.#advance(c);
    let nv = (p | (c << 16)) >>> 0;
    for (;;) {
      const ok = this.pc === v; // atomic_cas_32(&pcq->pcq_pc, v, nv)
      if (ok) this.pc = nv;
      yield m.spend(cost.atomicCas);
      if (ok) return item;
      v = this.pc;
      yield m.spend(cost.atomicLoad);
      p = v & 0xffff;
      c = this.#advance(v >>> 16);
      nv = (p | (c << 16)) >>> 0;
    }
  }
}

/**
 * `struct ifqueue` with its `ifq_lock` (NetBSD sys/net/if.h, the IF_ENQUEUE /
 * IF_DEQUEUE / IF_QFULL macros under IFQ_LOCK): a FIFO that holds exactly
 * `ifq_maxlen` items, every operation under one spin mutex.
 */
export class IfQueue {
  /** ifq_lock. */
  readonly lock: Lock;
  /** ifq_maxlen. */
  readonly maxlen: number;
  /** ifq_len. */
  len = 0;
  /** IF_DROP count (ifq_drops). */
  drops = 0;
  readonly #ring: Float64Array;
  #head = 0;

  /**
   * A queue of at most `maxlen` items guarded by a new spin mutex of class
   * `cls`; `ipl` "high" when an interrupt handler enqueues (IPL_NET: the
   * mutex must block that interrupt, or the handler spins on a lock its own
   * CPU holds).
   */
  constructor(m: Machine, cls: string, maxlen: number, ipl: "none" | "high" = "none") {
    if (!Number.isInteger(maxlen) || maxlen < 1) throw new RangeError(`ifqueue: maxlen ${maxlen}`);
    this.maxlen = maxlen;
    this.#ring = new Float64Array(maxlen);
    // NetBSD net/if.h 1.304 IFQ_LOCK_INIT: mutex_obj_alloc(MUTEX_DEFAULT, IPL_NET), a spin mutex since IPL_NET is
    // a hardware interrupt level (kern_mutex.c 1.62 _mutex_init); kernel=netbsd leaves spin mutexes as they are.
    this.lock = m.newLock(cls, "spin", ipl);
  }

  /** IFQ_LOCK; IF_QFULL ? IF_DROP : IF_ENQUEUE; IFQ_UNLOCK. False when full. */
  *enqueue(m: Machine, item: number): Op<boolean> {
    yield m.lock(this.lock); // charges mtxEnter (and the spin while contended)
    let ok = false;
    if (this.len >= this.maxlen) this.drops++;
    else {
      this.#ring[(this.#head + this.len) % this.maxlen] = item;
      this.len++;
      ok = true;
    }
    yield m.spend(m.cost.ifqOp);
    m.unlock(this.lock);
    yield m.spend(m.cost.mtxLeave);
    return ok;
  }

  /** IFQ_LOCK; IF_DEQUEUE; IFQ_UNLOCK. 0 when empty. */
  *dequeue(m: Machine): Op<number> {
    yield m.lock(this.lock); // charges mtxEnter (and the spin while contended)
    let item = 0;
    if (this.len > 0) {
      item = this.#ring[this.#head];
      this.#head = (this.#head + 1) % this.maxlen;
      this.len--;
    }
    yield m.spend(m.cost.ifqOp);
    m.unlock(this.lock);
    yield m.spend(m.cost.mtxLeave);
    return item;
  }
}
