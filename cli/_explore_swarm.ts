/**
 * Swarm exploration (TigerBeetle's VOPR "swarm", FoundationDB's buggify):
 * each seed runs its own configuration, a random subset of the faults
 * (drivers/faults.ts) and of the scheduling perturbation's parameters,
 * chosen deterministically from the seed by a PRNG stream of its own. The
 * choice lands in the run's resolved configuration, so the run's trace
 * header records it and `deno task run --set ...` reproduces it; the base
 * configuration (what a shard file carries) is unchanged.
 *
 * Faults a scenario does not declare are not chosen (a lock scenario gets
 * only the schedule's parameters).
 * @module
 */
import type { Config, ConfigValue } from "../core/config.ts";
import { Prng } from "../core/prng.ts";
import { FAULT_SWITCHES, swarmValue } from "../drivers/faults.ts";

/** PRNG stream of the swarm's choices ("SWRM"), apart from the machine's streams of the same seed. */
const SWARM_STREAM = 0x5357_524d;

/** Perturbation menus: chance per yield point (random) and stall unit; PCT's depth. */
const PERTURB_PPM = [500, 2000, 10_000, 50_000] as const;
const STALL_NS = [500, 2000, 10_000] as const;
const PCT_DEPTH = [1, 2, 3, 4, 5] as const;

/**
 * The keys seed `seed` changes in `base` (in a fixed order): each fault of
 * FAULT_SWITCHES the scenario declares is on with probability 1/2, at a
 * value from its menu; the strategy's parameters are drawn from theirs.
 */
export function swarmChoice(base: Config, seed: number): Record<string, ConfigValue> {
  const rng = new Prng(seed, SWARM_STREAM);
  const out: Record<string, ConfigValue> = {};
  const strategy = String(base["sched.strategy"]);
  // Draw every menu whatever the strategy, so one choice does not shift the others.
  const ppm = PERTURB_PPM[rng.below(PERTURB_PPM.length)];
  const stall = STALL_NS[rng.below(STALL_NS.length)];
  const depth = PCT_DEPTH[rng.below(PCT_DEPTH.length)];
  if (strategy === "random") {
    out["sched.perturbPpm"] = ppm;
    out["sched.stallNs"] = stall;
  } else if (strategy === "pct") out["sched.pctDepth"] = depth;
  const durationNs = Number(base["sim.durationNs"]);
  for (const s of FAULT_SWITCHES) {
    const on = rng.below(2) === 1;
    const v = s.values[rng.below(s.values.length)];
    if (on && s.key in base) out[s.key] = swarmValue(s.key, v, durationNs);
  }
  return out;
}

/** `base` with seed `seed`'s swarm choice applied. */
export function swarmConfig(base: Config, seed: number): Config {
  return { ...base, ...swarmChoice(base, seed) };
}
