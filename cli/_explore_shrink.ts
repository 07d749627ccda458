/**
 * Shrinking a failing run by delta debugging over its schedule decisions
 * (Zeller's ddmin): the failing run's non-default decisions are recorded as
 * a feed; smaller feeds (complements of halves, then of smaller chunks down
 * to single decisions) are re-run, and the smallest feed that still gives a
 * violation of the same kind is kept. Every re-run is deterministic: a run
 * with a feed takes its schedule decisions from the feed and defaults
 * elsewhere, never from the PRNG.
 * @module
 */
import type { Config, ConfigValue } from "../core/config.ts";
import type { DecisionFeed } from "../core/machine.ts";
import { DecisionRecorder, type Found, violationOf } from "./_explore_run.ts";

/** Re-runs one shrink may spend. */
export const SHRINK_RUNS_MAX = 400;

/** The outcome of a shrink. */
export interface Shrunk {
  /** The decisions of the original failing run. */
  readonly original: number;
  /** The kept feed (possibly empty). */
  readonly feed: DecisionFeed;
  /** The violation the kept feed gives. */
  readonly violation: Found;
  /** Re-runs spent. */
  readonly runs: number;
}

/**
 * Shrinks the run (scenario, config, seed) that gave a violation of `kind`.
 * Throws if the run does not reproduce it (a determinism bug).
 */
export function shrinkRun(scenario: string, config: Config, seed: number, kind: string): Shrunk {
  const rec = new DecisionRecorder();
  const first = violationOf(scenario, config, seed, kind, undefined, [rec]);
  if (first === null) throw new Error(`explore: seed ${seed} did not reproduce ${kind} (nondeterminism)`);
  const all = rec.feed();
  const n = all.seq.length;
  let runs = 1;
  const test = (idx: number[]): Found | null => {
    runs++;
    return violationOf(scenario, config, seed, kind, subset(all, idx));
  };
  // The full feed must reproduce too (recorded decisions replayed instead of drawn).
  let keep = Array.from({ length: n }, (_, i) => i);
  let best = test(keep);
  if (best === null) throw new Error(`explore: seed ${seed}: its recorded decisions do not reproduce ${kind}`);
  const none = test([]);
  if (none !== null) return { original: n, feed: subset(all, []), violation: none, runs };
  let chunks = 2;
  while (keep.length >= 2 && runs < SHRINK_RUNS_MAX) {
    const size = Math.ceil(keep.length / chunks);
    let reduced = false;
    for (let c = 0; c < chunks && runs < SHRINK_RUNS_MAX; c++) {
      const complement = keep.filter((_, i) => i < c * size || i >= (c + 1) * size);
      if (complement.length === keep.length) continue;
      const v = test(complement);
      if (v === null) continue;
      keep = complement;
      best = v;
      chunks = Math.max(chunks - 1, 2);
      reduced = true;
      break;
    }
    if (reduced) continue;
    if (chunks >= keep.length) break; // single decisions tried: 1-minimal
    chunks = Math.min(keep.length, chunks * 2);
  }
  return { original: n, feed: subset(all, keep), violation: best as Found, runs };
}

function subset(f: DecisionFeed, idx: number[]): DecisionFeed {
  return { seq: idx.map((i) => f.seq[i]), values: idx.map((i) => f.values[i]) };
}

/** The outcome of {@link shrinkFaults}. */
export interface FaultsShrunk {
  /** The swarm choice with the faults the violation does not need switched off (removed). */
  readonly choice: Record<string, ConfigValue>;
  /** Fault keys switched off. */
  readonly dropped: string[];
  /** The violation the kept choice gives with `feed`. */
  readonly violation: Found;
  readonly runs: number;
}

/**
 * After schedule shrinking: tries the finding (base config + swarm choice,
 * following the shrunk `feed`) with each fault of the choice switched off
 * in turn, and keeps it off when the violation of `kind` still happens.
 * Faults draw from their own streams (drivers/faults.ts), so switching one
 * off leaves the others' draws in place.
 */
export function shrinkFaults(
  scenario: string,
  base: Config,
  choice: Record<string, ConfigValue>,
  seed: number,
  kind: string,
  feed: DecisionFeed,
  violation: Found,
): FaultsShrunk {
  const kept: Record<string, ConfigValue> = { ...choice };
  const dropped: string[] = [];
  let runs = 0;
  let best = violation;
  for (const k of Object.keys(choice)) {
    if (!k.startsWith("fault.") || runs >= SHRINK_RUNS_MAX) continue;
    const trial: Record<string, ConfigValue> = { ...kept };
    delete trial[k];
    runs++;
    const v = violationOf(scenario, { ...base, ...trial }, seed, kind, feed);
    if (v === null) continue;
    delete kept[k];
    dropped.push(k);
    best = v;
  }
  return { choice: kept, dropped, violation: best, runs };
}
