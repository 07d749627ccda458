/**
 * The warm start of an exploration (core/run.ts): the runs of one frozen
 * configuration object share its check and the machine plan made from it.
 * A warm run must be the run a cold one is: every seed's event stream
 * (checkpoint digests included), its end and its violations the same,
 * whatever ran before it on the same thread (a failing seed, a deadlock, a
 * run stopped at its event limit, faults, other scenarios); and a whole
 * exploration's report and trace bytes the same with the warm start off.
 * And a shrunk run recorded on the worker that shrank it is the trace this
 * thread records.
 * @module
 */
import assert from "node:assert/strict";
import { tempDir } from "./_tmp.ts";
import { Hash } from "./_util.ts";
import { explore, type ExploreOptions } from "../cli/explore.ts";
import { exploreRange } from "../cli/_explore_run.ts";
import { Pool } from "../cli/_explore_pool.ts";
import { recordRun } from "../cli/run.ts";
import type { Config } from "../core/config.ts";
import { execute } from "../core/run.ts";
import { findScenario, resolveScenarioConfig } from "../drivers/mod.ts";

const dir = tempDir("lockstep-explore-warm-");

/** A run's whole observable outcome: its event hash (every field, every string, every checkpoint digest) and end. */
function outcome(scenario: string, config: Config, seed: number): string {
  const h = new Hash();
  const out = execute(findScenario(scenario), { seed, config, sinks: [h] });
  const r = out.result;
  return JSON.stringify([h.hex(), r.reason, r.events, r.simNs, r.violations, out.metrics]);
}

/** One scenario and configuration, and the seeds run with it. */
interface Case {
  readonly scenario: string;
  readonly overrides: Record<string, string>;
  readonly seeds: readonly number[];
}

const CASES: readonly Case[] = [
  // Seed 76 frees a socket a softnet task still uses (use-after-free); the others pass.
  { scenario: "splice-refrace", overrides: { "sched.strategy": "random" }, seeds: [74, 75, 76, 77, 78] },
  // taskq_barrier from its own queue with kern_task.c 1.27: every run deadlocks.
  { scenario: "taskq-barrier-self", overrides: { "taskq.barrier": "1.27" }, seeds: [1, 2, 3] },
  // Stopped by the event limit, mid-run.
  { scenario: "splice-refrace", overrides: { "sched.strategy": "random", "sim.eventsMax": "4000" }, seeds: [76, 5] },
  // Faults on: lost, duplicated and reordered frames, delayed interrupts, a slow CPU.
  {
    scenario: "splice-refrace",
    overrides: {
      "sched.strategy": "random",
      "fault.linkLossPpm": "20000",
      "fault.linkDupPpm": "20000",
      "fault.linkReorderPpm": "20000",
      "fault.intrDelayPpm": "50000",
      "fault.cpuSlowAtNs": "200000",
    },
    seeds: [76, 3, 9],
  },
  // PCT: the scheduler draws its change points from the plan's configuration at construction.
  { scenario: "barrier-netlock", overrides: { "sched.strategy": "pct" }, seeds: [1, 2, 3, 4] },
];

Deno.test("warm runs give every seed the outcome of a cold run, after failing, deadlocked and stopped runs", () => {
  // Warm: one frozen configuration object per case, the cases' seeds interleaved on this one thread, so each
  // warm run follows runs of other cases and of its own case that failed, deadlocked or hit the limit.
  const frozen = CASES.map((c) => Object.freeze(resolveScenarioConfig(findScenario(c.scenario), c.overrides)));
  const warm = new Map<string, string>();
  const rounds = Math.max(...CASES.map((c) => c.seeds.length));
  for (let pass = 0; pass < 2; pass++) { // the second pass repeats every run on a thread that ran them all
    for (let i = 0; i < rounds; i++) {
      CASES.forEach((c, k) => {
        if (i >= c.seeds.length) return;
        const key = `${k}/${c.seeds[i]}`;
        const got = outcome(c.scenario, frozen[k], c.seeds[i]);
        if (pass === 0) warm.set(key, got);
        else assert.equal(got, warm.get(key), `${key}: a repeated warm run differs`);
      });
    }
  }
  // Cold: a new unfrozen configuration object for every run (checked and planned anew), in another order.
  const kinds = new Set<string>();
  for (const [k, c] of [...CASES.entries()].reverse()) {
    for (const seed of [...c.seeds].reverse()) {
      const cold = outcome(c.scenario, { ...resolveScenarioConfig(findScenario(c.scenario), c.overrides) }, seed);
      assert.equal(warm.get(`${k}/${seed}`), cold, `${c.scenario} seed ${seed} ${JSON.stringify(c.overrides)}`);
      for (const v of JSON.parse(cold)[4] as { kind: string }[]) kinds.add(v.kind);
      kinds.add(JSON.parse(cold)[1]);
    }
  }
  // The cases did what they are here for: a use after free, a deadlock and a run stopped at its limit.
  for (const want of ["use-after-free", "deadlock", "event-limit"]) {
    assert.ok(kinds.has(want), `${want} in ${[...kinds]}`);
  }
});

Deno.test("runs of one frozen configuration share one frozen plan; an unfrozen one gets its own", () => {
  const s = findScenario("splice-refrace");
  const cfg = Object.freeze(resolveScenarioConfig(s));
  const a = execute(s, { seed: 1, config: cfg }).machine, b = execute(s, { seed: 2, config: cfg }).machine;
  assert.equal(a.cost, b.cost);
  assert.equal(a.config, b.config);
  assert.ok(Object.isFrozen(a.cost) && Object.isFrozen(a.softintPrio) && Object.isFrozen(a.config));
  assert.throws(() => {
    (a.cost as { mtxEnter: number }).mtxEnter = 1; // a run cannot change the next run's costs
  }, TypeError);
  const c = execute(s, { seed: 1, config: { ...cfg } }).machine;
  assert.notEqual(c.cost, a.cost);
  assert.deepEqual(c.cost, a.cost);
  // Another scenario given the same frozen object is checked against its own keys, not handed the first's.
  assert.throws(() => execute(findScenario("taskq-demo"), { seed: 1, config: cfg }), /unknown configuration key/);
});

Deno.test("a range of seeds gives the same verdicts warm and cold, swarm (faults drawn per seed) included", () => {
  const config = resolveScenarioConfig(findScenario("splice-refrace"), { "sched.strategy": "random" });
  for (const swarm of [false, true]) {
    const job = { scenario: "splice-refrace", config, lo: 70, hi: 82, step: 1, swarm };
    const warm = exploreRange(job, new Set()), cold = exploreRange({ ...job, cold: true }, new Set());
    assert.deepEqual(warm, cold);
    if (swarm) assert.ok(warm.every((v) => v.swarm !== undefined), "swarm: each seed ran its own choice");
    else assert.ok(warm.some((v) => v.found.length > 0), "some seed fails");
  }
});

Deno.test("explore: the same report and trace bytes with the warm start on and off (2 workers, a shrink)", async () => {
  const run = async (cold: boolean) => {
    const outDir = `${dir}/${cold ? "cold" : "warm"}`;
    const o: ExploreOptions = {
      scenario: "splice-refrace",
      seeds: 90,
      strategy: "random",
      jobs: 2,
      overrides: {},
      outDir,
      all: false,
      json: true,
      cold,
    };
    const r = await explore(o);
    const traces = r.found.map((f) => (f.trace === null ? null : Deno.readFileSync(f.trace)));
    const found = r.found.map((f) => ({ ...f, trace: f.trace?.slice(outDir.length), replay: null }));
    return { r: { ...r, found }, traces };
  };
  const warm = await run(false), cold = await run(true);
  assert.ok(warm.r.found.some((f) => f.seed === 76 && f.shrunk !== null), JSON.stringify(warm.r));
  assert.deepEqual(warm.r, cold.r);
  assert.deepEqual(warm.traces, cold.traces);
});

Deno.test("a shrink records its trace where it ran: the same bytes as a recording on this thread", async () => {
  const config = resolveScenarioConfig(findScenario("splice-refrace"), { "sched.strategy": "random" });
  const out = `${dir}/on-worker.lstrace`;
  const req = {
    scenario: "splice-refrace",
    config,
    seed: 76,
    kind: "use-after-free",
    swarm: false,
    record: { out, overrides: { "sched.strategy": "random" } },
  };
  const pool = new Pool(1);
  let shrunk;
  try {
    shrunk = await pool.shrink(req);
  } finally {
    pool.close();
  }
  assert.ok(shrunk.recorded?.some((v) => v.kind === "use-after-free"), JSON.stringify(shrunk.recorded));
  const here = `${dir}/here.lstrace`;
  const s = recordRun({
    scenario: "splice-refrace",
    seed: 76,
    overrides: { "sched.strategy": "random" },
    out: here,
    decisions: shrunk.schedule.feed,
  });
  assert.deepEqual(shrunk.recorded, s.violations);
  assert.deepEqual(Deno.readFileSync(out), Deno.readFileSync(here));
});

Deno.test("explore a user's module with swarm: traces recorded on 2 workers equal those of 1 thread", async () => {
  const mod = new URL("./_fault_bug_scenario.ts", import.meta.url).pathname;
  const run = async (jobs: number) => {
    const outDir = `${dir}/module-${jobs}`;
    const r = await explore({
      scenario: mod,
      seeds: 8,
      strategy: "random",
      jobs,
      overrides: {},
      outDir,
      all: true,
      json: true,
      swarm: true,
    });
    const traces = r.found.map((f) => (f.trace === null ? null : Deno.readFileSync(f.trace)));
    return {
      r: { ...r, found: r.found.map((f) => ({ ...f, trace: f.trace?.slice(outDir.length), replay: null })) },
      traces,
    };
  };
  const one = await run(1), two = await run(2);
  assert.ok(one.r.found.length >= 2 && one.traces.every((t) => t !== null), JSON.stringify(one.r));
  assert.deepEqual(two.r, one.r);
  assert.deepEqual(two.traces, one.traces);
});
