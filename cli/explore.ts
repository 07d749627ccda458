/**
 * `deno task explore SCENARIO [--seeds N] [--strategy random|pct] [--swarm] [--jobs K]
 * [--set key=value]... [--out DIR] [--all] [--json]`: runs the scenario under
 * N schedules (seeds 1..N, with random preemption stalls or PCT change
 * points at yield points) across K workers, then for each violation kind
 * found (its lowest failing seed; every failing run with `--all`) shrinks
 * the schedule by delta debugging over its decisions, records the shrunk run
 * under `DIR/<scenario>-<seed>.lstrace` and prints how to reproduce it.
 *
 * Deterministic: every run depends only on (scenario, config, seed); results
 * are gathered by seed, so the same arguments give the same report whatever
 * the workers' timing. Lock orders are also merged across all runs in seed
 * order into one WITNESS graph, which reports a reversal whose two orders
 * come from different runs ("across runs").
 *
 * Exit status: 0 nothing found, 1 found something, 2 bad input.
 * @module
 */
import { parseOptions } from "./_help.ts";
import type { Config, ConfigValue } from "../core/config.ts";
import { resolveScenarioConfig } from "../core/run.ts";
import { findScenario, SCENARIOS } from "../drivers/mod.ts";
import { intFlag, parse, setFlags, stderrIsTty, UsageError, useColor } from "./_args.ts";
import { type Found, preloadScenario, scenarioFor, type Verdict } from "./_explore_run.ts";
import { inlineRunner, Pool, type Runner } from "./_explore_pool.ts";
import { ENUMS } from "../core/schema.ts";
import { isModuleArg } from "./_scenario_arg.ts";
import { cmdMerge, writeShard } from "./_explore_shard.ts";
import {
  crossRunReversals,
  type ExploreReport,
  faultWords,
  type Finding,
  RECORD_MAX,
  reportJson,
  selectFindings,
  type Shard,
} from "./_explore_report.ts";

export {
  type CrossRunReversal,
  crossRunReversals,
  type ExploreReport,
  type Finding,
  RECORD_MAX,
  selectFindings,
  type Shard,
} from "./_explore_report.ts";
import type { Shrinking } from "./_explore_shrink.ts";
import { swarmChoice } from "./_explore_swarm.ts";
import { checkOutDir } from "./_files.ts";

/** Limits. */
export const SEEDS_MAX = 10_000_000;
export const JOBS_MAX = 64;
const CHUNK_MAX = 64;

/** Parsed `explore` arguments. */
export interface ExploreOptions {
  readonly scenario: string;
  readonly seeds: number;
  readonly strategy: "random" | "pct";
  readonly jobs: number;
  readonly overrides: Record<string, string>;
  readonly outDir: string;
  readonly all: boolean;
  readonly json: boolean;
  /** Explore only this shard's seeds and write its result for `explore merge` (absent: every seed). */
  readonly shard?: Shard;
  /** Swarm: each seed picks its own faults and perturbation parameters (cli/_explore_swarm.ts). */
  readonly swarm?: boolean;
  /** API only: no warm start, every run checks and plans its configuration anew (cli/_explore_run.ts frozen). */
  readonly cold?: boolean;
}

/** Parses the arguments of `explore`; throws UsageError (or ConfigError) on bad input. */
export function parseExploreArgs(args: string[]): ExploreOptions {
  const { values, positionals } = parse(args, parseOptions("explore"));
  if (positionals.length !== 1) throw new UsageError("explore takes one scenario: explore SCENARIO [--seeds N] ...");
  const scenario = positionals[0];
  const seeds = intFlag("seeds", values.seeds, 1000, SEEDS_MAX);
  if (seeds < 1) throw new UsageError("--seeds must be at least 1");
  const strategy = String(values.strategy ?? "random");
  if (strategy !== "random" && strategy !== "pct") {
    throw new UsageError(`--strategy wants random or pct, got '${strategy}'`);
  }
  const dflt = Math.max(1, Math.min(4, navigator.hardwareConcurrency ?? 1));
  const jobs = intFlag("jobs", values.jobs, dflt, JOBS_MAX);
  if (jobs < 1) throw new UsageError("--jobs must be at least 1");
  const overrides = setFlags(values.set);
  if ("sched.strategy" in overrides) throw new UsageError("use --strategy, not --set sched.strategy");
  // A module path is imported (and its keys checked) by explore(); a built-in name is checked now.
  const isModule = isModuleArg(scenario);
  if (!isModule) findScenario(scenario); // ConfigError: unknown scenario
  const shard = values.shard === undefined ? undefined : parseShard(String(values.shard), Deno.env.get(INDEX_ENV));
  if (values.out !== undefined) checkOutDir("--out", String(values.out));
  const base = scenario.replace(/^.*[\\/]/, "").replace(/\.[a-z]+$/, "");
  const o: ExploreOptions = {
    scenario,
    seeds,
    strategy,
    jobs,
    overrides,
    outDir: String(
      values.out ?? (shard ? `runs/explore/${base}-shard-${shard.index}-of-${shard.count}` : "runs/explore"),
    ),
    all: values.all === true,
    json: values.json === true,
    shard,
    swarm: values.swarm === true,
  };
  if (!isModule) configOf(o); // ConfigError: unknown key or bad value, before any run
  return o;
}

/** The environment variable of a Kubernetes Indexed Job's completion index. */
export const INDEX_ENV = "JOB_COMPLETION_INDEX";
/** Most shards an exploration may be split into. */
export const SHARDS_MAX = 100_000;

/**
 * Parses `--shard i/n` (every n-th seed starting at seed i+1, 0 <= i < n) or
 * `--shard n` (i from the Kubernetes Indexed Job's JOB_COMPLETION_INDEX).
 */
export function parseShard(text: string, envIndex: string | undefined): Shard {
  const m = /^(?:(\d{1,6})\/)?(\d{1,6})$/.exec(text);
  if (m === null) throw new UsageError(`--shard wants i/n or n (decimal), got '${text}'`);
  const count = Number(m[2]);
  if (count < 1 || count > SHARDS_MAX) throw new UsageError(`--shard: n must be in 1..${SHARDS_MAX}, got ${count}`);
  let idx = m[1];
  if (idx === undefined) {
    if (envIndex === undefined) {
      throw new UsageError(`--shard ${text}: no shard index given and ${INDEX_ENV} is not set`);
    }
    if (!/^\d{1,6}$/.test(envIndex)) throw new UsageError(`${INDEX_ENV}='${envIndex}' is not a shard index`);
    idx = envIndex;
  }
  const index = Number(idx);
  if (index >= count) throw new UsageError(`--shard: index ${index} is not below ${count}`);
  return { index, count };
}

/** The overrides every exploration run uses (the strategy included), in the reproduce command's order. */
export function runOverrides(o: ExploreOptions): Record<string, string> {
  return { "sched.strategy": o.strategy, ...o.overrides };
}

function configOf(o: ExploreOptions): Config {
  return resolveScenarioConfig(scenarioFor(o.scenario), runOverrides(o));
}

/** The whole range as one shard. */
export const ALL: Shard = { index: 0, count: 1 };

/** The seeds of 1..n a shard covers, ascending. */
export function shardSeeds(n: number, shard: Shard): number[] {
  const out: number[] = [];
  for (let s = shard.index + 1; s <= n; s += shard.count) out.push(s);
  return out;
}

/**
 * Runs the seeds of 1..n that `shard` covers (all of them by default)
 * across `jobs` workers (inline when 1) and returns the verdicts in seed
 * order. `onProgress(done)` is called as results arrive.
 */
export async function exploreSeeds(
  scenario: string,
  config: Config,
  n: number,
  jobs: number,
  onProgress: (done: number) => void = () => {},
  shard: Shard = ALL,
  swarm = false,
): Promise<Verdict[]> {
  if (!(jobs >= 1 && jobs <= JOBS_MAX)) throw new Error(`explore: jobs ${jobs} out of range`);
  const runner = runnerFor(jobs, n, shard);
  try {
    return await runSeeds(runner, jobs, { scenario, config, n, shard, swarm, onProgress });
  } finally {
    runner.close();
  }
}

/** The runner for an exploration: inline with one job (or one seed), else a pool of at most one worker per seed. */
function runnerFor(jobs: number, n: number, shard: Shard): Runner {
  const seeds = Math.max(0, Math.ceil((n - shard.index) / shard.count));
  return jobs === 1 || seeds <= 1 ? inlineRunner() : new Pool(Math.min(jobs, seeds));
}

/** What {@link runSeeds} runs, and whom it tells. */
interface SeedsJob {
  readonly scenario: string;
  readonly config: Config;
  readonly n: number;
  readonly shard: Shard;
  readonly swarm: boolean;
  readonly cold?: boolean;
  readonly onProgress: (done: number) => void;
  /** Called with each verdict in seed order, as soon as every lower seed's verdict is in. */
  readonly onVerdict?: (v: Verdict) => void;
}

/**
 * Hands the seeds to `runner` as ranges in ascending order, each about a
 * quarter of what is left per job (at most CHUNK_MAX, at least a 32nd of a
 * job's share): large while there is much to do, small at the end so the
 * workers finish together, never so small that messages cost more than seeds.
 */
async function runSeeds(runner: Runner, jobs: number, j: SeedsJob): Promise<Verdict[]> {
  const { n, shard } = j;
  if (!(n >= 1 && n <= SEEDS_MAX)) throw new Error(`explore: seeds ${n} out of range`);
  if (!(shard.count >= 1 && shard.index >= 0 && shard.index < shard.count)) throw new Error("explore: bad shard");
  const want = shardSeeds(n, shard);
  const step = shard.count;
  const parts: (Verdict[] | undefined)[] = [];
  let done = 0, frontier = 0;
  const pending: Promise<void>[] = [];
  const sizeMin = Math.min(CHUNK_MAX, Math.ceil(want.length / (jobs * 32)));
  for (let i = 0; i < want.length;) {
    const size = Math.max(sizeMin, Math.min(CHUNK_MAX, Math.ceil((want.length - i) / (jobs * 4))));
    const lo = want[i], hi = Math.min(n + 1, lo + size * step);
    const idx = parts.length;
    parts.push(undefined);
    pending.push(
      runner.range({ scenario: j.scenario, config: j.config, lo, hi, step, swarm: j.swarm, cold: j.cold }).then(
        (vs) => {
          parts[idx] = vs;
          done += vs.length;
          j.onProgress(done);
          for (; frontier < parts.length && parts[frontier] !== undefined; frontier++) {
            for (const v of parts[frontier] as Verdict[]) j.onVerdict?.(v);
          }
        },
      ),
    );
    i += size;
  }
  await Promise.all(pending);
  const out = parts.flatMap((p) => p as Verdict[]);
  if (out.length !== want.length || out.some((v, i) => v.seed !== want[i])) {
    throw new Error("explore: lost or duplicated results");
  }
  return out;
}

/** The trace of a picked finding: `<scenario>-<seed>`, with `-<kind>` when its seed has more than one pick. */
function tracePath(dir: string, name: string, seed: number, kind: string, picksOfSeed: number): string {
  return picksOfSeed === 1 ? `${dir}/${name}-${seed}.lstrace` : `${dir}/${name}-${seed}-${kind}.lstrace`;
}

/** Shell-quotes a word when needed. */
function sh(w: string): string {
  return /^[\w.,=:@%+/-]+$/.test(w) ? w : `'${w.replaceAll("'", "'\\''")}'`;
}

/** The `deno task run` command that reproduces the exploration run of `seed`. */
export function reproduceCommand(o: ExploreOptions, seed: number, config?: Config): string {
  const all: Record<string, ConfigValue> = { ...runOverrides(o) };
  if (o.swarm && config !== undefined) Object.assign(all, swarmChoice(config, seed));
  const sets = Object.entries(all).map(([k, v]) => `--set ${sh(`${k}=${v}`)}`);
  return ["deno task run", sh(o.scenario), "--seed", String(seed), ...sets].join(" ");
}

/** Records one shrunk finding. */
function realize(
  o: ExploreOptions,
  config: Config,
  f: { seed: number; found: Found; count: number },
  shrunk: Shrinking,
  trace: string,
): Finding {
  const { choice, schedule: sh0, faults: fs } = shrunk;
  if (shrunk.recorded === undefined) throw new Error(`explore: seed ${f.seed}'s shrunk run was not recorded`);
  const v = shrunk.recorded.find((x) => x.kind === f.found.kind);
  if (v === undefined) throw new Error(`explore: the recorded run of seed ${f.seed} lost its ${f.found.kind}`);
  return {
    seed: f.seed,
    kind: f.found.kind,
    event: f.found.event,
    message: v.message,
    runsWithKind: f.count,
    trace,
    reproduce: reproduceCommand(o, f.seed, config),
    replay: `deno task replay ${sh(trace)}`,
    shrunk: {
      decisions: sh0.feed.seq.length,
      from: sh0.original,
      runs: sh0.runs + (fs?.runs ?? 0),
      event: v.event,
    },
    ...(o.swarm ? { faults: faultWords(choice), faultsNeeded: faultWords(fs?.choice ?? {}) } : {}),
  };
}

/**
 * Runs a whole exploration: runs, findings, shrinking and recording. A
 * finding's shrink starts as soon as its seed is known to be picked (every
 * lower seed's verdict is in), on one of the workers while the others go on
 * with the remaining seeds, and the same worker records the shrunk run's
 * trace as soon as the shrink is done (the file's name is known then: every
 * pick of a seed is made when its verdict comes in). A trace of a finding is
 * therefore written before the exploration ends.
 */
export async function explore(o: ExploreOptions, onProgress?: (done: number) => void): Promise<ExploreReport> {
  // cli/_scenario.ts is imported only for a user's module: the workers start sooner when this thread loads
  // less first. The recorder is loaded only by the thread that shrinks a finding (cli/_explore_shrink.ts).
  const moduleRef = isModuleArg(o.scenario)
    ? (await (await import("./_scenario.ts")).loadModule(o.scenario)).module
    : undefined;
  const name = (await preloadScenario(o.scenario)).name;
  const config = configOf(o);
  const shard = o.shard ?? ALL;
  const runner = runnerFor(o.jobs, o.seeds, shard);
  const key = (seed: number, kind: string) => `${seed}\u0000${kind}`;
  // The picks of selectFindings, in its order, as the verdicts come in: the first RECORD_MAX are shrunk at once.
  const shrinks = new Map<string, Promise<Shrinking>>();
  const taken = new Set<string>();
  const rank = (k: string) => (ENUMS.violation as readonly string[]).indexOf(k);
  const onVerdict = (v: Verdict) => {
    const fresh = v.found.filter((f) => o.all || !taken.has(f.kind)).sort((a, b) => rank(a.kind) - rank(b.kind));
    for (const f of fresh) {
      taken.add(f.kind);
      if (shrinks.size >= RECORD_MAX) return;
      // Every pick of this seed is made here (selectFindings picks alike), so its trace's name is known now.
      const p = runner.shrink({
        scenario: o.scenario,
        config,
        seed: v.seed,
        kind: f.kind,
        swarm: o.swarm === true,
        cold: o.cold === true,
        record: {
          out: tracePath(o.outDir, name, v.seed, f.kind, fresh.length),
          overrides: runOverrides(o),
          module: moduleRef,
        },
      });
      p.catch(() => {}); // awaited below; a failure also fails the exploration
      shrinks.set(key(v.seed, f.kind), p);
    }
  };
  let verdicts: Verdict[];
  let shrunk: Shrinking[];
  try {
    verdicts = await runSeeds(runner, o.jobs, {
      scenario: o.scenario,
      config,
      n: o.seeds,
      shard,
      swarm: o.swarm === true,
      cold: o.cold === true,
      onProgress: onProgress ?? (() => {}),
      onVerdict,
    });
    const picked = selectFindings(verdicts, o.all).slice(0, RECORD_MAX);
    shrunk = await Promise.all(picked.map((p) => {
      const s = shrinks.get(key(p.seed, p.found.kind));
      if (s === undefined) throw new Error(`explore: seed ${p.seed}'s ${p.found.kind} was not shrunk`);
      return s;
    }));
  } finally {
    runner.close();
  }
  const picked = selectFindings(verdicts, o.all);
  const perSeed = new Map<number, number>();
  for (const p of picked) perSeed.set(p.seed, (perSeed.get(p.seed) ?? 0) + 1);
  const found = picked.map((p, i) => {
    if (i < RECORD_MAX) {
      return realize(
        o,
        config,
        p,
        shrunk[i],
        tracePath(o.outDir, name, p.seed, p.found.kind, perSeed.get(p.seed) as number),
      );
    }
    return {
      seed: p.seed,
      kind: p.found.kind,
      event: p.found.event,
      message: p.found.message,
      runsWithKind: p.count,
      trace: null,
      reproduce: reproduceCommand(o, p.seed, config),
      replay: null,
      shrunk: null,
      ...(p.swarm !== undefined ? { faults: faultWords(p.swarm) } : {}),
    };
  });
  const report = { scenario: name, runs: verdicts.length, found, crossRun: crossRunReversals(verdicts) };
  if (o.shard !== undefined) {
    writeShard(o.outDir, o.shard, {
      name,
      scenarioArg: o.scenario,
      moduleRef,
      config,
      seeds: o.seeds,
      all: o.all,
      swarm: o.swarm === true,
      verdicts,
      found,
    });
  }
  return report;
}

/** A progress bar on stderr (only on a terminal; NO_COLOR honoured). */
function progressBar(total: number, label: string): { update(done: number): void; clear(): void } {
  if (!stderrIsTty()) return { update() {}, clear() {} };
  const enc = new TextEncoder();
  const color = useColor();
  const step = Math.max(1, Math.floor(total / 200));
  let shown = -1;
  const write = (s: string) => Deno.stderr.writeSync(enc.encode(s));
  return {
    update(done: number) {
      if (done !== total && shown >= 0 && done - shown < step) return;
      shown = done;
      const w = 30, full = Math.round((done / total) * w);
      const bar = "#".repeat(full) + ".".repeat(w - full);
      write(`\r${label} [${color ? `\x1b[32m${bar}\x1b[0m` : bar}] ${done}/${total} runs`);
    },
    clear() {
      if (shown >= 0) write("\r\x1b[K");
    },
  };
}

function printReport(o: ExploreOptions, r: ExploreReport): void {
  const red = (x: string) => useColor() ? `\x1b[31m${x}\x1b[0m` : x;
  const kinds = new Set(r.found.map((f) => f.kind)).size;
  console.log(
    `explore ${o.scenario}: ${r.runs} runs (seeds 1..${o.seeds}, strategy ${o.strategy}${
      o.swarm ? ", swarm" : ""
    }, ${o.jobs} jobs): ` +
      (kinds === 0 && r.crossRun.length === 0 ? "nothing found" : `${kinds} violation kind(s) found`),
  );
  for (const f of r.found) {
    console.log(red(`${f.kind}: seed ${f.seed}, event ${f.event} (${f.runsWithKind} of ${r.runs} runs)`));
    for (const line of f.message.split("\n")) console.log(`  ${line}`);
    if (f.faults !== undefined) console.log(`  faults on: ${f.faults.length === 0 ? "none" : f.faults.join(" ")}`);
    if (f.faultsNeeded !== undefined) {
      console.log(`  faults needed: ${f.faultsNeeded.length === 0 ? "none" : f.faultsNeeded.join(" ")}`);
    }
    if (f.shrunk !== null) {
      console.log(
        `  shrunk: ${f.shrunk.from} -> ${f.shrunk.decisions} schedule decisions (${f.shrunk.runs} re-runs), event ${f.shrunk.event}`,
      );
    }
    if (f.trace !== null) console.log(`  trace: ${f.trace}`);
    if (f.replay !== null) console.log(`  replay (shrunk): ${f.replay}`);
    console.log(`  run (as explored): ${f.reproduce}`);
  }
  for (const c of r.crossRun) {
    console.log(red(`lock-order across runs: seeds ${c.seeds[0]} and ${c.seeds[1]}`));
    for (const line of c.message.split("\n")) console.log(`  ${line}`);
  }
}

/** The `explore` command. */
export async function cmdExplore(args: string[]): Promise<number> {
  if (args[0] === "merge") return cmdMerge(args.slice(1));
  const o = parseExploreArgs(args);
  const bar = progressBar(o.seeds, `explore ${o.scenario}`);
  let r: ExploreReport;
  try {
    r = await explore(o, (d) => bar.update(d));
  } finally {
    bar.clear();
  }
  if (o.json) {
    console.log(JSON.stringify(reportJson(r)));
  } else printReport(o, r);
  return r.found.length > 0 || r.crossRun.length > 0 ? 1 : 0;
}

/**
 * Exploration throughput for tools/bench.ts: runs `seeds` seeds of
 * `scenario` (taskq-barrier-self when it is not registered) with the random
 * strategy on `jobs` workers, without shrinking.
 */
export async function exploreBench(
  scenario: string,
  seeds: number,
  jobs: number,
): Promise<Record<string, number | string>> {
  const name = SCENARIOS.some((s) => s.name === scenario) ? scenario : "taskq-barrier-self";
  const config = resolveScenarioConfig(findScenario(name), { "sched.strategy": "random" });
  const t0 = performance.now();
  const v = await exploreSeeds(name, config, seeds, jobs);
  const wallMs = performance.now() - t0;
  return {
    scenario: name,
    runs: v.length,
    jobs,
    wallMs: Math.round(wallMs),
    runsPerSec: Math.round((v.length / wallMs) * 1000 * 10) / 10,
    failingRuns: v.filter((x) => x.found.length > 0).length,
  };
}
