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
import type { ScenarioModuleRef } from "../format/format.ts";
import { type Found, frozen, runTest, scenarioFor, type TestRequest, type TestResult } from "./_explore_run.ts";
import { swarmChoice } from "./_explore_swarm.ts";

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
 * Runs the tests of a shrink. `first` has the meaning of running its
 * requests one after another and stopping at the first that gives the
 * violation; an implementation may run several at once (cli/_explore_pool.ts
 * runs later ones speculatively on idle workers) but answers the same.
 */
export interface Oracle {
  /** Runs one test. */
  one(req: TestRequest): Promise<TestResult>;
  /** The first request, in order, whose run gives its violation (with its index), or null when none does. */
  first(reqs: readonly TestRequest[]): Promise<{ index: number; found: Found } | null>;
}

/** The oracle of the calling thread: every test in turn, in order. */
export const INLINE: Oracle = {
  one: (req) => Promise.resolve(runTest(req)),
  first(reqs) {
    for (let i = 0; i < reqs.length; i++) {
      const r = runTest(reqs[i]);
      if (r.found !== null) return Promise.resolve({ index: i, found: r.found });
    }
    return Promise.resolve(null);
  },
};

/**
 * Shrinks the run (scenario, config, seed) that gave a violation of `kind`.
 * Throws if the run does not reproduce it (a determinism bug). The result,
 * `runs` included, is that of running the tests one at a time, whatever
 * `oracle` runs at once.
 */
export async function shrinkRun(
  scenario: string,
  config: Config,
  seed: number,
  kind: string,
  oracle: Oracle = INLINE,
): Promise<Shrunk> {
  const req = (decisions?: DecisionFeed, record?: boolean): TestRequest => ({
    scenario,
    config,
    seed,
    kind,
    decisions,
    record,
  });
  const first = await oracle.one(req(undefined, true));
  if (first.found === null || first.feed === undefined) {
    throw new Error(`explore: seed ${seed} did not reproduce ${kind} (nondeterminism)`);
  }
  const all = first.feed;
  const n = all.seq.length;
  // The full feed must reproduce too (recorded decisions replayed instead of drawn); then the empty feed.
  let keep = Array.from({ length: n }, (_, i) => i);
  const [full, none] = await Promise.all([oracle.one(req(subset(all, keep))), oracle.one(req(subset(all, [])))]);
  let runs = 3;
  if (full.found === null) throw new Error(`explore: seed ${seed}: its recorded decisions do not reproduce ${kind}`);
  if (none.found !== null) return { original: n, feed: subset(all, []), violation: none.found, runs };
  let best = full.found;
  let chunks = 2;
  while (keep.length >= 2 && runs < SHRINK_RUNS_MAX) {
    // One round of ddmin: the complements of `chunks` chunks, in order, the first that still fails kept.
    const size = Math.ceil(keep.length / chunks);
    const complements: number[][] = [];
    for (let c = 0; c < chunks && runs + complements.length < SHRINK_RUNS_MAX; c++) {
      const complement = keep.filter((_, i) => i < c * size || i >= (c + 1) * size);
      if (complement.length !== keep.length) complements.push(complement);
    }
    const hit = await oracle.first(complements.map((k) => req(subset(all, k))));
    if (hit !== null) {
      runs += hit.index + 1;
      keep = complements[hit.index];
      best = hit.found;
      chunks = Math.max(chunks - 1, 2);
      continue;
    }
    runs += complements.length;
    if (chunks >= keep.length) break; // single decisions tried: 1-minimal
    chunks = Math.min(keep.length, chunks * 2);
  }
  return { original: n, feed: subset(all, keep), violation: best, runs };
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
export async function shrinkFaults(
  scenario: string,
  base: Config,
  choice: Record<string, ConfigValue>,
  seed: number,
  kind: string,
  feed: DecisionFeed,
  violation: Found,
  oracle: Oracle = INLINE,
): Promise<FaultsShrunk> {
  const kept: Record<string, ConfigValue> = { ...choice };
  const dropped: string[] = [];
  let runs = 0;
  let best = violation;
  for (const k of Object.keys(choice)) {
    if (!k.startsWith("fault.") || runs >= SHRINK_RUNS_MAX) continue;
    const trial: Record<string, ConfigValue> = { ...kept };
    delete trial[k];
    runs++;
    const v = (await oracle.one({ scenario, config: { ...base, ...trial }, seed, kind, decisions: feed })).found;
    if (v === null) continue;
    delete kept[k];
    dropped.push(k);
    best = v;
  }
  return { choice: kept, dropped, violation: best, runs };
}

/** What a finding's shrink needs (plain data: a worker runs it). */
export interface ShrinkRequest {
  readonly scenario: string;
  /** The exploration's base configuration (without the seed's swarm choice). */
  readonly config: Config;
  readonly seed: number;
  readonly kind: string;
  readonly swarm: boolean;
  /** Every re-run checks and plans its configuration anew (no warm start; see RangeJob.cold). */
  readonly cold?: boolean;
  /** Record the shrunk run into a trace file, where the shrink ran (see {@link RecordTo}). */
  readonly record?: RecordTo;
}

/**
 * Where and how to record a shrunk run: on the thread that shrank it, whose
 * simulation code is warm, as soon as the shrink is done, while the other
 * workers go on with the seeds. Recorded on the main thread after the last
 * seed instead, the run was the only work left, on a thread that had run no
 * simulation (100-200 ms of cold code at the end of every exploration that
 * found something, and the recorder's modules loaded there).
 */
export interface RecordTo {
  /** The trace file (written beside it and renamed when complete). */
  readonly out: string;
  /** The exploration's `--set` overrides; the shrunk fault choice (swarm) is added to them. */
  readonly overrides: Record<string, string>;
  /** The user's scenario module, for the trace header (absent for a built-in). */
  readonly module?: ScenarioModuleRef;
}

/** A finding's shrink: its schedule, then (swarm) its faults. */
export interface Shrinking {
  /** The seed's swarm choice (empty without swarm). */
  readonly choice: Record<string, ConfigValue>;
  readonly schedule: Shrunk;
  readonly faults: FaultsShrunk | null;
  /** The recorded run's violations (when the request asked for a recording). */
  readonly recorded?: readonly Found[];
}

/** Shrinks one finding: its schedule decisions, then (swarm) the faults it does not need. */
export async function shrinkFinding(r: ShrinkRequest, oracle: Oracle = INLINE): Promise<Shrinking> {
  const choice = r.swarm ? swarmChoice(r.config, r.seed) : {};
  // Frozen: its hundreds of re-runs share one configuration check (core/run.ts).
  const base = { ...r.config, ...choice };
  const schedule = await shrinkRun(r.scenario, r.cold === true ? base : frozen(base), r.seed, r.kind, oracle);
  const faults = r.swarm
    ? await shrinkFaults(r.scenario, r.config, choice, r.seed, r.kind, schedule.feed, schedule.violation, oracle)
    : null;
  if (r.record === undefined) return { choice, schedule, faults };
  // Imported here only: a worker that never records does not load the recorder.
  const { recordRun } = await import("./run.ts");
  const overrides: Record<string, string> = { ...r.record.overrides };
  for (const [k, v] of Object.entries(faults?.choice ?? {})) overrides[k] = String(v);
  const s = recordRun({
    scenario: scenarioFor(r.scenario),
    module: r.record.module,
    seed: r.seed,
    overrides,
    out: r.record.out,
    decisions: schedule.feed,
  });
  const recorded = s.violations.map((v) => ({ kind: v.kind, event: v.event, message: v.message }));
  return { choice, schedule, faults, recorded };
}
