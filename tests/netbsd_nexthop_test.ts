/**
 * nexthop-cache (drivers/netbsd_nexthop_scenarios.ts): cloned ARP routes in
 * the routing table against a per-interface nexthop cache, entries created
 * on a miss and expired by the arptimer timeout.
 * @module
 */
import { assert, assertEquals, assertThrows } from "./_assert.ts";
import { findScenario, resolveScenarioConfig, runScenario } from "../drivers/mod.ts";
import { RadixTree } from "../core/netbsd/radix.ts";

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
