/**
 * NetBSD's TCP socket path under the locking of the May 2026 NET_MPSAFE
 * work: lock classes, the declared hierarchy and its check (locking.ts), the
 * socket (socket.ts) and tcp_input plus the system calls (tcp.ts). Run with
 * `kernel=netbsd` for kmutex semantics (core/locks.ts).
 *
 * @example
 * ```ts
 * import { HierarchyCheck, NbTcp } from "./mod.ts";
 * // const tcp = new NbTcp(m, { variant: "hierarchy", ... }); new HierarchyCheck(m).install();
 * ```
 * @module
 */
export { HIERARCHY, HierarchyCheck, NB_CLASS, NB_VARIANTS, type NbVariant } from "./locking.ts";
export { Held, NbSocket, SS } from "./socket.ts";
export { type NbCosts, type NbOptions, NbTcp, SEG } from "./tcp.ts";
