/**
 * NetBSD socket lock classes, the three locking variants and the declared
 * hierarchy, checked on every acquisition.
 *
 * The hierarchy is the one from the May 2026 tech-net thread "TCP and
 * NET_MPSAFE" (seeds/netbsd-tcp-net-mpsafe-2026-05.txt):
 * `SOCK_IO > SOCK_LOCK > INP_WLOCK > SOLISTEN > SOCKBUF_LOCK / SONOTIFY`,
 * where SOCKBUF_LOCK and SONOTIFY_LOCK are co-equal and never nest. It is
 * declared once, in {@link HIERARCHY}; {@link HierarchyCheck} checks each
 * acquisition of a hierarchy class against every hierarchy lock the thread
 * holds and reports a violation naming both classes and where each was taken
 * (event indices). WITNESS (core/detect/witness.ts) still runs beside it and
 * reports reversals it observes; this check needs no reversed run: the
 * declared order is the reference.
 *
 * Variants (`netbsd.locking`):
 * - `softnet`: today's NetBSD TCP: every socket's `so_lock` is the one global
 *   `softnet_lock` (uipc_socket.c / tcp_usrreq.c: `so->so_lock =
 *   softnet_lock`); SOCK_IO is the sleepable `sblock()` serialisation;
 * - `socket-mutex`: the first attempt the seed describes: one mutex per
 *   socket, standing for SOCK_LOCK, INP, SOLISTEN, SOCKBUF and SONOTIFY;
 * - `hierarchy`: the seed's final design, one lock per class;
 * - `wrong-order`: the hierarchy with a deliberate reversal in the receive
 *   path (SOCK_LOCK taken while holding SOCKBUF_LOCK), to show the check.
 * @module
 */
import type { Machine } from "../machine.ts";
import type { Lock, Thread } from "../objects.ts";

/** Lock class names, as the seed's macros. INP_LOCK is the inpcb rwlock (INP_WLOCK / INP_RLOCK). */
export const NB_CLASS = {
  io: "SOCK_IO",
  sock: "SOCK_LOCK",
  inp: "INP_LOCK",
  listen: "SOLISTEN_LOCK",
  sb: "SOCKBUF_LOCK",
  notify: "SONOTIFY_LOCK",
  softnet: "softnet_lock",
} as const;

/**
 * The declared hierarchy: class -> rank, higher taken first. Equal ranks are
 * co-equal classes that must not nest (SOCKBUF_LOCK / SONOTIFY_LOCK).
 * softnet_lock, the giant lock of today's code, is not part of it.
 */
export const HIERARCHY: Readonly<Record<string, number>> = {
  [NB_CLASS.io]: 5,
  [NB_CLASS.sock]: 4,
  [NB_CLASS.inp]: 3,
  [NB_CLASS.listen]: 2,
  [NB_CLASS.sb]: 1,
  [NB_CLASS.notify]: 1,
};

/** The locking variants (`netbsd.locking`). */
export const NB_VARIANTS = ["softnet", "socket-mutex", "hierarchy", "wrong-order"] as const;
/** One locking variant. */
export type NbVariant = (typeof NB_VARIANTS)[number];

/** Checks every acquisition of a hierarchy class against the locks the thread holds. */
export class HierarchyCheck {
  /** Violations reported so far (once per ordered class pair). */
  readonly reported: string[] = [];
  readonly #m: Machine;
  /** Event index at which each held lock was acquired (attempted), per lock. */
  readonly #takenAt = new Map<Lock, number>();
  readonly #pairs = new Set<string>();

  constructor(m: Machine) {
    this.#m = m;
  }

  /** Subscribes to every lock attempt. */
  install(): void {
    this.#m.hooks.lockEnter.add((th, l) => this.check(th, l));
  }

  /** `th` is about to take `l`. */
  check(th: Thread, l: Lock): void {
    const r = HIERARCHY[l.cls];
    if (r === undefined) return;
    const m = this.#m;
    const held = th.held;
    for (let i = 0; i < held.length; i++) {
      const h = held.at(i);
      if (h === l) continue; // recursion: the machine reports it
      const hr = HIERARCHY[h.cls];
      if (hr === undefined || hr > r) continue;
      if (hr === r && h.cls === l.cls) continue; // two objects of one class (two sockets' SOCKBUF): WITNESS's business
      const key = `${h.cls}>${l.cls}`;
      if (this.#pairs.has(key)) continue;
      this.#pairs.add(key);
      const why = hr === r ? "co-equal classes must not nest" : "reverses the declared order";
      const msg = `hierarchy: ${th.name} takes ${l.cls} (event ${m.eventIndex}) while holding ${h.cls} ` +
        `(taken at event ${this.#takenAt.get(h) ?? -1}): ${why} ` +
        "SOCK_IO > SOCK_LOCK > INP_LOCK > SOLISTEN_LOCK > SOCKBUF_LOCK / SONOTIFY_LOCK";
      this.reported.push(msg);
      m.violation("lock-order", msg, th.id, l.id);
    }
    this.#takenAt.set(l, m.eventIndex);
  }
}
