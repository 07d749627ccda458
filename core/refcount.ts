/**
 * Reference counts (refcnt_take/refcnt_rele, OpenBSD kern_synch.c; m_freem
 * style frees at zero): every object ever allocated is kept, freed ones
 * included, so touching a freed object is reported as a use after free
 * naming who freed it and at which event, and a release below zero as an
 * underflow.
 * @module
 */
import type { MachineBase } from "./machine_base.ts";
import { RefObj } from "./objects.ts";
import { KIND } from "./schema.ts";

/** The reference-counted objects of one machine. */
export class RefCounts {
  /** Every object allocated, freed ones included. */
  readonly all: RefObj[] = [];
  readonly #m: MachineBase;

  /** Reference counts of machine `m`. */
  constructor(m: MachineBase) {
    this.#m = m;
  }

  /** Allocates an object of `type` with `refs` references. */
  alloc(type: string, refs = 1): RefObj {
    const m = this.#m;
    const o = new RefObj(m.newId(), type, refs);
    this.all.push(o);
    m.emit(KIND.objAlloc, o.id, m.str(type), refs);
    return o;
  }

  /** Takes a reference. Touching a freed object is a use after free. */
  ref(o: RefObj): void {
    if (this.touch(o, "ref")) return;
    o.refs++;
    this.#m.emit(KIND.ref, o.id, o.refs);
  }

  /** Drops a reference; frees the object at zero. Returns true when it freed it. */
  rele(o: RefObj): boolean {
    const m = this.#m;
    if (this.touch(o, "rele")) return false;
    const by = m.curThread;
    if (o.refs === 0) {
      m.violation("refcount-underflow", `refcount underflow on ${o.type}#${o.id} by ${by?.name ?? "device"}`, o.id);
      return false;
    }
    o.refs--;
    m.emit(KIND.rele, o.id, o.refs);
    if (o.refs > 0) return false;
    o.freed = true;
    o.freedBy = by === null ? 0 : by.id;
    o.freedAtEvent = m.eventIndex;
    m.emit(KIND.objFree, o.id);
    return true;
  }

  /** Reports a use after free when `o` was freed (`what` names the access). Returns true if freed. */
  touch(o: RefObj, what: string): boolean {
    if (!o.freed) return false;
    const m = this.#m;
    const freer = m.threads[o.freedBy - 1];
    m.violation(
      "use-after-free",
      `use after free: ${what} of ${o.type}#${o.id} by ${m.curThread?.name ?? "device"}, freed by ${
        freer?.name ?? "?"
      } at event ${o.freedAtEvent}`,
      o.id,
      o.freedAtEvent,
    );
    return true;
  }
}
