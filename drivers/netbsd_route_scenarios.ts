/**
 * Route lookup: NetBSD's PATRICIA tree (ptree) against the BSD radix tree
 * (`rn_match`) on the same random table and the same destinations
 * (docs/netbsd-infrastructure.md, row 3).
 *
 * The table is built before the run (a routing daemon's load), from the
 * workload random stream; lookup threads then resolve destinations, each
 * lookup spending the cost of the nodes it visited (`cost.ptreeNode`, or
 * `cost.radixNode` plus `cost.radixKeyCmp` per key comparison). Every answer
 * is checked against an independent longest-prefix-match oracle; a
 * disagreement is a `conservation` violation (the route a packet needed was
 * not the one it got).
 * @module
 */
import type { Machine } from "../core/machine.ts";
import { PTree } from "../core/netbsd/ptree.ts";
import { RadixTree } from "../core/netbsd/radix.ts";
import { LpmOracle, maskOf, randomTable, ROUTES_MAX } from "../core/netbsd/route_table.ts";
import type { KCode } from "../core/objects.ts";
import { defineScenario } from "../core/scenario.ts";

/** sizeof on LP64 of what each tree keeps per route (NetBSD structures). */
const BYTES = {
  /** pt_node_t: two uintptr_t slots and two uint32_t (sys/sys/ptree.h), embedded in the entry. */
  ptNode: 24,
  /** Two struct radix_node (rn_addroute's treenodes[2], 48 bytes each, sys/net/radix.h). */
  radixPair: 96,
  /** struct radix_mask, per mask list entry. */
  radixMask: 32,
} as const;

/** ptree against radix on one random table. */
export const routeLookup = defineScenario({
  name: "route-lookup",
  doc: "longest-prefix match on a random IPv4 table: NetBSD ptree (PATRICIA) vs the BSD radix tree (rn_match)",
  params: {
    "route.impl": { default: "ptree", choices: ["ptree", "radix"], doc: "the tree: ptree or radix" },
    "route.routes": { default: 1000, min: 1, max: ROUTES_MAX, doc: "routes in the table (plus the default route)" },
    "route.lookups": { default: 20_000, min: 1, max: 10_000_000, doc: "lookups per thread" },
    "route.threads": { default: 2, min: 1, max: 64, doc: "lookup threads (spread over the CPUs)" },
    "route.hitPct": { default: 50, min: 0, max: 100, doc: "share of destinations drawn inside a route's prefix" },
    "route.default": { default: true, doc: "the table has a default route" },
    "route.check": { default: true, doc: "check every answer against the longest-prefix-match oracle" },
  },
  machine: { kernel: "netbsd", cpus: 2, "sim.durationNs": 10_000_000_000 },
  setup(m, p) {
    const table = randomTable(m.workRng, p["route.routes"], p["route.default"]);
    const usePtree = p["route.impl"] === "ptree";
    const tree = usePtree ? new PTree(table) : new RadixTree(table);
    const oracle = p["route.check"] ? new LpmOracle(table) : null;
    const nodeNs = usePtree ? m.cost.ptreeNode : m.cost.radixNode;
    const cmpNs = m.cost.radixKeyCmp;
    const nRoutes = table.keys.length, hitPct = p["route.hitPct"], lookups = p["route.lookups"];
    let done = 0, nodes = 0, keyCmps = 0, sumNs = 0, misses = 0, mismatches = 0;
    const draw = (rng: Machine["workRng"]): number => {
      const a = rng.below(0x100000000);
      if (rng.below(100) >= hitPct) return a;
      const k = rng.below(nRoutes); // inside route k: its key, random host bits
      return (table.keys[k] | (a & ~maskOf(table.lens[k]))) >>> 0;
    };
    for (let i = 0; i < p["route.threads"]; i++) {
      m.spawn(`lookup${i}`, function* (): KCode {
        for (let k = 0; k < lookups; k++) {
          const a = draw(m.workRng);
          const r = tree.lookup(a);
          // Not checked: 255.255.255.255, which rn_match answers with the all-ones
          // end marker (RNF_ROOT, "no route" to rtalloc) whatever the table.
          if (oracle !== null && a !== 0xffffffff) {
            const want = oracle.match(a);
            if (want !== r && mismatches++ === 0) {
              m.violation("conservation", `route lookup of ${dotted(a)}: got route ${r}, longest match is ${want}`, a);
            }
          }
          if (r < 0) misses++;
          const ns = tree.last.nodes * nodeNs + tree.last.keyCmps * cmpNs;
          nodes += tree.last.nodes;
          keyCmps += tree.last.keyCmps;
          sumNs += ns;
          done++;
          yield m.spend(ns);
        }
      }, { pin: i % m.cpus.length });
    }
    const masks = tree instanceof RadixTree ? tree.masks : 0;
    return {
      metrics: () => ({
        routes: nRoutes,
        lookups: done,
        nodesPerLookup: round2(nodes / Math.max(1, done)),
        keyCmpsPerLookup: round2(keyCmps / Math.max(1, done)),
        nsPerLookup: round2(sumNs / Math.max(1, done)),
        lookupsPerSecPerCpu: Math.round((1e9 * done) / Math.max(1, sumNs)),
        treeNodes: tree.size,
        maskEntries: masks,
        treeBytes: usePtree ? nRoutes * BYTES.ptNode : nRoutes * BYTES.radixPair + masks * BYTES.radixMask,
        noRoute: misses,
        mismatches,
      }),
    };
  },
});

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

function dotted(a: number): string {
  return `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`;
}
