/**
 * nexthop-cache (drivers/netbsd_nexthop_scenarios.ts): cloned ARP routes in
 * the routing table against a per-interface nexthop cache, entries created
 * on a miss and expired by the arptimer timeout.
 * @module
 */
import { assert, assertEquals, assertThrows } from "./_assert.ts";
import { findScenario, resolveScenarioConfig, runScenario } from "../drivers/mod.ts";
import { RadixTree } from "../core/netbsd/radix.ts";
import { llHash, LlTable, LLTBL_HSIZE } from "../core/netbsd/lltable.ts";

const small = { "nh.routes": "3000", "nh.neighbours": "800", "nh.active": "100", "nh.packets": "5000" };

Deno.test("nexthop-cache: both designs pick the same next hop for every packet, with either tree", () => {
  for (const tree of ["radix", "ptree"]) {
    const run = (mode: string) =>
      runScenario({ scenario: "nexthop-cache", seed: 2, overrides: { ...small, "nh.mode": mode, "nh.tree": tree } });
    const cl = run("cloned"), nh = run("nhcache");
    for (const o of [cl, nh]) {
      assertEquals(o.result.violations, [], tree);
      assertEquals(o.metrics.wrongNexthop, 0);
      assertEquals(o.metrics.treeDisagreements, 0);
      assertEquals(o.metrics.packets, 5000);
      assert((o.metrics.expired as number) > 0, "entries expired during the run");
    }
    // The same traffic resolves the same neighbours (about: the designs' lookup times shift packets against the
    // arptimer walks); the clones sit in the table, the cache entries beside it.
    const near = (a: unknown, b: unknown, what: string) =>
      assert(Math.abs((a as number) - (b as number)) <= 0.03 * (b as number), `${what}: ${a} vs ${b}`);
    near(cl.metrics.resolutions, nh.metrics.resolutions, "resolutions");
    const prefixes = nh.metrics["tableEntries.q1"] as number;
    for (const q of ["q1", "q2", "q3", "q4"]) {
      assertEquals(nh.metrics[`tableEntries.${q}`], prefixes, "the prefix-only table keeps its size");
      const clones = (cl.metrics[`tableEntries.${q}`] as number) - prefixes;
      assert(clones > 50, `clones in the table: ${clones}`);
      near(clones, nh.metrics[`cacheEntries.${q}`], "as many clones as cache entries");
    }
    // Only clones write the routing table (created on a miss, freed by arptimer).
    assertEquals(nh.metrics.tableWrites, 0);
    assertEquals(cl.metrics.tableWrites, (cl.metrics.resolutions as number) + (cl.metrics.expired as number));
    // ... and a packet now takes two lookups instead of one.
    assert((nh.metrics.nodesPerPacket as number) > (cl.metrics.nodesPerPacket as number), tree);
  }
});

Deno.test("nexthop-cache: with expiry the table follows the working set, without it the clones pile up", () => {
  const run = (keepUs: string) =>
    runScenario({
      scenario: "nexthop-cache",
      seed: 4,
      overrides: { ...small, "nh.keepUs": keepUs, "nh.pruneUs": "1000" },
    });
  const off = run("0"), on = run("4000");
  assertEquals(off.metrics.expired, 0);
  assertEquals(off.metrics.refreshes, 0);
  const size = (o: typeof on, q: number) => o.metrics[`tableEntries.q${q}`] as number;
  assert(size(off, 4) > size(off, 1) + 300, `off: grows ${size(off, 1)} -> ${size(off, 4)}`);
  assert(Math.abs(size(on, 4) - size(on, 2)) < 60, `on: flat ${size(on, 2)} -> ${size(on, 4)}`);
  assert(size(on, 4) < size(off, 4));
  assertEquals(on.result.violations, []);
  assertEquals(off.result.violations, []);
});

Deno.test("nexthop-cache: an entry expires after its timeout, the next lookup misses and resolves it again", () => {
  // One neighbour besides the gateways, a packet every 30 ms, entries kept 20 ms, walked every 5 ms: every
  // entry is gone by the next packet to it (20 + 5 < 30), so every packet misses and sends a request.
  const o = (keepUs: string, mode: string) =>
    runScenario({
      scenario: "nexthop-cache",
      seed: 1,
      overrides: {
        "nh.routes": "50",
        "nh.neighbours": "5",
        "nh.active": "1",
        "nh.packets": "40",
        "nh.gapNs": "30000000",
        "nh.keepUs": keepUs,
        "nh.pruneUs": "5000",
        "nh.mode": mode,
      },
    });
  for (const mode of ["cloned", "nhcache"]) {
    const on = o("20000", mode), off = o("0", mode);
    assertEquals(on.result.violations, [], mode);
    assertEquals(on.metrics.treeDisagreements, 0, "after expiry the tree misses the entry");
    const packets = on.metrics.packets as number;
    assertEquals(on.metrics.heldPkts, on.metrics.resolutions, "each held packet found no entry and resolved it");
    assert((on.metrics.resolutions as number) >= packets - 2, `${mode}: ${on.metrics.resolutions} of ${packets}`);
    assert((on.metrics.expired as number) >= (on.metrics.resolutions as number) - 1, mode);
    // Without expiry each of the five neighbours is resolved once at most.
    assert((off.metrics.resolutions as number) <= 5, mode);
    assertEquals(off.metrics.expired, 0);
  }
});

Deno.test("nexthop-cache: a tree that does not remove the expired entry is caught", () => {
  const orig = RadixTree.prototype.remove;
  RadixTree.prototype.remove = function (key: number, len: number) {
    const id = orig.call(this, key, len);
    if (id >= 0 && len === 32) this.insert(key, len, id); // "removed" but still there
    return id;
  };
  try {
    const o = runScenario({ scenario: "nexthop-cache", seed: 2, overrides: { ...small, "nh.keepUs": "5000" } });
    assert((o.metrics.treeDisagreements as number) > 0);
    assert(o.result.violations.some((v) => v.kind === "conservation" && /tree has it/.test(v.message)));
  } finally {
    RadixTree.prototype.remove = orig;
  }
});

Deno.test("nexthop-cache: bad parameters are refused", () => {
  const s = findScenario("nexthop-cache");
  assertThrows(() => resolveScenarioConfig(s, { "nh.neighbours": "4" }), /nh.neighbours/);
  assertThrows(() => resolveScenarioConfig(s, { "nh.routes": "0" }), /nh.routes/);
  assertThrows(() => resolveScenarioConfig(s, { "nh.routes": "1000001" }), /nh.routes/);
  assertThrows(() => resolveScenarioConfig(s, { "nh.keepUs": "-1" }), /nh.keepUs/);
  assertThrows(() => resolveScenarioConfig(s, { "nh.pruneUs": "0" }), /nh.pruneUs/);
  assertThrows(
    () => runScenario({ scenario: "nexthop-cache", seed: 1, overrides: { "nh.neighbours": "100", "nh.active": "97" } }),
    /nh.active/,
  );
});

Deno.test("lltable: IN_LLTBL_HASH folds the four bytes, buckets are LISTs walked from the head", () => {
  // 10.0.3.7: 10 ^ 0 ^ 3 ^ 7 = 14; the byte order does not change an XOR of the bytes.
  assertEquals(llHash(0x0a000307, LLTBL_HSIZE), 14);
  assertEquals(llHash(0x0703000a, LLTBL_HSIZE), 14);
  const t = new LlTable(8);
  // Three hosts in bucket 14 (10.0.3.7, 10.0.7.3, 10.0.0.4) and one elsewhere.
  const a = 0x0a000307, b = 0x0a000703, c = 0x0a000004, d = 0x0a000001;
  assert(t.insert(a, 32, 1) && t.insert(b, 32, 2) && t.insert(c, 32, 3) && t.insert(d, 32, 4));
  assert(!t.insert(a, 32, 9), "a second entry for the same address is refused");
  assertEquals(t.routes, 4);
  // LIST_INSERT_HEAD: the last inserted is first in its bucket.
  assertEquals(t.lookup(c), 3);
  assertEquals(t.last.nodes, 2, "bucket head + one entry");
  assertEquals(t.lookup(a), 1);
  assertEquals(t.last.nodes, 4, "bucket head + three entries");
  assertEquals(t.lookup(0x0a040000), -1); // 10.4.0.0 hashes to 14 too: a miss walks the whole chain
  assertEquals(t.last.nodes, 4);
  assertEquals(t.remove(b, 32), 2);
  assertEquals(t.remove(b, 32), -1);
  assertEquals(t.lookup(a), 1);
  assertEquals(t.last.nodes, 3, "the removed entry is unlinked from the middle");
  assert(t.insert(b, 32, 5), "a freed slot is reused");
  assertEquals(t.lookup(b), 5);
  assertThrows(() => t.insert(0x0a000009, 24, 6), /host entries only/);
});

Deno.test("nexthop-cache lltable (NetBSD if_arp.c 1.271): an entry in use dies at its timer, with no refresh", () => {
  // One busy gateway path: every packet goes to a gateway (nh.active tiny, half the packets via a prefix).
  // With arpt_keep 2 ms and a packet every 20 us (one to each gateway every 160 us, inside the last eighth), a cloned route or cache entry in use is refreshed before it
  // expires; an lltable entry is freed by its own callout every 2 ms and resolved again.
  const run = (mode: string) =>
    runScenario({
      scenario: "nexthop-cache",
      seed: 3,
      overrides: {
        "nh.routes": "200",
        "nh.neighbours": "10",
        "nh.active": "1",
        "nh.packets": "10000",
        "nh.gapNs": "20000",
        "nh.keepUs": "2000",
        "nh.pruneUs": "500",
        "nh.mode": mode,
        "clock.hz": "10000",
      },
    });
  const llt = run("lltable"), nh = run("nhcache");
  for (const o of [llt, nh]) {
    assertEquals(o.result.violations, []);
    assertEquals(o.metrics.wrongNexthop, 0);
    assertEquals(o.metrics.treeDisagreements, 0);
  }
  assertEquals(llt.metrics.refreshes, 0);
  assert((nh.metrics.refreshes as number) > 0);
  // 0.2 s of traffic at a 2 ms lifetime: the gateways' entries die about 100 times each in the lltable, never in
  // the cache, where only the neighbours the working set leaves behind expire (seed 3: 467 against 86).
  const expired = (o: typeof llt) => o.metrics.expired as number;
  assert(expired(llt) > 300 && expired(llt) > 3 * expired(nh), `expired ${expired(llt)} vs ${expired(nh)}`);
  assert((llt.metrics.heldPkts as number) > 4 * (nh.metrics.heldPkts as number), "each death holds a packet");
  assertEquals(llt.metrics.tableWrites, 0);
  assertEquals(llt.metrics["tableEntries.q4"], nh.metrics["tableEntries.q4"], "prefix-only table in both");
});
