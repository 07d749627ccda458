/**
 * `deno task determinism [--seeds N] [--events N]`: runs every scenario
 * under every schedule strategy (none, random, pct) for seeds 1..N, twice
 * each, and compares the two traces byte for byte (every event, every
 * string, the header and the footer). Prints counts; exits 1 on any
 * mismatch. `--events` caps each run's events (sim.eventsMax) for a quicker
 * pass; by default runs are full length.
 * @module
 */
import { TOOL } from "../core/version.ts";
import { TraceWriter } from "../recorder/mod.ts";
import { runScenario, SCENARIOS } from "../drivers/mod.ts";
import { intFlag, parse } from "../cli/_args.ts";

/** Schedule strategies every scenario is run under. */
export const STRATEGIES = ["none", "random", "pct"] as const;

/** Counts of one determinism pass. */
export interface DeterminismReport {
  /** Pairs of runs compared. */
  doubleRuns: number;
  /** Trace bytes compared (first runs). */
  bytes: number;
  /** Pairs whose traces differ: scenario, strategy, seed. */
  mismatches: string[];
}

function record(scenario: string, seed: number, overrides: Record<string, string>): Uint8Array {
  const cfg = runScenario({ scenario, seed, overrides: { ...overrides, "sim.eventsMax": "1" } }).config;
  const w = TraceWriter.memory({ tool: TOOL, scenario, seed, cpus: Number(cfg.cpus), config: cfg, inputs: [] });
  runScenario({ scenario, seed, overrides, sinks: [w] });
  w.close();
  return w.bytes().slice();
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Double-runs every scenario and strategy for seeds 1..seeds. */
export function determinism(seeds: number, eventsMax = 0, onPair?: (done: number) => void): DeterminismReport {
  const r: DeterminismReport = { doubleRuns: 0, bytes: 0, mismatches: [] };
  for (let seed = 1; seed <= seeds; seed++) {
    for (const s of SCENARIOS) {
      for (const strategy of STRATEGIES) {
        const overrides: Record<string, string> = { "sched.strategy": strategy };
        if (eventsMax > 0) overrides["sim.eventsMax"] = String(eventsMax);
        const a = record(s.name, seed, overrides);
        const b = record(s.name, seed, overrides);
        if (!equal(a, b)) r.mismatches.push(`${s.name} ${strategy} seed ${seed}`);
        r.bytes += a.length;
        r.doubleRuns++;
        onPair?.(r.doubleRuns);
      }
    }
  }
  return r;
}

if (import.meta.main) {
  const { values } = parse(Deno.args, { seeds: { type: "string" }, events: { type: "string" } });
  const seeds = intFlag("seeds", values.seeds, 10);
  const eventsMax = intFlag("events", values.events, 0);
  const t0 = Date.now();
  const r = determinism(seeds, eventsMax, (done) => {
    if (done % 330 === 0) console.error(`determinism: ${done} double runs, ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  });
  console.log(
    `determinism: ${r.doubleRuns} double runs (${SCENARIOS.length} scenarios x ${STRATEGIES.length} strategies x ${seeds} seeds${
      eventsMax > 0 ? `, at most ${eventsMax} events each` : ", full length"
    }), ${(r.bytes / 1e6).toFixed(1)} MB of trace compared, ${r.mismatches.length} mismatches, ${
      ((Date.now() - t0) / 1000).toFixed(1)
    } s`,
  );
  for (const m of r.mismatches.slice(0, 20)) console.log(`  MISMATCH ${m}`);
  Deno.exit(r.mismatches.length === 0 ? 0 : 1);
}
