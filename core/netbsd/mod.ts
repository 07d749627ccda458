/**
 * NetBSD models, built on the machine's public API, for the built-in
 * scenarios and for users' own designs.
 *
 * The TCP socket path under the locking of the May 2026 NET_MPSAFE work
 * (docs/netbsd.md): lock classes, the declared hierarchy and its check
 * ({@link HierarchyCheck}), the socket ({@link NbSocket}) and tcp_input plus
 * the system calls ({@link NbTcp}). Run with `kernel=netbsd` for kmutex
 * semantics (core/locks.ts).
 *
 * The network infrastructure proposals (docs/netbsd-infrastructure.md):
 * - {@link Pcq}: pcq(9) as subr_pcq.c 1.14 (CAS producers, n-1 capacity);
 *   {@link IfQueue}: an ifqueue under a spin mutex;
 * - {@link AtomicQueue}: the atomic queue proposal, insertion at the head or
 *   the tail of one queue; {@link AtomicLifo}, {@link AtomicFifo}: each end
 *   alone; {@link MutexTailq}: the locked list of today;
 * - {@link PTree} and {@link RadixTree}: ptree and the BSD radix tree
 *   (`rn_match`) over IPv4 prefixes; {@link randomTable} and
 *   {@link LpmOracle} to build and check tables; {@link LlTable}: NetBSD's
 *   per-interface ARP/ND table (a 32-bucket hash), today's nexthop cache;
 * - {@link Kcont}: kernel continuations; {@link Workqueue}: workqueue(9);
 * - {@link Branes}: virtual network stacks.
 *
 * Lockless structures take one step (a yield point) per shared-memory
 * access, so exploration interleaves other CPUs between a load and its CAS.
 *
 * @example
 * ```ts
 * import { Pcq } from "./mod.ts";
 * new Pcq(8).maxitems(); // 8, holding 7
 * ```
 * @module
 */
export { IfQueue, type Op, Pcq, PCQ_MAXLEN, PCQ_VARIANTS, type PcqVariant } from "./pcq.ts";
export {
  AtomicFifo,
  AtomicLifo,
  AtomicQueue,
  FIFO_VARIANTS,
  type FreeList,
  LIFO_VARIANTS,
  MutexTailq,
  QUEUE_VARIANTS,
} from "./atomic_queue.ts";
export { type LookupCost, PT_IPV4_OPS, PTree, type PtTreeOps } from "./ptree.ts";
export { RadixTree } from "./radix.ts";
export { llHash, LlTable, LLTBL_HSIZE } from "./lltable.ts";
export { bruteForceMatch, clz32, LpmOracle, maskOf, randomTable, ROUTES_MAX, type RouteTable } from "./route_table.ts";
export { Kcont, type KcontClass, type KcontItem } from "./continuation.ts";
export { type Work, Workqueue } from "./workqueue.ts";
export { type Brane, Branes } from "./brane.ts";
export { HIERARCHY, HierarchyCheck, NB_CLASS, NB_VARIANTS, type NbVariant } from "./locking.ts";
export { Held, NbSocket, SS } from "./socket.ts";
export { type NbCosts, type NbFaults, type NbOptions, NbTcp, SEG } from "./tcp.ts";
