/**
 * Small versions of the torture tasks (`deno task fuzz`, `soak`,
 * `determinism`): the same code, fewer cases. The full figures are run by
 * hand (README, "Torture tests").
 */
import { assert, assertEquals } from "./_assert.ts";
import { fuzz, fuzzFailures, MUTATIONS } from "../tools/_fuzz.ts";
import { determinism, STRATEGIES } from "../tools/determinism.ts";
import { soak } from "../tools/soak.ts";
import { SCENARIOS } from "../drivers/mod.ts";

Deno.test("fuzz: 360 damaged traces, every kind of damage, no crash and no undetected damage", () => {
  const r = fuzz(360, 17);
  assertEquals(r.cases, 360);
  const failures = r.failures.map((f) => `case ${f.case} ${f.mutation} ${f.outcome}: ${f.message}`).join("\n");
  assertEquals(fuzzFailures(r), 0, failures);
  for (const m of MUTATIONS) {
    const c = r.counts[m];
    assert(c.ok + c.rejected > 0, `${m} exercised`);
  }
  // Raw damage is always caught; re-encoded content edits are often legitimately valid.
  assert(r.counts["bit-flip"].rejected > 0 && r.counts["bit-flip"].ok === 0);
  assert(r.salvaged > 100, `salvaged ${r.salvaged}`);
});

Deno.test("determinism: every scenario under every strategy, two runs, identical bytes", () => {
  const r = determinism(2, 3000);
  assertEquals(r.doubleRuns, 2 * SCENARIOS.length * STRATEGIES.length);
  assertEquals(r.mismatches, []);
  assert(r.bytes > 100_000, `bytes compared ${r.bytes}`);
});

Deno.test({
  name: "soak: kill -9 during run, --update and export loses nothing",
  sanitizeResources: false,
}, async () => {
  const r = await soak(6, 3);
  assertEquals(r.kills, 6);
  assertEquals(r.byPhase, { run: 2, update: 2, export: 2 });
  assertEquals(r.failures, []);
});
