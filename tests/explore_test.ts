/**
 * `deno task explore`: finding, shrinking, recording and reproducing failures.
 * @module
 */
import assert from "node:assert/strict";
import { tempDir } from "./_tmp.ts";
import { crossRunReversals, explore, type ExploreOptions, exploreSeeds, parseExploreArgs } from "../cli/explore.ts";
import { shrinkRun } from "../cli/_explore_shrink.ts";
import { findScenario, resolveScenarioConfig, runScenario } from "../drivers/mod.ts";
import { SCENARIOS } from "../drivers/mod.ts";
import { checkTrace } from "../replay/check.ts";
import { ENUMS } from "../core/schema.ts";

const dir = tempDir("lockstep-explore-");

function opts(scenario: string, seeds: number, extra: Partial<ExploreOptions> = {}): ExploreOptions {
  return { scenario, seeds, strategy: "random", jobs: 2, overrides: {}, outDir: dir, all: false, json: true, ...extra };
}

/** The recorded trace re-runs to the same violation kind at the same event index, and so does the explored run. */
function assertReproduces(o: ExploreOptions, f: { seed: number; kind: string; event: number; trace: string | null }) {
  assert.ok(f.trace !== null);
  const rec = checkTrace(f.trace);
  const recorded = rec.violations.find((v) => v.kind === f.kind);
  assert.ok(recorded !== undefined, `${f.trace} records a ${f.kind}`);
  for (let i = 0; i < 2; i++) {
    const again = runScenario({
      scenario: o.scenario,
      seed: rec.header.seed,
      config: { ...rec.header.config },
      decisions: rec.decisions,
    });
    const v = again.result.violations.find((x) => x.kind === f.kind);
    assert.equal(v?.event, recorded.event, "re-execution with the saved decisions");
  }
  const overrides = { "sched.strategy": o.strategy, ...o.overrides };
  const plain = runScenario({ scenario: o.scenario, seed: f.seed, overrides });
  assert.equal(plain.result.violations.find((x) => x.kind === f.kind)?.event, f.event, "same seed and config");
}

Deno.test("explore taskq-barrier-self: deadlock with 1.27, none with 1.36; the trace reproduces it", async () => {
  const o = opts("taskq-barrier-self", 40, { overrides: { "taskq.barrier": "1.27" } });
  const r = await explore(o);
  assert.equal(r.runs, 40);
  assert.deepEqual(r.found.map((f) => [f.seed, f.kind]), [[1, "deadlock"]]);
  assert.equal(r.found[0].trace, `${dir}/taskq-barrier-self-1.lstrace`);
  assert.match(
    r.found[0].reproduce,
    /^deno task run taskq-barrier-self --seed 1 --set sched.strategy=random --set taskq.barrier=1.27$/,
  );
  assertReproduces(o, r.found[0]);
  const ok = await explore(opts("taskq-barrier-self", 40, { overrides: { "taskq.barrier": "1.36" } }));
  assert.deepEqual(ok.found, []);
});

Deno.test("explore barrier-netlock: lock-order and deadlock found, recorded and reproducible", async () => {
  const o = opts("barrier-netlock", 30, { strategy: "pct" });
  const r = await explore(o);
  const kinds = r.found.map((f) => f.kind);
  assert.ok(kinds.includes("lock-order") && kinds.includes("deadlock"), kinds.join());
  const lor = r.found.find((f) => f.kind === "lock-order");
  assert.match(lor?.message ?? "", /^witness: lock order reversal:\n 1st /);
  for (const f of r.found) assertReproduces(o, f);
  assert.deepEqual(r.crossRun, [], "both orders come from the same runs");
});

Deno.test("explore is deterministic whatever the number of workers; --all lists every failing run", async () => {
  const cfg = resolveScenarioConfig(findScenario("barrier-netlock"), { "sched.strategy": "random" });
  const one = await exploreSeeds("barrier-netlock", cfg, 24, 1);
  const three = await exploreSeeds("barrier-netlock", cfg, 24, 3);
  const strip = (vs: typeof one) => vs.map((v) => ({ seed: v.seed, events: v.events, found: v.found }));
  assert.deepEqual(strip(three), strip(one));
  assert.deepEqual(crossRunReversals(three), crossRunReversals(one));
  const all = await explore(opts("lock-abba", 6, { all: true, jobs: 3 }));
  const cfgAbba = resolveScenarioConfig(findScenario("lock-abba"), { "sched.strategy": "random" });
  const rank = (k: string) => (ENUMS.violation as readonly string[]).indexOf(k);
  const expected = (await exploreSeeds("lock-abba", cfgAbba, 6, 1))
    .flatMap((v) => v.found.map((f) => [v.seed, f.kind] as [number, string]))
    .sort((a, b) => a[0] - b[0] || rank(a[1]) - rank(b[1]));
  assert.ok(expected.length >= 6, JSON.stringify(expected));
  assert.deepEqual(all.found.map((f) => [f.seed, f.kind]), expected);
  assert.equal(all.found[0].trace, `${dir}/lock-abba-1-deadlock.lstrace`);
  const lowest = await explore(opts("lock-abba", 6, { jobs: 3 }));
  assert.deepEqual(lowest.found.map((f) => [f.seed, f.kind]), [[1, "deadlock"], [1, "lock-order"]]);
});

Deno.test("shrinking keeps a smaller decision feed that still gives the violation", async () => {
  // Default timing: the wakeup comes after the sleep. Only a perturbation stall inside the window loses it.
  const overrides = { "sched.strategy": "random", "sched.perturbPpm": "300000", "lw.produceAtNs": "4000" };
  const cfg = resolveScenarioConfig(findScenario("lost-wakeup"), overrides);
  assert.deepEqual(
    runScenario({ scenario: "lost-wakeup", seed: 1, overrides: { "lw.produceAtNs": "4000" } }).result.violations,
    [],
  );
  let seed = 0;
  for (let s = 1; s <= 200 && seed === 0; s++) {
    const v = runScenario({ scenario: "lost-wakeup", seed: s, config: { ...cfg } }).result.violations;
    if (v.some((x) => x.kind === "lost-wakeup")) seed = s;
  }
  assert.ok(seed > 0, "some perturbed schedule loses the wakeup");
  const sh = await shrinkRun("lost-wakeup", cfg, seed, "lost-wakeup");
  assert.ok(sh.feed.seq.length >= 1, "a stall is needed");
  assert.ok(sh.feed.seq.length <= sh.original);
  const again = runScenario({ scenario: "lost-wakeup", seed, config: { ...cfg }, decisions: sh.feed });
  assert.equal(again.result.violations.find((v) => v.kind === "lost-wakeup")?.event, sh.violation.event);
  // 1-minimal: dropping any kept decision loses the violation.
  for (let i = 0; i < sh.feed.seq.length; i++) {
    const feed = { seq: sh.feed.seq.filter((_, j) => j !== i), values: sh.feed.values.filter((_, j) => j !== i) };
    const v = runScenario({ scenario: "lost-wakeup", seed, config: { ...cfg }, decisions: feed }).result.violations;
    assert.ok(!v.some((x) => x.kind === "lost-wakeup"), `decision ${i} is needed`);
  }
});

Deno.test("explore arguments: bad input is a usage error", () => {
  assert.throws(() => parseExploreArgs([]), /one scenario/);
  assert.throws(() => parseExploreArgs(["lock-abba", "--strategy", "dfs"]), /--strategy/);
  assert.throws(() => parseExploreArgs(["lock-abba", "--seeds", "0"]), /--seeds/);
  assert.throws(() => parseExploreArgs(["lock-abba", "--jobs", "65"]), /--jobs/);
  assert.throws(() => parseExploreArgs(["lock-abba", "--set", "nope=1"]), /unknown configuration key/);
  assert.throws(() => parseExploreArgs(["no-such-scenario"]), /unknown scenario/);
  assert.equal(parseExploreArgs(["lock-abba", "--seeds", "5", "--jobs", "2"]).seeds, 5);
});

Deno.test("deno task explore: --json shape and exit status 1; nothing found exits 0; bad flag exits 2", async () => {
  const main = new URL("../cli/main.ts", import.meta.url).pathname;
  const cli = async (...args: string[]) => {
    const o = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-read", "--allow-write", "--allow-env", main, "explore", ...args],
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    return { code: o.code, out: new TextDecoder().decode(o.stdout), err: new TextDecoder().decode(o.stderr) };
  };
  const r = await cli(
    "taskq-barrier-self",
    "--seeds",
    "8",
    "--jobs",
    "2",
    "--set",
    "taskq.barrier=1.27",
    "--json",
    "--out",
    dir,
  );
  assert.equal(r.code, 1, r.err);
  assert.equal(r.err, "", "no progress output when stderr is not a terminal");
  const j = JSON.parse(r.out);
  assert.equal(j.scenario, "taskq-barrier-self");
  assert.equal(j.runs, 8);
  assert.deepEqual(Object.keys(j.found[0]).slice(0, 4), ["seed", "kind", "trace", "reproduce"]);
  const none = await cli("taskq-barrier-self", "--seeds", "4", "--out", dir);
  assert.equal(none.code, 0, none.out + none.err);
  assert.match(none.out, /nothing found/);
  const bad = await cli("taskq-barrier-self", "--jobs", "x");
  assert.equal(bad.code, 2);
  assert.equal(bad.err.trim().split("\n").length, 1);
});

const hasRefrace = SCENARIOS.some((s) => s.name === "splice-refrace");

Deno.test({
  name: "explore splice-refrace: unsafe ref order gives a use-after-free within 2000 seeds; safe gives none",
  ignore: !hasRefrace,
  async fn() {
    const o = opts("splice-refrace", 2000, { jobs: 4, overrides: { "splice.refOrder": "unsafe" } });
    const r = await explore(o);
    const uaf = r.found.find((f) => f.kind === "use-after-free");
    assert.ok(uaf !== undefined, JSON.stringify(r.found.map((f) => f.kind)));
    assertReproduces(o, uaf);
    const safe = await explore(opts("splice-refrace", 2000, { jobs: 4, overrides: { "splice.refOrder": "safe" } }));
    assert.equal(safe.found.filter((f) => f.kind === "use-after-free").length, 0);
  },
});

Deno.test("explore linux-splice-broken: the stream reordering is found, shrunk, recorded and reproducible", async () => {
  const o = opts("linux-splice-broken", 6);
  const r = await explore(o);
  const f = r.found.find((x) => x.kind === "stream");
  assert.ok(f !== undefined, r.found.map((x) => x.kind).join());
  assert.match(f.message, /delivered after bytes up to/);
  assertReproduces(o, f);
  // the in-flight check is clean under the same exploration
  const ok = await explore(opts("linux-splice-race", 6, { overrides: { "linux.sendCheck": "inflight" } }));
  assert.deepEqual(ok.found, []);
});

Deno.test("explore linux-splice-race close: the ring use after free without the percpu_ref, none with it", async () => {
  const race = { "race.mode": "close", "race.closeAfter": "0", "cost.lxRcuGp": "0" };
  const o = opts("linux-splice-race", 30, { overrides: { ...race, "linux.ringRef": "false" } });
  const r = await explore(o);
  const f = r.found.find((x) => x.kind === "use-after-free");
  assert.ok(f !== undefined, r.found.map((x) => x.kind).join());
  assert.match(f.message, /splice_ring_write of splice_ring#\d+ by sender, freed by receiver/);
  assertReproduces(o, f);
  const ok = await explore(opts("linux-splice-race", 30, { overrides: race }));
  assert.deepEqual(ok.found, []);
});
