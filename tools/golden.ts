/**
 * `deno task golden`: (re)records the golden traces under tests/golden/, one
 * short run per scenario (and per splice mode where a scenario has modes).
 * `deno task test` replays every one of them; after an intended behaviour
 * change, re-record with this or with `deno task replay --update FILE`.
 * `deno task golden NAME...` re-records only the scenarios named.
 * @module
 */
import { recordRun } from "../cli/run.ts";
import { SCENARIOS } from "../drivers/mod.ts";

/** Golden runs: scenario, file stem and overrides kept short. */
export function goldenRuns(): { scenario: string; stem: string; overrides: Record<string, string> }[] {
  const runs: { scenario: string; stem: string; overrides: Record<string, string> }[] = [];
  for (const s of SCENARIOS) {
    const short: Record<string, string> = { "sim.durationNs": "400000", "checkpoint.every": "1024" };
    // One run per mode of the scenario's variant key: OpenBSD's splice.mode, Linux's linux.splice.
    const key = ["splice.mode", "linux.splice"].find((k) => s.params[k]?.choices !== undefined);
    const modes = key === undefined ? undefined : s.params[key].choices;
    if (key !== undefined && modes) {
      for (const m of modes) {
        runs.push({ scenario: s.name, stem: `${s.name}-${m}`, overrides: { ...short, [key]: m } });
      }
    } else runs.push({ scenario: s.name, stem: s.name, overrides: short });
  }
  return runs;
}

if (import.meta.main) {
  Deno.mkdirSync("tests/golden", { recursive: true });
  const only = Deno.args;
  for (const g of goldenRuns().filter((r) => only.length === 0 || only.includes(r.scenario))) {
    const out = `tests/golden/${g.stem}.lstrace`;
    const s = recordRun({ scenario: g.scenario, seed: 1, overrides: g.overrides, out });
    console.log(`${out}: ${s.events} events, ${s.traceBytes} bytes, ${s.violations.length} violations`);
  }
}
