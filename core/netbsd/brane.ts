/**
 * Virtual network stacks ("branes") of the infrastructure document: all the
 * global data of a network stack (here its protocol control block table and
 * the lock that guards it) collected in one instance; interfaces and
 * processes belong to a brane, like chroot(2) for networking (`chbrane`).
 * With `shared` set, every brane is the one global stack of today.
 *
 * @example
 * ```ts
 * import { Branes } from "./brane.ts";
 * // const b = new Branes(m, 2, false); b.bind(1, addr, 53, so) // true: brane 1 has its own table
 * ```
 * @module
 */
import type { Machine } from "../machine.ts";
import type { Lock } from "../objects.ts";

/** One stack instance. */
export interface Brane {
  /** Brane id (0 is the global stack when shared). */
  readonly id: number;
  /** The stack lock (softnet_lock / the PCB table lock) of this instance. */
  readonly lock: Lock;
  /** PCB table: (address, port) -> socket id. */
  readonly pcbs: Map<number, number>;
}

/** The branes of a machine, or its one shared stack. */
export class Branes {
  /** The instances (one when shared). */
  readonly instances: Brane[];
  /** Brane of each process (by an id of the caller's choosing): chbrane(2). */
  readonly #procBrane = new Map<number, number>();
  readonly #shared: boolean;

  /** `n` branes, each its own stack, or (`shared`) all of them one global stack. */
  constructor(m: Machine, n: number, shared: boolean) {
    this.#shared = shared;
    const k = shared ? 1 : n;
    this.instances = Array.from({ length: k }, (_, i) => ({
      id: i,
      lock: m.newLock(shared ? "stack_lock" : `brane${i}_lock`, "adaptive"),
      pcbs: new Map<number, number>(),
    }));
  }

  /** The stack instance a brane id maps to. */
  of(brane: number): Brane {
    return this.instances[this.#shared ? 0 : brane];
  }

  /** chbrane(2): process `proc` now belongs to `brane`. */
  chbrane(proc: number, brane: number): void {
    this.#procBrane.set(proc, brane);
  }

  /** The brane of process `proc` (0 until chbrane). */
  braneOfProc(proc: number): number {
    return this.#procBrane.get(proc) ?? 0;
  }

  /** in_pcbbind in the process's brane: false for EADDRINUSE. */
  bind(proc: number, addr: number, port: number, so: number): boolean {
    const t = this.of(this.braneOfProc(proc)).pcbs;
    const key = addr * 65536 + port;
    if (t.has(key)) return false;
    t.set(key, so);
    return true;
  }

  /** in_pcblookup in the stack of the brane the receiving interface belongs to: a socket id or -1. */
  lookup(brane: number, addr: number, port: number): number {
    return this.of(brane).pcbs.get(addr * 65536 + port) ?? -1;
  }
}
