/**
 * `deno task explore SCENARIO [--seeds N] [--strategy random|pct] [--jobs K]
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
import type { Config } from "../core/config.ts";
import { LockOrderGraph } from "../core/detect/mod.ts";
import { reversalMessage } from "../core/detect/witness.ts";
import { ENUMS } from "../core/schema.ts";
import { findScenario, resolveScenarioConfig } from "../drivers/mod.ts";
import { SCENARIOS } from "../drivers/mod.ts";
import { intFlag, parse, setFlags, stderrIsTty, UsageError, useColor } from "./_args.ts";
import { exploreRange, type Found, type RangeJob, type Verdict } from "./_explore_run.ts";
import { shrinkRun, type Shrunk } from "./_explore_shrink.ts";
import { recordRun } from "./run.ts";
import { checkOutDir } from "./_files.ts";

/** Limits. */
export const SEEDS_MAX = 10_000_000;
export const JOBS_MAX = 64;
/** Findings that are shrunk and recorded (the rest of an `--all` list is reported without a trace). */
export const RECORD_MAX = 50;
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
}

/** One reported finding (the `found` entries of `--json`). */
export interface Finding {
  readonly seed: number;
  readonly kind: string;
  /** Event index of the violation in the exploration run. */
  readonly event: number;
  readonly message: string;
  /** Runs (of all explored) that had this kind. */
  readonly runsWithKind: number;
  /** The recorded, shrunk trace (null beyond RECORD_MAX). */
  readonly trace: string | null;
  /** `deno task run ...` reproducing the exploration run. */
  readonly reproduce: string;
  /** `deno task replay TRACE` (null without a trace). */
  readonly replay: string | null;
  readonly shrunk:
    | { readonly decisions: number; readonly from: number; readonly runs: number; readonly event: number }
    | null;
}

/** A lock order reversal whose two orders were established in different runs. */
export interface CrossRunReversal {
  readonly seeds: [number, number];
  readonly message: string;
}

/** The exploration report. */
export interface ExploreReport {
  readonly scenario: string;
  readonly runs: number;
  readonly found: Finding[];
  readonly crossRun: CrossRunReversal[];
}

/** Parses the arguments of `explore`; throws UsageError (or ConfigError) on bad input. */
export function parseExploreArgs(args: string[]): ExploreOptions {
  const { values, positionals } = parse(args, {
    seeds: { type: "string" },
    strategy: { type: "string" },
    jobs: { type: "string" },
    set: { type: "string", multiple: true },
    out: { type: "string" },
    all: { type: "boolean" },
    json: { type: "boolean" },
  });
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
  findScenario(scenario); // ConfigError: unknown scenario
  if (values.out !== undefined) checkOutDir("--out", String(values.out));
  const o: ExploreOptions = {
    scenario,
    seeds,
    strategy,
    jobs,
    overrides,
    outDir: String(values.out ?? "runs/explore"),
    all: values.all === true,
    json: values.json === true,
  };
  configOf(o); // ConfigError: unknown key or bad value, before any run
  return o;
}

/** The overrides every exploration run uses (the strategy included), in the reproduce command's order. */
export function runOverrides(o: ExploreOptions): Record<string, string> {
  return { "sched.strategy": o.strategy, ...o.overrides };
}

function configOf(o: ExploreOptions): Config {
  return resolveScenarioConfig(findScenario(o.scenario), runOverrides(o));
}

/**
 * Runs seeds 1..n across `jobs` workers (inline when 1) and returns the
 * verdicts in seed order. `onProgress(done)` is called as results arrive.
 */
export async function exploreSeeds(
  scenario: string,
  config: Config,
  n: number,
  jobs: number,
  onProgress: (done: number) => void = () => {},
): Promise<Verdict[]> {
  if (!(n >= 1 && n <= SEEDS_MAX)) throw new Error(`explore: seeds ${n} out of range`);
  if (!(jobs >= 1 && jobs <= JOBS_MAX)) throw new Error(`explore: jobs ${jobs} out of range`);
  const chunk = Math.max(1, Math.min(CHUNK_MAX, Math.ceil(n / (jobs * 8))));
  let out: Verdict[];
  if (jobs === 1) {
    out = [];
    const known = new Set<string>();
    for (let lo = 1; lo <= n; lo += chunk) {
      out.push(...exploreRange({ scenario, config, lo, hi: Math.min(n + 1, lo + chunk) }, known));
      onProgress(out.length);
    }
  } else {
    out = await runPool(scenario, config, n, Math.min(jobs, Math.ceil(n / chunk)), chunk, onProgress);
  }
  out.sort((a, b) => a.seed - b.seed);
  if (out.length !== n || out.some((v, i) => v.seed !== i + 1)) throw new Error("explore: lost or duplicated results");
  return out;
}

/** Hands ranges of seeds, in ascending order, to workers as they become free. */
function runPool(
  scenario: string,
  config: Config,
  n: number,
  jobs: number,
  chunk: number,
  onProgress: (done: number) => void,
): Promise<Verdict[]> {
  const results: Verdict[] = [];
  const workers: Worker[] = [];
  let next = 1;
  return new Promise((resolve, reject) => {
    let live = jobs;
    let failed = false;
    const fail = (msg: string) => {
      if (failed) return;
      failed = true;
      for (const w of workers) w.terminate();
      reject(new Error(`explore worker: ${msg}`));
    };
    for (let k = 0; k < jobs; k++) {
      const w = new Worker(new URL("./_explore_worker.ts", import.meta.url).href, { type: "module" });
      workers.push(w);
      w.onmessage = (ev: MessageEvent<{ type: string; verdicts?: Verdict[]; message?: string }>) => {
        const msg = ev.data;
        if (failed) return;
        if (msg.type === "error") return fail(String(msg.message));
        if (msg.type === "results") {
          results.push(...(msg.verdicts as Verdict[]));
          onProgress(results.length);
        }
        if (next <= n) {
          const job: RangeJob = { scenario, config, lo: next, hi: Math.min(n + 1, next + chunk) };
          next = job.hi;
          w.postMessage({ type: "range", job });
          return;
        }
        w.terminate();
        if (--live === 0) resolve(results);
      };
      w.onerror = (e: ErrorEvent) => {
        e.preventDefault();
        fail(e.message);
      };
    }
  });
}

/** The findings to report: the lowest seed of each kind, or every (seed, kind) with `all`. */
export function selectFindings(verdicts: Verdict[], all: boolean): { seed: number; found: Found; count: number }[] {
  const count = new Map<string, number>();
  for (const v of verdicts) for (const f of v.found) count.set(f.kind, (count.get(f.kind) ?? 0) + 1);
  const out: { seed: number; found: Found; count: number }[] = [];
  const taken = new Set<string>();
  for (const v of verdicts) {
    for (const f of v.found) {
      if (!all && taken.has(f.kind)) continue;
      taken.add(f.kind);
      out.push({ seed: v.seed, found: f, count: count.get(f.kind) as number });
    }
  }
  const rank = (k: string) => (ENUMS.violation as readonly string[]).indexOf(k);
  return out.sort((a, b) => a.seed - b.seed || rank(a.found.kind) - rank(b.found.kind));
}

/** Merges every run's lock orders, in seed order, into one graph: reversals across runs. */
export function crossRunReversals(verdicts: Verdict[]): CrossRunReversal[] {
  const inRun = new Set<string>();
  for (const v of verdicts) for (const [a, b] of v.reversals) inRun.add(`${a}\u0000${b}`);
  const orders = verdicts.flatMap((v) => v.orders).sort((x, y) => x.seed - y.seed || x.event - y.event);
  const g = new LockOrderGraph();
  const out: CrossRunReversal[] = [];
  for (const o of orders) {
    const a = g.classOf(o.from[0], o.from[1]), b = g.classOf(o.to[0], o.to[1]);
    const seen = { event: o.event, thread: o.thread, run: `seed ${o.seed}` };
    if (!g.reaches(b, a)) {
      g.addEdge(a, b, seen);
      continue;
    }
    const key = [`${a.name} (${a.type})`, `${b.name} (${b.type})`].sort().join("\u0000");
    if (inRun.has(key) || !g.firstReport(a, b)) continue;
    const chain = g.chain(b, a) as NonNullable<ReturnType<typeof g.chain>>;
    const first = g.edge(chain[0], chain[1]);
    out.push({
      seeds: [first === undefined ? o.seed : Number(first.run.slice(5)), o.seed],
      message: reversalMessage(g, a, b, seen),
    });
  }
  return out;
}

/** Shell-quotes a word when needed. */
function sh(w: string): string {
  return /^[\w.,=:@%+/-]+$/.test(w) ? w : `'${w.replaceAll("'", "'\\''")}'`;
}

/** The `deno task run` command that reproduces the exploration run of `seed`. */
export function reproduceCommand(o: ExploreOptions, seed: number): string {
  const sets = Object.entries(runOverrides(o)).map(([k, v]) => `--set ${sh(`${k}=${v}`)}`);
  return ["deno task run", sh(o.scenario), "--seed", String(seed), ...sets].join(" ");
}

/** Shrinks and records one finding. */
function realize(
  o: ExploreOptions,
  config: Config,
  f: { seed: number; found: Found; count: number },
  trace: string,
): Finding {
  const sh0: Shrunk = shrinkRun(o.scenario, config, f.seed, f.found.kind);
  const s = recordRun({
    scenario: o.scenario,
    seed: f.seed,
    overrides: runOverrides(o),
    out: trace,
    decisions: sh0.feed,
  });
  const v = s.violations.find((x) => x.kind === f.found.kind);
  if (v === undefined) throw new Error(`explore: the recorded run of seed ${f.seed} lost its ${f.found.kind}`);
  return {
    seed: f.seed,
    kind: f.found.kind,
    event: f.found.event,
    message: v.message,
    runsWithKind: f.count,
    trace,
    reproduce: reproduceCommand(o, f.seed),
    replay: `deno task replay ${sh(trace)}`,
    shrunk: { decisions: sh0.feed.seq.length, from: sh0.original, runs: sh0.runs, event: v.event },
  };
}

/** Runs a whole exploration: runs, findings, shrinking and recording. */
export async function explore(o: ExploreOptions, onProgress?: (done: number) => void): Promise<ExploreReport> {
  const config = configOf(o);
  const verdicts = await exploreSeeds(o.scenario, config, o.seeds, o.jobs, onProgress);
  const picked = selectFindings(verdicts, o.all);
  const perSeed = new Map<number, number>();
  for (const p of picked) perSeed.set(p.seed, (perSeed.get(p.seed) ?? 0) + 1);
  const found = picked.map((p, i) => {
    const name = perSeed.get(p.seed) === 1 ? `${o.scenario}-${p.seed}` : `${o.scenario}-${p.seed}-${p.found.kind}`;
    if (i < RECORD_MAX) return realize(o, config, p, `${o.outDir}/${name}.lstrace`);
    return {
      seed: p.seed,
      kind: p.found.kind,
      event: p.found.event,
      message: p.found.message,
      runsWithKind: p.count,
      trace: null,
      reproduce: reproduceCommand(o, p.seed),
      replay: null,
      shrunk: null,
    };
  });
  return { scenario: o.scenario, runs: verdicts.length, found, crossRun: crossRunReversals(verdicts) };
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
    `explore ${o.scenario}: ${r.runs} runs (seeds 1..${o.seeds}, strategy ${o.strategy}, ${o.jobs} jobs): ` +
      (kinds === 0 && r.crossRun.length === 0 ? "nothing found" : `${kinds} violation kind(s) found`),
  );
  for (const f of r.found) {
    console.log(red(`${f.kind}: seed ${f.seed}, event ${f.event} (${f.runsWithKind} of ${r.runs} runs)`));
    for (const line of f.message.split("\n")) console.log(`  ${line}`);
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
  const o = parseExploreArgs(args);
  const bar = progressBar(o.seeds, `explore ${o.scenario}`);
  let r: ExploreReport;
  try {
    r = await explore(o, (d) => bar.update(d));
  } finally {
    bar.clear();
  }
  if (o.json) {
    const found = r.found.map((f) => ({
      seed: f.seed,
      kind: f.kind,
      trace: f.trace,
      reproduce: f.reproduce,
      replay: f.replay,
      event: f.event,
      message: f.message,
    }));
    console.log(JSON.stringify({ scenario: r.scenario, runs: r.runs, found, crossRun: r.crossRun }));
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
