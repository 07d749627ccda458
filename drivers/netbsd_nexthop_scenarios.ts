/**
 * "Separate nexthop cache; not part of the routing table"
 * (docs/netbsd-infrastructure.md, row 6e): the same forwarding decisions made
 * with ARP entries as cloned host routes in the routing table (today), or
 * with a routing table of prefixes only plus a per-interface nexthop cache,
 * "usually implemented using patricia trees".
 *
 * A router has `nh.routes` random prefixes, a connected 10.0.0.0/16 with
 * `nh.neighbours` resolved neighbours on it, and four gateways on that LAN.
 * Half the packets go to a neighbour, half to a destination inside a random
 * route (via a gateway). Per packet:
 *
 * - `cloned`: one longest-prefix match in the table that also holds every
 *   neighbour as a /32 (the cloned route carries the link-layer header; a
 *   gateway route's `rt_gwroute` points at the gateway's clone, so off-link
 *   packets need no second lookup);
 * - `nhcache`: a match in the prefix-only table, then an exact match of the
 *   next hop (the destination itself when on-link, else the route's gateway)
 *   in the interface's nexthop tree.
 *
 * Both must pick the same next hop for every packet (checked: a difference is
 * a `conservation` violation). The trees are core/netbsd/ptree.ts or
 * radix.ts (`nh.tree`), built once: entry expiry is not modelled.
 * @module
 */
import { PTree } from "../core/netbsd/ptree.ts";
import { RadixTree } from "../core/netbsd/radix.ts";
import { maskOf, randomTable, type RouteTable } from "../core/netbsd/route_table.ts";
import type { KCode } from "../core/objects.ts";
import { defineScenario } from "../core/scenario.ts";

const LAN = 0x0a000000, LAN_LEN = 16, GATEWAYS = 4;

/** Sorts (key, len) pairs into a table. */
function tableOf(keys: number[], lens: number[]): RouteTable {
  const idx = keys.map((_, i) => i).sort((a, b) => keys[a] - keys[b] || lens[a] - lens[b]);
  const out = { keys: new Uint32Array(idx.length), lens: new Uint8Array(idx.length) };
  let n = 0;
  for (const i of idx) {
    if (n > 0 && out.keys[n - 1] === keys[i] && out.lens[n - 1] === lens[i]) continue; // duplicate route
    out.keys[n] = keys[i];
    out.lens[n++] = lens[i];
  }
  return { keys: out.keys.subarray(0, n), lens: out.lens.subarray(0, n) };
}

/** Cloned ARP routes in the table against a separate nexthop cache. */
export const nexthopCache = defineScenario({
  name: "nexthop-cache",
  doc: "forwarding with ARP entries as cloned /32 routes in the table vs a per-interface nexthop cache tree",
  params: {
    "nh.mode": { default: "cloned", choices: ["cloned", "nhcache"], doc: "cloned routes, or a nexthop cache" },
    "nh.tree": { default: "radix", choices: ["radix", "ptree"], doc: "the tree used for both table and cache" },
    "nh.routes": { default: 10_000, min: 1, max: 1_000_000, doc: "prefix routes besides the connected /16" },
    "nh.neighbours": { default: 5000, min: GATEWAYS, max: 60_000, doc: "resolved neighbours on the connected /16" },
    "nh.packets": { default: 20_000, min: 1, max: 10_000_000, doc: "packets forwarded" },
  },
  machine: { cpus: 1, "sim.durationNs": 10_000_000_000 },
  setup(m, p) {
    const rng = m.workRng, c = m.cost;
    const base = randomTable(rng, p["nh.routes"], true);
    // No random route more specific than the connected /16 inside it (it would override the LAN for some hosts).
    const keys: number[] = [], lens: number[] = [];
    for (let i = 0; i < base.keys.length; i++) {
      if (base.lens[i] > LAN_LEN && (base.keys[i] & maskOf(LAN_LEN)) >>> 0 === LAN) continue;
      keys.push(base.keys[i]);
      lens.push(base.lens[i]);
    }
    keys.push(LAN);
    lens.push(LAN_LEN);
    const prefixes = tableOf(keys, lens);
    // Neighbours: distinct hosts of 10.0.0.0/16 (not .0 or .255.255); the first four are the gateways.
    const seen = new Set<number>();
    const hosts: number[] = [];
    while (hosts.length < p["nh.neighbours"]) {
      const h = (LAN | (1 + rng.below(0xfffe))) >>> 0;
      if (!seen.has(h)) {
        seen.add(h);
        hosts.push(h);
      }
    }
    const gateways = hosts.slice(0, GATEWAYS);
    const cloned = p["nh.mode"] === "cloned";
    const mk = (t: RouteTable) => p["nh.tree"] === "ptree" ? new PTree(t) : new RadixTree(t);
    const nodeNs = p["nh.tree"] === "ptree" ? c.ptreeNode : c.radixNode;
    // The routing table: prefixes (+ a /32 per neighbour when cloned); the cache: one /32 per neighbour.
    const hostTable = tableOf(hosts, hosts.map(() => 32));
    const table = cloned
      ? tableOf([...prefixes.keys, ...hosts], [...Array.from(prefixes.lens), ...hosts.map(() => 32)])
      : prefixes;
    const rt = mk(table), cache = cloned ? null : mk(hostTable);
    let nodes = 0, keyCmps = 0, sumNs = 0, done = 0, wrong = 0;
    const gatewayOf = (route: number) => gateways[(table.keys[route] >>> 8) % GATEWAYS];
    m.spawn("forward", function* (): KCode {
      for (let k = 0; k < p["nh.packets"]; k++) {
        let dst: number;
        if (rng.below(2) === 0) dst = hosts[rng.below(hosts.length)];
        else {
          const r = rng.below(prefixes.keys.length);
          dst = (prefixes.keys[r] | (rng.below(0x100000000) & ~maskOf(prefixes.lens[r]))) >>> 0;
        }
        const onLink = (dst & maskOf(LAN_LEN)) >>> 0 === LAN && seen.has(dst);
        const r = rt.lookup(dst);
        let n = rt.last.nodes, kc = rt.last.keyCmps;
        let nexthop = -1;
        if (r >= 0) {
          // A /32 inside the LAN is a neighbour's clone (random routes inside the LAN were left out).
          const clone = table.lens[r] === 32 && (table.keys[r] & maskOf(LAN_LEN)) >>> 0 === LAN;
          const connected = clone || (table.keys[r] === LAN && table.lens[r] === LAN_LEN);
          if (cloned) nexthop = clone ? dst : connected ? -1 : gatewayOf(r); // rt_gwroute cached
          else {
            const hop = connected ? dst : gatewayOf(r);
            const h = (cache as PTree | RadixTree).lookup(hop);
            n += (cache as PTree | RadixTree).last.nodes;
            kc += (cache as PTree | RadixTree).last.keyCmps;
            nexthop = h >= 0 && hostTable.keys[h] === hop ? hop : -1; // exact match only (a /32 of the cache)
          }
        }
        // The answer both designs must give: the neighbour itself, or the gateway of the covering prefix.
        const want = onLink ? dst : gatewayOfPrefix(dst);
        if (nexthop !== want && wrong++ === 0) {
          m.violation("conservation", `nexthop for ${dst >>> 0}: got ${nexthop}, expected ${want}`, dst);
        }
        const ns = n * nodeNs + kc * c.radixKeyCmp;
        nodes += n;
        keyCmps += kc;
        sumNs += ns;
        done++;
        yield m.spend(ns);
      }
    });
    // The reference answer from the prefix-only table (independent of the mode's table).
    const ref = mk(prefixes);
    function gatewayOfPrefix(dst: number): number {
      const r = ref.lookup(dst);
      if (r < 0) return -1;
      if (prefixes.keys[r] === LAN && prefixes.lens[r] === LAN_LEN) return -1; // on the LAN but unresolved
      return gateways[(prefixes.keys[r] >>> 8) % GATEWAYS];
    }
    return {
      metrics: () => ({
        tableEntries: table.keys.length,
        cacheEntries: cloned ? 0 : hostTable.keys.length,
        treeNodes: rt.size + (cache?.size ?? 0),
        nodesPerPacket: Math.round((100 * nodes) / Math.max(1, done)) / 100,
        nsPerPacket: Math.round((100 * sumNs) / Math.max(1, done)) / 100,
        packets: done,
        wrongNexthop: wrong,
      }),
    };
  },
});
