/**
 * The "atomic FIFO/LIFO queue" of the NetBSD network infrastructure
 * proposal (shared/seeds/netbsd-network-infrastructure-future.txt): items are
 * inserted locklessly and removed from the head only, locklessly, through an
 * `atomic_queue_link_t` at a fixed offset in each item. The proposal never
 * became a NetBSD API (there is no atomic_qinit in NetBSD/src), so this models
 * the design as written: a head pointer changed by compare-and-swap.
 *
 * {@link AtomicQueue} is the proposal's one queue: an item goes in at the
 * head or at the tail ("a queue is not intrinsically LIFO or FIFO. Its
 * behavior is determined solely by which method each item was pushed onto
 * the queue") and comes out at the head, one remover at a time. The two ends
 * are also modelled alone: head insertion and removal as a free list
 * ({@link AtomicLifo}, any number of removers) and tail insertion
 * ({@link AtomicFifo}). Removal at the head of the LIFO is the classic
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

/** Tail insertion variants: the atomic swap of the tail, or a plain load and store (broken on purpose). */
export const FIFO_VARIANTS = ["xchg", "noxchg"] as const;

/**
 * Lockless insertion at the tail, removal at the head by one consumer (the
 * caller serialises removals, as pcq(9)'s consumer): an intrusive
 * multi-producer single-consumer queue in the manner of D. Vyukov's, the
 * known way to insert at the tail of a linked queue with one atomic
 * operation. The queue's own link is a stub item.
 *
 * Insertion: clear the item's link, swap it into `tail` (atomic_swap_ptr),
 * store it into the previous tail's link. Between the swap and that store
 * the chain is broken: the consumer sees the last linked item with no
 * successor while `tail` is elsewhere, and returns NULL (like pcq_get's race;
 * the producer's notification follows its store). With `noxchg` the swap is a
 * load and a store: two producers can read the same tail, and the one whose
 * store lands first is unlinked by the other, lost.
 */
export class AtomicFifo {
  /** The stub item (the queue's own link): one past the last item; 0 is NULL. */
  readonly stub: number;
  /** Tail pointer (producers swap it). */
  tail: number;
  /** Consumer's head position (the consumer alone moves it). */
  head: number;
  /** Per-item link, the stub's included; 0 is NULL. */
  readonly next: Int32Array;
  /** Removals that found the chain broken by a producer in its window. */
  racedGets = 0;
  readonly #xchg: boolean;

  /** A queue over items 1..`n`, empty. */
  constructor(n: number, variant: (typeof FIFO_VARIANTS)[number] = "xchg") {
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`atomic fifo: ${n} items`);
    this.next = new Int32Array(n + 2);
    this.stub = this.tail = this.head = n + 1;
    this.#xchg = variant === "xchg";
  }

  /** Lockless insertion at the tail: store the link, swap the tail, link the previous tail. */
  *put(m: Machine, item: number): Op<void> {
    const cost = m.cost;
    this.next[item] = 0;
    yield m.spend(cost.atomicStore);
    let prev: number;
    if (this.#xchg) {
      prev = this.tail; // atomic_swap_ptr(&q->tail, item)
      this.tail = item;
      yield m.spend(cost.atomicCas);
    } else {
      prev = this.tail; // the bug: load ...
      yield m.spend(cost.atomicLoad);
      this.tail = item; // ... and store, overwriting a swap in between
      yield m.spend(cost.atomicStore);
    }
    this.next[prev] = item; // publish: the consumer can now reach the item
    yield m.spend(cost.atomicStore);
  }

  /** Removal at the head (one consumer at a time): the item, or 0 when empty or a producer is in its window. */
  *get(m: Machine): Op<number> {
    const cost = m.cost;
    let h = this.head;
    let n = this.next[h];
    yield m.spend(cost.atomicLoad);
    if (h === this.stub) {
      if (n === 0) return 0; // empty (or the first item not linked yet)
      this.head = h = n; // step past the stub
      n = this.next[h];
      yield m.spend(cost.atomicLoad);
    }
    if (n !== 0) {
      this.head = n;
      return h;
    }
    const t = this.tail;
    yield m.spend(cost.atomicLoad);
    if (h !== t) {
      this.racedGets++;
      return 0; // a producer swapped the tail and has not linked yet
    }
    // h is the last item: put the stub back behind it so h can be handed out.
    yield* this.put(m, this.stub);
    n = this.next[h];
    yield m.spend(cost.atomicLoad);
    if (n !== 0) {
      this.head = n;
      return h;
    }
    this.racedGets++;
    return 0;
  }

  /** Items reachable from the head (at most `limit`), the stub not counted. */
  count(limit: number): number {
    let k = 0;
    for (let x = this.head; x !== 0 && k < limit; x = this.next[x]) if (x !== this.stub) k++;
    return k;
  }
}

/** Variants of the one queue: CAS on the head and swap of the tail, or plain loads and stores (broken on purpose). */
export const QUEUE_VARIANTS = ["cas", "nocas"] as const;

/**
 * The document's one queue: lockless insertion at the head (LIFO) or at the
 * tail (FIFO), removal at the head. It is {@link AtomicFifo}'s linked queue
 * (the tail swapped, a stub item as the queue's own link) whose head is
 * shared: head insertion links the item to the head it loaded and installs
 * it with a CAS of the head (a Treiber push, safe against ABA since its link
 * is written before the CAS that checks it), and removal moves the head with
 * a CAS too, so an insertion at the head in between makes it retry.
 *
 * Removal is by one remover at a time (the caller serialises it, as pcq(9)'s
 * consumer): with one remover the head cannot come back to the item it
 * loaded while its CAS is pending (only the remover takes items off), so the
 * head CAS needs no generation counter; and the stub protocol for the last
 * item (put the stub back behind it, as AtomicFifo) is a single consumer's.
 * Lockless removal by several removers at once, which the document also
 * asks for, would need both the generation of {@link AtomicLifo}'s lifo-gen
 * and another way to take the last item; it is not modelled.
 *
 * With `nocas`, head insertion stores the head without comparing it and tail
 * insertion loads and stores the tail: a concurrent insertion at the same
 * end, or a removal in between, loses an item.
 */
export class AtomicQueue {
  /** The stub item (the queue's own link): one past the last item; 0 is NULL. */
  readonly stub: number;
  /** Tail pointer (tail inserters swap it). */
  tail: number;
  /** Head pointer (head inserters and the remover CAS it). */
  head: number;
  /** Per-item link, the stub's included; 0 is NULL. */
  readonly next: Int32Array;
  /** Removals that found the chain broken by a tail inserter in its window. */
  racedGets = 0;
  /** Head CASes (insertion or removal) that failed and looped. */
  casFailures = 0;
  readonly #atomic: boolean;

  /** A queue over items 1..`n`, empty. */
  constructor(n: number, variant: (typeof QUEUE_VARIANTS)[number] = "cas") {
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`atomic queue: ${n} items`);
    this.next = new Int32Array(n + 2);
    this.stub = this.tail = this.head = n + 1;
    this.#atomic = variant === "cas";
  }

  /** Lockless insertion at the head (LIFO): load the head, link the item to it, CAS the head. */
  *putHead(m: Machine, item: number): Op<void> {
    const cost = m.cost;
    for (;;) {
      const h = this.head;
      yield m.spend(cost.atomicLoad);
      this.next[item] = h;
      yield m.spend(cost.atomicStore);
      if (!this.#atomic) {
        this.head = item; // the bug: a store, whatever the head became since the load
        yield m.spend(cost.atomicStore);
        return;
      }
      if (this.#casHead(h, item)) {
        yield m.spend(cost.atomicCas);
        return;
      }
      yield m.spend(cost.atomicCas);
    }
  }

  /** Lockless insertion at the tail (FIFO): clear the link, swap the tail, link the previous tail. */
  *putTail(m: Machine, item: number): Op<void> {
    const cost = m.cost;
    this.next[item] = 0;
    yield m.spend(cost.atomicStore);
    let prev: number;
    if (this.#atomic) {
      prev = this.tail; // atomic_swap_ptr(&q->tail, item)
      this.tail = item;
      yield m.spend(cost.atomicCas);
    } else {
      prev = this.tail; // the bug: load ...
      yield m.spend(cost.atomicLoad);
      this.tail = item; // ... and store, overwriting a swap in between
      yield m.spend(cost.atomicStore);
    }
    this.next[prev] = item; // publish: the remover can now reach the item
    yield m.spend(cost.atomicStore);
  }

  /** Removal at the head (one remover at a time): the item, or 0 when empty or a tail inserter is in its window. */
  *get(m: Machine): Op<number> {
    const cost = m.cost;
    for (;;) {
      const h = this.head;
      let n = this.next[h];
      yield m.spend(cost.atomicLoad);
      if (h === this.stub) {
        if (n === 0) return 0; // empty (or the first tail item not linked yet)
        this.#casHead(h, n); // step past the stub (or retry: an insertion at the head came first)
        yield m.spend(cost.atomicCas);
        continue;
      }
      if (n !== 0) {
        const took = this.#casHead(h, n);
        yield m.spend(cost.atomicCas);
        if (took) return h;
        continue; // an insertion at the head came in between
      }
      const t = this.tail;
      yield m.spend(cost.atomicLoad);
      if (h !== t) {
        this.racedGets++;
        return 0; // a tail inserter swapped the tail and has not linked yet
      }
      // h is the last item: put the stub back behind it so h can be handed out.
      yield* this.putTail(m, this.stub);
      n = this.next[h];
      yield m.spend(cost.atomicLoad);
      if (n === 0) {
        this.racedGets++;
        return 0;
      }
      const took = this.#casHead(h, n);
      yield m.spend(cost.atomicCas);
      if (took) return h;
    }
  }

  /** Items reachable from the head (at most `limit`), the stub not counted. */
  count(limit: number): number {
    let k = 0;
    for (let x = this.head; x !== 0 && k < limit; x = this.next[x]) if (x !== this.stub) k++;
    return k;
  }

  #casHead(expect: number, to: number): boolean {
    if (this.head !== expect) {
      this.casFailures++;
      return false;
    }
    this.head = to;
    return true;
  }
}
