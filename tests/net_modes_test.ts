import assert from "node:assert/strict";
import type { EventRecord } from "../core/event.ts";
import { type RunOptions, type RunOutcome, runScenario as runScenarioOf } from "../drivers/run.ts";
import { relayOf, type RelayWorld } from "../drivers/splice_scenarios.ts";

/** The relay of the last run started through {@link runScenario} below. */
let lastRelay: RelayWorld | null = null;

/** runScenario, keeping the run's relay in `lastRelay` from setup on (sinks read it during the run). */
function runScenario(opts: RunOptions): RunOutcome {
  return runScenarioOf({ ...opts, onSetup: (m) => lastRelay = relayOf(m) ?? null });
}

const MODES = ["thread", "netstack-queue", "flowid-taskq"] as const;

/** FNV-1a over every event's time, cpu, thread, kind and fields. */
function hasher() {
  let h = 0x811c9dc5;
  let n = 0;
  const mix = (x: number) => {
    h = Math.imul(h ^ (x & 0xffffffff), 0x01000193) >>> 0;
    h = Math.imul(h ^ Math.floor(x / 0x100000000), 0x01000193) >>> 0;
  };
  return {
    get hash() {
      return h;
    },
    get count() {
      return n;
    },
    onEvent(e: EventRecord) {
      n++;
      mix(e.tNs);
      mix(e.cpu);
      mix(e.thread);
      mix(e.kind);
      for (let i = 0; i < 6; i++) mix(e.fields[i]);
    },
  };
}

function gbps(scenario: string, mode: string, extra: Record<string, string> = {}): number {
  const out = runScenario({
    scenario,
    seed: 1,
    overrides: { cpus: "4", "relay.flows": "8", "splice.mode": mode, "sim.durationNs": "3000000", ...extra },
  });
  assert.deepEqual(out.result.violations, [], `${scenario} ${mode}`);
  return Number(out.metrics.throughputGbps);
}

for (const scenario of ["splice-tcp", "splice-udp"]) {
  Deno.test(`${scenario}: all three splice modes run, deliver data and conserve bytes`, () => {
    for (const mode of MODES) {
      const out = runScenario({
        scenario,
        seed: 2,
        overrides: { "splice.mode": mode, "relay.flows": "4", "sim.durationNs": "1500000" },
      });
      assert.deepEqual(out.result.violations, [], mode); // includes the conservation check
      assert.ok(Number(out.metrics.throughputGbps) > 1, `${mode} delivered ${out.metrics.throughputGbps}`);
      const w = lastRelay!;
      for (const f of w.flows) {
        assert.ok((f.tsink?.receivedBytes ?? f.usink!.receivedBytes) > 0, `${mode} flow ${f.idx}`);
      }
    }
  });
}

Deno.test("splice modes: both softnet modes beat the sosplice thread, more for UDP than for TCP", () => {
  const tcp = MODES.map((m) => gbps("splice-tcp", m));
  const udp = MODES.map((m) => gbps("splice-udp", m));
  for (const r of [tcp, udp]) {
    assert.ok(r[1] > r[0], `netstack-queue ${r[1]} > thread ${r[0]}`);
    assert.ok(r[2] > r[0], `flowid-taskq ${r[2]} > thread ${r[0]}`);
  }
  const gain = (r: number[]) => (r[1] + r[2]) / 2 / r[0];
  assert.ok(gain(udp) > gain(tcp), `UDP gain ${gain(udp)} > TCP gain ${gain(tcp)}`);
});

Deno.test("determinism: the same seed and config give the same events", () => {
  for (const scenario of ["splice-tcp", "splice-udp"]) {
    const a = hasher(), b = hasher(), c = hasher();
    const o = { "relay.flows": "3", "sim.durationNs": "800000", "link.lossPpm": "5000" };
    runScenario({ scenario, seed: 11, overrides: o, sinks: [a] });
    runScenario({ scenario, seed: 11, overrides: o, sinks: [b] });
    runScenario({ scenario, seed: 12, overrides: o, sinks: [c] });
    assert.ok(a.count > 1000);
    assert.equal(a.count, b.count);
    assert.equal(a.hash, b.hash, scenario);
    assert.notEqual(a.hash, c.hash, "another seed gives another run");
  }
});

Deno.test("splice-refrace: unsafe task_add/soref order gives a use after free under random schedules, safe none", () => {
  const uaf = (order: string, seed: number) => {
    const out = runScenario({
      scenario: "splice-refrace",
      seed,
      overrides: { "sched.strategy": "random", "splice.refOrder": order },
    });
    return out.result.violations.filter((v) => v.kind === "use-after-free" || v.kind === "refcount-underflow");
  };
  const seeds = Array.from({ length: 120 }, (_, i) => i + 1);
  const unsafe = seeds.filter((s) => uaf("unsafe", s).length > 0);
  const safe = seeds.filter((s) => uaf("safe", s).length > 0);
  assert.ok(unsafe.length > 0, "a failing schedule exists among 120 seeds");
  assert.deepEqual(safe, []);
  const v = uaf("unsafe", unsafe[0])[0];
  assert.match(v.message, /use after free: (ref|rele) of socket#\d+/);
});

Deno.test("splice-refrace: without schedule perturbation the race window stays closed on these seeds", () => {
  for (let seed = 1; seed <= 30; seed++) {
    const out = runScenario({ scenario: "splice-refrace", seed });
    assert.deepEqual(out.result.violations, [], `seed ${seed}`);
  }
});
