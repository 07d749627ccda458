/**
 * Route lookup (core/netbsd/ptree.ts, radix.ts, route_table.ts): both trees
 * give the longest-prefix match of a brute-force scan on random tables, the
 * ptree key operations, the path each tree takes, the scenario's checks.
 * @module
 */
import { assert, assertEquals, assertThrows } from "./_assert.ts";
import { Prng } from "../core/prng.ts";
import { PT_IPV4_OPS, PTree } from "../core/netbsd/ptree.ts";
import { RadixTree } from "../core/netbsd/radix.ts";
import { bruteForceMatch, LpmOracle, maskOf, randomTable, type RouteTable } from "../core/netbsd/route_table.ts";
import { findScenario, resolveScenarioConfig, runScenario } from "../drivers/mod.ts";

const ip = (s: string) => s.split(".").reduce((a, o) => a * 256 + Number(o), 0) >>> 0;

/** A table from "a.b.c.d/len" strings, sorted as the trees want. */
function table(routes: string[]): RouteTable {
  const rs = routes.map((r) => {
    const [a, l] = r.split("/");
    const len = Number(l);
    return { key: (ip(a) & maskOf(len)) >>> 0, len };
  }).sort((x, y) => x.key - y.key || x.len - y.len);
  return { keys: Uint32Array.from(rs.map((r) => r.key)), lens: Uint8Array.from(rs.map((r) => r.len)) };
}

Deno.test("ptree and radix agree with a brute-force scan on random tables", () => {
  for (const n of [1, 2, 7, 100, 2000]) {
    for (const withDefault of [true, false]) {
      const rng = new Prng(n * 2 + (withDefault ? 1 : 0));
      const t = randomTable(rng, n, withDefault);
      assertEquals(t.keys.length, n + (withDefault ? 1 : 0));
      const p = new PTree(t), r = new RadixTree(t), o = new LpmOracle(t);
      const probes = [0, 0xffffffff];
      for (let i = 0; i < 3000; i++) {
        const a = rng.below(0x100000000);
        const k = rng.below(t.keys.length);
        probes.push(a, t.keys[k], (t.keys[k] | (a & ~maskOf(t.lens[k]))) >>> 0);
      }
      for (const a of probes) {
        const want = bruteForceMatch(t, a);
        assertEquals(o.match(a), want, `oracle ${n} ${a}`);
        assertEquals(p.lookup(a), want, `ptree ${n} routes, ${a}`);
        // rn_match's quirk: 255.255.255.255 matches the all-ones end marker
        // exactly and returns it (RNF_ROOT), which rtalloc treats as no route.
        const quirk = a === 0xffffffff && t.keys[t.keys.length - 1] !== 0xffffffff;
        assertEquals(r.lookup(a), quirk ? -1 : want, `radix ${n} routes, ${a}`);
      }
    }
  }
});

Deno.test("nested prefixes: each tree's path (ptree mask nodes, radix climbs to the mask lists)", () => {
  const t = table(["0.0.0.0/0", "10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/24", "10.1.2.3/32", "192.168.0.0/16"]);
  const name = (i: number) => i < 0 ? "none" : `${t.keys[i] >>> 24}.${(t.keys[i] >>> 16) & 255}/${t.lens[i]}`;
  const p = new PTree(t), r = new RadixTree(t);
  for (
    const [a, want] of [
      ["10.1.2.3", "10.1/32"],
      ["10.1.2.9", "10.1/24"],
      ["10.1.9.9", "10.1/16"],
      [
        "10.9.9.9",
        "10.0/8",
      ],
      ["192.168.1.1", "192.168/16"],
      ["8.8.8.8", "0.0/0"],
    ] as const
  ) {
    assertEquals(name(p.lookup(ip(a))), want, `ptree ${a}`);
    assertEquals(name(r.lookup(ip(a))), want, `radix ${a}`);
  }
  // 8.8.8.8 in the radix tree: descend, miss at the leaf, climb to the top's mask list (the default route).
  r.lookup(ip("8.8.8.8"));
  assert(r.last.nodes > 4, `radix climbs: ${r.last.nodes} nodes`);
  assertEquals(r.last.keyCmps, 1);
  // ptree: the default, 10/8, 10.1/16 and 10.1.2/24 are one-way mask branches on the way to the host route.
  p.lookup(ip("10.1.2.3"));
  assertEquals(p.last.nodes, 6);
  assertEquals(p.last.keyCmps, 0);
  // Without the default route nothing matches 8.8.8.8.
  const noDefault = table(["10.0.0.0/8"]);
  assertEquals(new PTree(noDefault).lookup(ip("8.8.8.8")), -1);
  assertEquals(new RadixTree(noDefault).lookup(ip("8.8.8.8")), -1);
});

Deno.test("pt_tree_ops for IPv4: XOR and count leading zeros", () => {
  assertEquals(PT_IPV4_OPS.matchnode(ip("10.1.0.0"), ip("10.3.0.0"), 0), 14);
  assertEquals(PT_IPV4_OPS.matchnode(ip("10.1.0.0"), ip("10.1.0.0"), 0), 32);
  assertEquals(PT_IPV4_OPS.matchkey(ip("10.1.2.3"), ip("10.1.0.0"), 8, 8), true);
  assertEquals(PT_IPV4_OPS.matchkey(ip("10.1.2.3"), ip("10.2.0.0"), 8, 8), false);
  assertEquals(PT_IPV4_OPS.testkey(ip("128.0.0.0"), 0), 1);
  assertEquals(PT_IPV4_OPS.testnode(ip("64.0.0.0"), 1), 1);
});

Deno.test("route-lookup: out-of-range tables refused; ptree visits fewer nodes at 1k; no mismatch", () => {
  const s = findScenario("route-lookup");
  assertThrows(() => resolveScenarioConfig(s, { "route.routes": "0" }), /route.routes/);
  assertThrows(() => resolveScenarioConfig(s, { "route.routes": "1000001" }), /route.routes/);
  assertThrows(() => resolveScenarioConfig(s, { "route.impl": "art" }), /route.impl/);
  const run = (impl: string) =>
    runScenario({ scenario: "route-lookup", seed: 3, overrides: { "route.impl": impl, "route.lookups": "3000" } });
  const p = run("ptree"), r = run("radix");
  assertEquals(p.result.violations, []);
  assertEquals(r.result.violations, []);
  assertEquals(p.metrics.lookups, 6000);
  assert((p.metrics.nodesPerLookup as number) < (r.metrics.nodesPerLookup as number));
  assert((p.metrics.nsPerLookup as number) < (r.metrics.nsPerLookup as number));
});

Deno.test("route-lookup reports a lookup that disagrees with the oracle", () => {
  const orig = PTree.prototype.lookup;
  PTree.prototype.lookup = function (a: number) {
    const r = orig.call(this, a);
    return r > 0 ? r - 1 : r; // an off-by-one tree
  };
  try {
    const o = runScenario({ scenario: "route-lookup", seed: 1, overrides: { "route.lookups": "100" } });
    assertEquals(o.result.violations.map((v) => v.kind), ["conservation"]);
    assert(/longest match is/.test(o.result.violations[0].message));
  } finally {
    PTree.prototype.lookup = orig;
  }
});

Deno.test("insert and remove: longest-prefix match equals the brute-force oracle after random inserts and deletes", () => {
  for (const kind of ["ptree", "radix"] as const) {
    for (let seed = 1; seed <= 6; seed++) {
      const rng = new Prng(100 + seed);
      const pool = randomTable(rng, 200, true); // candidate routes; ids are their indexes
      const live = new Uint8Array(pool.keys.length);
      const t = kind === "ptree" ? new PTree() : new RadixTree();
      let removed = 0;
      for (let step = 0; step < 1500; step++) {
        const i = rng.below(pool.keys.length);
        if (live[i] !== 0) {
          assertEquals(t.remove(pool.keys[i], pool.lens[i]), i, `${kind} remove`);
          assertEquals(t.remove(pool.keys[i], pool.lens[i]), -1, `${kind} removed twice`);
          removed++;
        } else {
          assert(t.insert(pool.keys[i], pool.lens[i], i), `${kind} insert`);
          assert(!t.insert(pool.keys[i], pool.lens[i], i), `${kind} duplicate refused`);
        }
        live[i] ^= 1;
        const live1 = {
          keys: pool.keys.filter((_, j) => live[j] !== 0),
          lens: pool.lens.filter((_, j) => live[j] !== 0),
        };
        const ids = [...live.keys()].filter((j) => live[j] !== 0);
        assertEquals(t.routes, ids.length);
        for (let q = 0; q < 8; q++) {
          const a = rng.below(0x100000000), k = rng.below(pool.keys.length);
          for (const addr of [a, (pool.keys[k] | (a & ~maskOf(pool.lens[k]))) >>> 0]) {
            if (kind === "radix" && addr === 0xffffffff) continue; // rn_match's end-marker quirk (above)
            const want = bruteForceMatch(live1, addr);
            assertEquals(t.lookup(addr), want < 0 ? -1 : ids[want], `${kind} seed ${seed} step ${step} ${addr}`);
          }
        }
      }
      assert(removed > 300, `${kind}: deletes exercised`);
    }
  }
});

Deno.test("insert and remove: one route at a time gives the one-pass build's shape; removing all empties the tree", () => {
  const rng = new Prng(7);
  const t = randomTable(rng, 3000, true);
  const order = [...t.keys.keys()];
  for (let i = order.length - 1; i > 0; i--) {
    const j = rng.below(i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  for (const kind of ["ptree", "radix"] as const) {
    const bulk = kind === "ptree" ? new PTree(t) : new RadixTree(t);
    const inc = kind === "ptree" ? new PTree() : new RadixTree();
    for (const i of order) assert(inc.insert(t.keys[i], t.lens[i], i));
    assertEquals(inc.size, bulk.size, kind);
    if (inc instanceof RadixTree) assertEquals(inc.masks, (bulk as RadixTree).masks);
    for (let q = 0; q < 3000; q++) {
      const a = rng.below(0x100000000);
      assertEquals(inc.lookup(a), bulk.lookup(a));
      assertEquals(inc.last.nodes, bulk.last.nodes, `${kind}: same path for ${a}`);
    }
    for (const i of order) assertEquals(inc.remove(t.keys[i], t.lens[i]), i);
    assertEquals(inc.routes, 0);
    assertEquals(inc.size, kind === "ptree" ? 0 : 3, `${kind}: empty (radix keeps the top and its two end markers)`);
    assertEquals(inc.lookup(0x0a000001), -1);
  }
  assertThrows(() => new PTree().insert(0x0a000001, 8, 0), /bits past/); // bits past the prefix
  assertThrows(() => new RadixTree().remove(0, 33), /not in 0..32/);
});
