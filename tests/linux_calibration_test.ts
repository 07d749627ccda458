/**
 * The calibration cannot drift silently: every TCP_RR row of the seed's
 * shared copy is reproduced by linux-netperf within 10 %, except the one
 * documented miss (64 KB with busy poll), which is held to its documented
 * prediction instead (docs/cost-model.md "Linux").
 */
import assert from "node:assert/strict";
import { runScenario } from "../drivers/mod.ts";
import { SEED_ROWS } from "../drivers/linux_scenarios.ts";

/** The model's figure for the documented miss (loopback, 64 KB, splice + busy poll 50 us). */
const MISS_PREDICTED_TPS = 24_400;

for (const row of SEED_ROWS) {
  const name = `calibration: ${row.transport} TCP_RR ${row.size} B splice ${row.splice} busy poll ${row.busyPollUs}`;
  Deno.test(name, () => {
    const out = runScenario({
      scenario: "linux-netperf",
      seed: 1,
      overrides: {
        "linux.transport": row.transport,
        "rr.size": String(row.size),
        "linux.splice": row.splice,
        "linux.busyPollUs": String(row.busyPollUs),
      },
    });
    assert.deepEqual(out.result.violations, []);
    const tps = out.metrics.transPerSec as number;
    const want = row.fitted ? row.tps : MISS_PREDICTED_TPS;
    const ratio = tps / want;
    assert.ok(ratio > 0.9 && ratio < 1.1, `${tps} tps vs ${want} (${row.source}): ratio ${ratio.toFixed(3)}`);
  });
}
