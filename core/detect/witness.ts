/**
 * Lock order (WITNESS) and soft interrupt safety (lockdep) checks over lock
 * classes.
 *
 * A {@link LockOrderGraph} is the class registry: one node per (lock type,
 * class name) as WITNESS keeps it (reference section 3), the order edges with
 * where each was first seen, and lockdep's usage bits per class. It is a
 * plain object so one graph can be kept across several runs (an exploration):
 * an order established in one run and reversed in another is then reported,
 * as WITNESS reports orders established at any time since boot.
 *
 * {@link Witness} applies the rules to one machine:
 * - lock order: acquiring B while holding A adds the edge A -> B; if B already
 *   reaches A, that is a reversal, reported once per pair in WITNESS style
 *   (`witness: lock order reversal:`, ` 1st`, ` 2nd`, and where each order
 *   was established). Task queues are pseudo-locks of type "taskq" held while
 *   a task runs, and `taskq_barrier` does CHECKORDER on them (section 1);
 * - soft interrupt safety: a class taken in soft interrupt context and also
 *   taken with soft interrupts enabled is lockdep's
 *   `inconsistent {IN-SOFTIRQ-W} -> {SOFTIRQ-ON-W} usage` (section 3),
 *   reported once per class as kind "softint-safety".
 *
 * @example
 * ```ts
 * import { LockOrderGraph } from "./witness.ts";
 * const g = new LockOrderGraph();
 * const a = g.classOf("A", "sleep mutex"), b = g.classOf("B", "sleep mutex");
 * g.addEdge(a, b, { event: 1, thread: "t1", run: "" });
 * g.reaches(a, b); // true
 * ```
 * @module
 */
import type { Machine } from "../machine.ts";
import { type Lock, LOCK_TYPE, MODE, type Thread, THREAD_KIND } from "../objects.ts";

/** Lock classes one graph may hold (a limit, as WITNESS's static node table). */
export const CLASSES_MAX = 4096;

/** Where an order edge or a usage was first seen. */
export interface Seen {
  /** Index of the event of the acquisition attempt (its lock-acquire or lock-wait; after a barrier-enter for CHECKORDER). */
  readonly event: number;
  /** Thread that made it. */
  readonly thread: string;
  /** Label of the run (set by the exploration; "" for a lone run). */
  readonly run: string;
}

/** One lock class (WITNESS node / lockdep class). */
export interface LockClass {
  /** Index in the graph's class table. */
  readonly id: number;
  /** Lock class name (the lock's `cls`). */
  readonly name: string;
  /** WITNESS type name: "spin mutex", "sleep mutex", "rwlock", "taskq". */
  readonly type: string;
  /** lockdep usage bits (USAGE). */
  usage: number;
  /** Where each usage bit was first seen. */
  readonly usageSeen: (Seen | null)[];
}

/** lockdep usage bits: {IN-SOFTIRQ, SOFTIRQ-ON} x {W, R}. */
export const USAGE = { inW: 1, inR: 2, onW: 4, onR: 8 } as const;
const USAGE_NAMES = ["IN-SOFTIRQ-W", "IN-SOFTIRQ-R", "SOFTIRQ-ON-W", "SOFTIRQ-ON-R"];

/** The lock class order graph with reachability, kept across runs when shared. */
export class LockOrderGraph {
  /** Label written into Seen records (e.g. "seed 7"); set per run by the caller. */
  run = "";
  readonly #byKey = new Map<string, LockClass>();
  readonly #classes: LockClass[] = [];
  /** reach[i]: classes reachable from i by one or more edges. */
  readonly #reach: Set<number>[] = [];
  /** Direct edges: key from * CLASSES_MAX + to. */
  readonly #edges = new Map<number, Seen>();
  readonly #pairsReported = new Set<number>();
  readonly #classesReported = new Set<number>();

  /** The class of (name, type), created on first use. */
  classOf(name: string, type: string): LockClass {
    const key = `${type}\u0000${name}`;
    let c = this.#byKey.get(key);
    if (c !== undefined) return c;
    if (this.#classes.length >= CLASSES_MAX) throw new Error(`witness: more than ${CLASSES_MAX} lock classes`);
    c = { id: this.#classes.length, name, type, usage: 0, usageSeen: [null, null, null, null] };
    this.#byKey.set(key, c);
    this.#classes.push(c);
    this.#reach.push(new Set());
    return c;
  }

  /** Number of classes. */
  get size(): number {
    return this.#classes.length;
  }

  /** True if `to` is reachable from `from` by established orders. */
  reaches(from: LockClass, to: LockClass): boolean {
    return this.#reach[from.id].has(to.id);
  }

  /** Where the direct order from -> to was first seen, or undefined. */
  edge(from: LockClass, to: LockClass): Seen | undefined {
    return this.#edges.get(from.id * CLASSES_MAX + to.id);
  }

  /** Adds the order from -> to (kept with its first sighting) and updates reachability. */
  addEdge(from: LockClass, to: LockClass, seen: Seen): void {
    const key = from.id * CLASSES_MAX + to.id;
    if (this.#edges.has(key)) return;
    if (from === to) throw new Error("witness: self edge");
    this.#edges.set(key, seen);
    const reach = this.#reach;
    const add = [to.id, ...reach[to.id]];
    for (let x = 0; x < reach.length; x++) {
      if (x !== from.id && !reach[x].has(from.id)) continue;
      for (const y of add) reach[x].add(y);
    }
  }

  /** A shortest chain of direct edges from -> ... -> to (classes, both ends included), or null. */
  chain(from: LockClass, to: LockClass): LockClass[] | null {
    if (!this.reaches(from, to)) return null;
    const prev = new Map<number, number>([[from.id, -1]]);
    const queue = [from.id];
    for (let qi = 0; qi < queue.length; qi++) {
      const x = queue[qi];
      if (x === to.id) break;
      for (let y = 0; y < this.#classes.length; y++) {
        if (prev.has(y) || !this.#edges.has(x * CLASSES_MAX + y)) continue;
        prev.set(y, x);
        queue.push(y);
      }
    }
    const out: LockClass[] = [];
    for (let x = to.id; x !== -1; x = prev.get(x) as number) out.push(this.#classes[x]);
    return out.reverse();
  }

  /** True the first time a reversal between `a` and `b` is reported (once per pair). */
  firstReport(a: LockClass, b: LockClass): boolean {
    const key = Math.min(a.id, b.id) * CLASSES_MAX + Math.max(a.id, b.id);
    if (this.#pairsReported.has(key)) return false;
    this.#pairsReported.add(key);
    return true;
  }

  /** True the first time a usage inconsistency of `c` is reported (once per class). */
  firstUsageReport(c: LockClass): boolean {
    if (this.#classesReported.has(c.id)) return false;
    this.#classesReported.add(c.id);
    return true;
  }

  /** The class pairs reported as reversed so far, as [name (type), name (type)] sorted. */
  reportedPairs(): [string, string][] {
    const out: [string, string][] = [];
    for (const key of this.#pairsReported) {
      const a = this.#classes[Math.floor(key / CLASSES_MAX)], b = this.#classes[key % CLASSES_MAX];
      out.push([`${a.name} (${a.type})`, `${b.name} (${b.type})`].sort() as [string, string]);
    }
    return out;
  }

  /** Every direct edge as [from name, from type, to name, to type, seen], in insertion order. */
  edges(): [string, string, string, string, Seen][] {
    const out: [string, string, string, string, Seen][] = [];
    for (const [key, seen] of this.#edges) {
      const a = this.#classes[Math.floor(key / CLASSES_MAX)], b = this.#classes[key % CLASSES_MAX];
      out.push([a.name, a.type, b.name, b.type, seen]);
    }
    return out;
  }
}

/** WITNESS type name of a lock. */
export function witnessType(l: Lock): string {
  switch (l.type) {
    case LOCK_TYPE.spin:
      return "spin mutex";
    case LOCK_TYPE.adaptive:
      return "sleep mutex";
    case LOCK_TYPE.rwlock:
      return "rwlock";
    default:
      return "taskq"; // the only pseudo-locks are task queues (kern_task.c tq_lock_object)
  }
}

/** The WITNESS and lockdep checks of one machine, over a (possibly shared) graph. */
export class Witness {
  readonly graph: LockOrderGraph;
  readonly #m: Machine;
  /** Class of each lock by object id (ids are small and unique per machine; an array, not a WeakMap: every acquisition looks). */
  readonly #classes: (LockClass | undefined)[] = [];
  readonly #netbsd: boolean;
  /** Id of the lock being taken (for the violation event's second field). */
  #taking = 0;

  constructor(m: Machine, graph: LockOrderGraph) {
    this.#m = m;
    this.#netbsd = m.config["kernel"] === "netbsd";
    this.graph = graph;
  }

  /** Installs the hooks: every lock attempt, CHECKORDER and the taskq pseudo-lock hold. */
  install(): void {
    const m = this.#m;
    m.hooks.lockEnter.add((th, l, mode) => this.checkOrder(th, l, mode));
    m.hooks.checkOrder.add((l) => this.checkOrder(m.cur, l, MODE.excl));
    m.hooks.witnessLock.add((l) => m.cur.held.push(l));
    m.hooks.witnessUnlock.add((l) => {
      if (!m.cur.held.removeLast(l)) throw new Error(`witness: ${l.cls} not locked by ${m.cur.name}`);
    });
  }

  /**
   * witness_checkorder(): `th` is about to take `l` (or CHECKORDER on a
   * pseudo-lock). Records usage and orders against every held lock.
   */
  checkOrder(th: Thread, l: Lock, mode: number): void {
    const held = th.held;
    if (held.includes(l)) return; // recursion (reported by the machine) or a worker's legal self-barrier
    const n = this.#classOf(l);
    this.#taking = l.id;
    // NetBSD soft interrupts are LWPs that may block on an adaptive mutex
    // (softint(9), kern_softint.c): a holder interrupted by a softint is not
    // a deadlock there, so lockdep's softirq usage rule applies elsewhere only.
    if (!this.#netbsd || l.type === LOCK_TYPE.spin) this.#usage(th, l, n, mode);
    for (let i = 0; i < held.length; i++) {
      const h = this.#classOf(held.at(i));
      if (h === n) continue; // same class: "acquiring duplicate lock of same type" is not a reversal
      this.#order(th, h, n);
    }
  }

  #classOf(l: Lock): LockClass {
    let c = this.#classes[l.id];
    if (c === undefined) {
      c = this.graph.classOf(l.cls, witnessType(l));
      while (this.#classes.length < l.id) this.#classes.push(undefined); // packed, no holes
      this.#classes[l.id] = c;
    }
    return c;
  }

  #seen(th: Thread): Seen {
    return { event: this.#m.eventIndex, thread: th.name, run: this.graph.run };
  }

  /** Holding `first`, taking `second`. */
  #order(th: Thread, first: LockClass, second: LockClass): void {
    const g = this.graph;
    if (!g.reaches(second, first)) {
      // The Seen record only for a new edge: this runs on every acquisition under a held lock.
      if (g.edge(first, second) === undefined) g.addEdge(first, second, this.#seen(th));
      return;
    }
    if (!g.firstReport(first, second)) return;
    this.#m.violation("lock-order", reversalMessage(g, first, second, this.#seen(th)), th.id, this.#taking);
  }

  /** lockdep usage bits: IN-SOFTIRQ in a softint thread, SOFTIRQ-ON elsewhere with softints enabled. */
  #usage(th: Thread, l: Lock, c: LockClass, mode: number): void {
    const w = mode === MODE.excl;
    let bit = 0;
    if (th.kind === THREAD_KIND.softint) bit = w ? USAGE.inW : USAGE.inR;
    else if (th.kind !== THREAD_KIND.intr && th.spinHeld === 0 && l.type !== LOCK_TYPE.spin) {
      // A spin mutex raises the IPL above every soft interrupt level: never SOFTIRQ-ON.
      bit = w ? USAGE.onW : USAGE.onR;
    }
    if (bit === 0 || (c.usage & bit) !== 0) return;
    c.usage |= bit;
    const against = conflicting(c.usage, bit);
    if (against !== 0 && this.graph.firstUsageReport(c)) {
      this.#m.violation("softint-safety", usageMessage(th, c, against, bit), th.id, l.id);
    }
    c.usageSeen[Math.log2(bit)] = this.#seen(th); // after the report: the index of the acquisition's event
  }
}

/** The earlier usage bit that `bit` conflicts with (lockdep: read/read is the only safe pair), or 0. */
function conflicting(usage: number, bit: number): number {
  const isIn = bit === USAGE.inW || bit === USAGE.inR;
  const w = bit === USAGE.inW || bit === USAGE.onW;
  const other = isIn ? [USAGE.onW, USAGE.onR] : [USAGE.inW, USAGE.inR];
  for (const o of other) {
    if ((usage & o) === 0) continue;
    const oW = o === USAGE.inW || o === USAGE.onW;
    if (w || oW) return o;
  }
  return 0;
}

function seenText(s: Seen): string {
  return `event ${s.event} by ${s.thread}${s.run !== "" ? ` (${s.run})` : ""}`;
}

function classText(c: LockClass): string {
  return `"${c.name}"(${c.type})`;
}

/** WITNESS-style report (subr_witness.c; FreeBSD's "established at" lines). */
export function reversalMessage(g: LockOrderGraph, first: LockClass, second: LockClass, now: Seen): string {
  const lines = [
    "witness: lock order reversal:",
    ` 1st ${first.name} (${first.type})`,
    ` 2nd ${second.name} (${second.type})`,
  ];
  const by = `by ${now.thread}${now.run !== "" ? ` (${now.run})` : ""}`;
  lines.push(`lock order ${classText(first)} -> ${classText(second)} attempted ${by} at this event`);
  const chain = g.chain(second, first) ?? [second, first];
  if (chain.length > 2) lines.push(` 3rd ${chain[1].name} (${chain[1].type})`);
  for (let i = 0; i + 1 < chain.length; i++) {
    const e = g.edge(chain[i], chain[i + 1]);
    const where = e === undefined ? "?" : seenText(e);
    lines.push(`lock order ${classText(chain[i])} -> ${classText(chain[i + 1])} established at ${where}`);
  }
  return lines.join("\n");
}

/** lockdep-style "inconsistent lock state" report (kernel/locking/lockdep.c print_usage_bug). */
function usageMessage(th: Thread, c: LockClass, prev: number, now: number): string {
  const inSoft = th.kind === THREAD_KIND.softint ? 1 : 0;
  const enabled = th.kind !== THREAD_KIND.intr && th.spinHeld === 0 && inSoft === 0 ? 1 : 0;
  const prevSeen = c.usageSeen[Math.log2(prev)];
  return [
    "WARNING: inconsistent lock state",
    `inconsistent {${USAGE_NAMES[Math.log2(prev)]}} -> {${USAGE_NAMES[Math.log2(now)]}} usage.`,
    `${th.name} [HC0[0]:SC${inSoft}[${inSoft}]:HE1:SE${enabled}] takes:`,
    ` (${c.name}){${usageBits(c.usage)}}, at this event`,
    `{${USAGE_NAMES[Math.log2(prev)]}} state was registered at ${prevSeen === null ? "?" : seenText(prevSeen)}`,
  ].join("\n");
}

/** The softirq half of lockdep's `{....}` usage string: W then R, `-` in, `+` enabled, `?` both. */
function usageBits(u: number): string {
  const ch = (inB: number, onB: number) => {
    const i = (u & inB) !== 0, o = (u & onB) !== 0;
    return i && o ? "?" : i ? "-" : o ? "+" : ".";
  };
  return `${ch(USAGE.inW, USAGE.onW)}${ch(USAGE.inR, USAGE.onR)}`;
}
