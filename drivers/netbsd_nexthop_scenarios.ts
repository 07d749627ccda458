/**
 * "Separate nexthop cache; not part of the routing table"
 * (docs/netbsd-infrastructure.md, row 6e): the same forwarding decisions made
 * with ARP entries as cloned host routes in the routing table (today), or
 * with a routing table of prefixes only plus a per-interface nexthop cache,
 * "usually implemented using patricia trees".
 *
 * A router has `nh.routes` random prefixes, a connected 10.0.0.0/16 with
 * `nh.neighbours` hosts on it, four of them gateways. A packet arrives every
 * `nh.gapNs`; half go to a neighbour drawn from a window of `nh.active`
 * hosts that slides over the others during the run (the working set moves),
 * half to a destination inside a random route (via a gateway). Per packet:
 *
 * - `cloned`: one longest-prefix match in the table that also holds every
 *   known neighbour as a /32 (the cloned route carries the link-layer header;
 *   a gateway route's cached `rt_gwroute` points at the gateway's clone, so
 *   off-link packets need no second lookup while that clone lives);
 * - `nhcache`: a match in the prefix-only table, then an exact match of the
 *   next hop (the destination itself when on-link, else the route's gateway)
 *   in the interface's nexthop tree;
 * - `lltable`: NetBSD's own ARP table. NetBSD took ARP and ND out of the routing table
 *   in 2015: a prefix-only table, then an exact match of the next hop in the
 *   interface's `lltable`, a 32-bucket hash of LISTs (core/netbsd/lltable.ts,
 *   sys/net/if_llatbl.h 1.2.2.5, sys/netinet/in.c 1.161). Each entry has its
 *   own callout (`la_timer`): the ARP reply arms it `arpt_keep` ahead
 *   (sys/netinet/if_arp.c 1.271 in_arpinput -> arp_settimer), and when it
 *   fires `arptimer` frees the entry, used or not: arpresolve's fast path
 *   returns on a valid entry without renewing it (its `la_preempt` renewal
 *   sits on the slow path a valid entry never reaches). So in use or not,
 *   an entry dies at its timer and the next packet to it is held while it
 *   is resolved again; no refresh, no periodic walk. That is if_arp.c before
 *   2020 (1.271 is of 2018); NetBSD 10's nd(4) state machine (sys/net/nd.c 1.5.2.1) keeps a used
 *   entry (REACHABLE, then STALE for a day, probed by unicast on use while
 *   packets still flow), which is not modelled.
 *
 * Entries come and go as in OpenBSD's ARP, where they are still cloned routes
 * (sys/netinet/if_ether.c 1.277): a miss creates an incomplete entry (the
 * clone, RTM_RESOLVE, or the cache entry) and sends a request; the reply
 * (`nh.resolveUs` later) completes it with an expiry `arpt_keep` (`nh.keepUs`)
 * ahead; a use within the last eighth of that sends a refresh whose reply
 * pushes the expiry on (arpresolve); `arptimer`, a timeout re-armed every
 * `arpt_prune` (`nh.pruneUs`, core/timeout.ts at softclock), walks the entries
 * and frees those whose expiry passed (arptfree: RTM_DELETE of the clone,
 * rn_delete/ptree_remove_node; for the cache, a removal from the interface's
 * tree only). Packets meeting an incomplete entry are held (la_mq), counted,
 * not re-sent. The real timers are minutes (arpt_keep 20 min, arpt_prune
 * 5 min); the defaults keep their 4:1 ratio at a scale the run can show.
 *
 * Checked: a forwarded packet's next hop is the one the prefix-only
 * reference table and the gateways give, and every tree answer agrees with
 * the entries' state (a live entry found, an expired one missed); a
 * difference is a `conservation` violation. The trees are
 * core/netbsd/ptree.ts or radix.ts (`nh.tree`).
 * @module
 */
import { ConfigError } from "../core/config.ts";
import { LlTable } from "../core/netbsd/lltable.ts";
import { PTree } from "../core/netbsd/ptree.ts";
import { RadixTree } from "../core/netbsd/radix.ts";
import { maskOf, randomTable, type RouteTable } from "../core/netbsd/route_table.ts";
import { type KCode, KObj } from "../core/objects.ts";
import { defineScenario } from "../core/scenario.ts";
import { msleep } from "../core/sync.ts";
import { Timeouts } from "../core/timeout.ts";

const LAN = 0x0a000000, LAN_LEN = 16, GATEWAYS = 4, QUARTERS = 4;
/** Entry states (llinfo_arp without and with a link-layer address). */
const ABSENT = 0, INCOMPLETE = 1, RESOLVED = 2;

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
  doc:
    "forwarding with ARP entries as cloned /32 routes in the table vs a per-interface nexthop cache tree, with expiry",
  params: {
    "nh.mode": {
      default: "cloned",
      choices: ["cloned", "nhcache", "lltable"],
      doc:
        "cloned routes (OpenBSD today), a nexthop cache tree (the proposal), or NetBSD's lltable hash (if_arp.c 1.271)",
    },
    "nh.tree": { default: "radix", choices: ["radix", "ptree"], doc: "the tree used for both table and cache" },
    "nh.routes": { default: 10_000, min: 1, max: 1_000_000, doc: "prefix routes besides the connected /16" },
    "nh.neighbours": { default: 5000, min: GATEWAYS + 1, max: 60_000, doc: "hosts on the connected /16" },
    "nh.active": { default: 500, min: 1, max: 60_000, doc: "neighbours in the sliding working set (< nh.neighbours)" },
    "nh.packets": { default: 20_000, min: 1, max: 10_000_000, doc: "packets forwarded" },
    "nh.gapNs": { default: 10_000, min: 1, max: 1_000_000_000, doc: "time between two packets' arrivals" },
    "nh.keepUs": {
      default: 40_000,
      min: 0,
      max: 3_600_000_000,
      doc: "arpt_keep: lifetime of a resolved entry, us (0: never expires)",
    },
    "nh.pruneUs": { default: 10_000, min: 1, max: 3_600_000_000, doc: "arpt_prune: period of the arptimer walk, us" },
    "nh.resolveUs": { default: 100, min: 1, max: 1_000_000, doc: "ARP request to reply" },
  },
  machine: { kernel: "netbsd", cpus: 1, "sim.durationNs": 10_000_000_000 },
  setup(m, p) {
    const rng = m.workRng, c = m.cost;
    const nHosts = p["nh.neighbours"], active = p["nh.active"], packets = p["nh.packets"];
    if (active > nHosts - GATEWAYS) {
      throw new ConfigError(`nh.active: above nh.neighbours - ${GATEWAYS} (the gateways)`);
    }
    const keepNs = p["nh.keepUs"] * 1e3, pruneNs = p["nh.pruneUs"] * 1e3, resolveNs = p["nh.resolveUs"] * 1e3;
    const gapNs = p["nh.gapNs"];
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
    const nPrefixes = prefixes.keys.length;
    // Neighbours: distinct hosts of 10.0.0.0/16 (not .0 or .255.255); the first four are the gateways.
    const hostIndex = new Map<number, number>();
    const hosts = new Uint32Array(nHosts);
    for (let n = 0; n < nHosts;) {
      const h = (LAN | (1 + rng.below(0xfffe))) >>> 0;
      if (!hostIndex.has(h)) {
        hostIndex.set(h, n);
        hosts[n++] = h;
      }
    }
    const cloned = p["nh.mode"] === "cloned", llt = p["nh.mode"] === "lltable";
    const usePtree = p["nh.tree"] === "ptree";
    const nodeNs = usePtree ? c.ptreeNode : c.radixNode;
    // The routing table starts with the prefixes (route ids 0..nPrefixes-1); neighbour i's entry is id nPrefixes + i,
    // a clone in the table or an entry of the interface's cache.
    const rt = usePtree ? new PTree(prefixes) : new RadixTree(prefixes);
    const cache = cloned ? null : llt ? new LlTable(nHosts) : usePtree ? new PTree() : new RadixTree();
    const entries = cloned ? rt : cache as PTree | RadixTree | LlTable;
    // An lltable chain entry is one load and a 4-byte compare: priced as a ptree node (a load and an XOR).
    const cacheNodeNs = llt ? c.ptreeNode : nodeNs;
    const state = new Uint8Array(nHosts), refreshing = new Uint8Array(nHosts);
    const expireNs = new Float64Array(nHosts);
    const gwValid = new Uint8Array(GATEWAYS); // rt_gwroute still points at a live clone
    let live = 0, livePeak = 0, expired = 0, resolutions = 0, refreshes = 0, held = 0, tableWrites = 0;
    let nodes = 0, keyCmps = 0, sumNs = 0, done = 0, wrong = 0, disagree = 0;
    let traffic = true; // the arptimer stops with the traffic, so the run ends
    const qNodes = new Float64Array(QUARTERS), qPackets = new Float64Array(QUARTERS);
    const qTable = new Float64Array(QUARTERS), qCache = new Float64Array(QUARTERS);
    const gatewayOf = (route: number) => (prefixes.keys[route] >>> 8) % GATEWAYS;
    // in_arpinput -> arpcache: only an entry still there takes the reply. One callback per host and kind, made
    // here, so a resolution allocates nothing.
    const tos = keepNs !== 0 ? new Timeouts(m) : null;
    // lltable: one callout per entry (la_timer), made here; arptimer frees the entry whatever its use.
    const arptimerEntry = function* (arg: unknown): KCode {
      const i = arg as number;
      if (state[i] === ABSENT) return;
      if (entries.remove(hosts[i], 32) !== nPrefixes + i) {
        m.violation("conservation", `arptimer: entry of host ${i} not in the lltable`, i);
      }
      state[i] = ABSENT;
      live--;
      expired++;
      yield m.spend(c.ptreeNode); // LIST_REMOVE of a doubly linked entry
    };
    const laTimer = llt && tos !== null
      ? Array.from({ length: nHosts }, (_, i) => tos.set("arptimer", arptimerEntry, i))
      : [];
    const reply = (i: number, refresh: boolean) => () => {
      if (refresh) refreshing[i] = 0;
      if (state[i] === ABSENT) return;
      state[i] = RESOLVED;
      expireNs[i] = keepNs === 0 ? 0 : m.nowNs + keepNs;
      if (laTimer.length !== 0) (tos as Timeouts).add(laTimer[i], keepNs); // arp_settimer(la, arpt_keep)
    };
    const onReply = Array.from({ length: nHosts }, (_, i) => reply(i, false));
    const onRefresh = Array.from({ length: nHosts }, (_, i) => reply(i, true));
    const tableSize = () => rt.routes;
    // arpresolve for neighbour i: true when the packet can go (a resolved entry).
    const resolve = (i: number, found: boolean): boolean => {
      const present = state[i] !== ABSENT;
      if (found !== present && disagree++ === 0) {
        m.violation(
          "conservation",
          `nexthop entry of host ${i}: tree ${found ? "has" : "misses"} it, state ${state[i]}`,
          i,
        );
      }
      if (!present) {
        // RTM_RESOLVE (a clone in the table) or a new cache entry, incomplete; send the request.
        entries.insert(hosts[i], 32, nPrefixes + i);
        if (cloned) tableWrites++;
        state[i] = INCOMPLETE;
        live++;
        if (live > livePeak) livePeak = live;
        resolutions++;
        m.at(m.nowNs + resolveNs, onReply[i]);
        return false;
      }
      if (state[i] === INCOMPLETE) return false;
      if (!llt && keepNs !== 0 && expireNs[i] - keepNs / 8 < m.nowNs && refreshing[i] === 0) {
        refreshing[i] = 1; // refresh when the timeout gets close
        refreshes++;
        m.at(m.nowNs + resolveNs, onRefresh[i]);
      }
      return true;
    };
    if (tos !== null && !llt) {
      const arptimer = tos.set("arptimer", function* (): KCode {
        if (traffic) tos.add(arptimer, pruneNs);
        let walkNodes = 0;
        for (let i = 0; i < nHosts; i++) {
          if (state[i] === ABSENT || expireNs[i] === 0 || expireNs[i] >= m.nowNs) continue;
          // arptfree: the entry leaves its tree (the routing table for a clone, else the interface's cache).
          entries.lookup(hosts[i]);
          walkNodes += entries.last.nodes; // the descent the removal makes
          if (entries.remove(hosts[i], 32) !== nPrefixes + i) {
            m.violation("conservation", `arptfree: entry of host ${i} not in its tree`, i);
          }
          if (cloned) tableWrites++;
          if (cloned && i < GATEWAYS) gwValid[i] = 0;
          state[i] = ABSENT;
          live--;
          expired++;
        }
        yield m.spend(walkNodes * nodeNs);
      });
      tos.add(arptimer, pruneNs);
    }
    const rx = new KObj(m.newId(), "nh_rx");
    m.spawn("forward", function* (): KCode {
      const others = nHosts - GATEWAYS, slide = others - active;
      for (let k = 0; k < packets; k++) {
        if (k > 0) yield* msleep(m, rx, null, gapNs); // the next packet's arrival
        let dst: number, host = -1;
        if (rng.below(2) === 0) {
          host = GATEWAYS + Math.floor((k * slide) / packets) + rng.below(active); // the working set slides
          dst = hosts[host];
        } else {
          const r = rng.below(nPrefixes);
          dst = (prefixes.keys[r] | (rng.below(0x100000000) & ~maskOf(prefixes.lens[r]))) >>> 0;
          const h = hostIndex.get(dst);
          if (h !== undefined) host = h; // a random destination that happens to be a neighbour
        }
        const r = rt.lookup(dst);
        let n = rt.last.nodes, kc = rt.last.keyCmps;
        let nexthop = -1, hop = -1, went = false, chainNodes = 0;
        if (r >= 0) {
          const clone = r >= nPrefixes;
          const connected = clone || (prefixes.keys[r] === LAN && prefixes.lens[r] === LAN_LEN);
          if (connected) hop = host; // on-link: a neighbour (or an unknown host: no entry, never resolved)
          else hop = gatewayOf(r);
          if (hop >= 0) {
            let found: boolean;
            if (cloned && connected) found = clone; // the clone is the route the lookup returned
            else if (cloned && gwValid[hop] !== 0) found = true; // rt_gwroute cached and its clone alive
            else {
              // nhcache: the hop in the interface's tree; cloned: rt_getll re-looks the gateway up in the table.
              const h = entries.lookup(hosts[hop]);
              n += entries.last.nodes;
              if (llt) chainNodes += entries.last.nodes;
              kc += entries.last.keyCmps;
              found = h === nPrefixes + hop;
              if (cloned) gwValid[hop] = found ? 1 : 0;
            }
            went = resolve(hop, found);
            if (!went) held++;
            else nexthop = hosts[hop];
          }
        }
        // The answer both designs must give when they forward: the neighbour itself, or the covering prefix's gateway.
        const want = host >= 0 ? dst : gatewayOfPrefix(dst);
        if (went && nexthop !== want && wrong++ === 0) {
          m.violation("conservation", `nexthop for ${dst >>> 0}: got ${nexthop}, expected ${want}`, dst);
        }
        const ns = (n - chainNodes) * nodeNs + chainNodes * cacheNodeNs + kc * c.radixKeyCmp;
        const q = Math.floor((QUARTERS * k) / packets);
        qNodes[q] += n;
        qPackets[q]++;
        nodes += n;
        keyCmps += kc;
        sumNs += ns;
        done++;
        if (Math.floor((QUARTERS * (k + 1)) / packets) !== q || k + 1 === packets) {
          qTable[q] = tableSize();
          qCache[q] = cache === null ? 0 : cache.routes;
        }
        yield m.spend(ns);
      }
      traffic = false;
    });
    // The reference answer from the prefix-only table (independent of the mode's trees).
    const ref = usePtree ? new PTree(prefixes) : new RadixTree(prefixes);
    function gatewayOfPrefix(dst: number): number {
      const r = ref.lookup(dst);
      if (r < 0) return -1;
      if (prefixes.keys[r] === LAN && prefixes.lens[r] === LAN_LEN) return -1; // on the LAN but not a neighbour
      return hosts[(prefixes.keys[r] >>> 8) % GATEWAYS];
    }
    const round2 = (x: number) => Math.round(100 * x) / 100;
    return {
      metrics: () => {
        const out: Record<string, number> = {};
        for (let q = 0; q < QUARTERS; q++) out[`tableEntries.q${q + 1}`] = qTable[q];
        for (let q = 0; q < QUARTERS; q++) out[`cacheEntries.q${q + 1}`] = qCache[q];
        for (let q = 0; q < QUARTERS; q++) {
          out[`nodesPerPacket.q${q + 1}`] = round2(qNodes[q] / Math.max(1, qPackets[q]));
        }
        return {
          ...out,
          entriesPeak: livePeak,
          treeNodes: rt.size + (cache?.size ?? 0),
          nodesPerPacket: round2(nodes / Math.max(1, done)),
          nsPerPacket: round2(sumNs / Math.max(1, done)),
          packets: done,
          resolutions,
          refreshes,
          expired,
          heldPkts: held,
          tableWrites,
          wrongNexthop: wrong,
          treeDisagreements: disagree,
        };
      },
    };
  },
});
