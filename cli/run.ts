/**
 * `deno task run [SCENARIO | ./file.ts] [--seed N] [--set k=v]... [--out FILE | --no-trace]
 * [--compare key=v1,v2,...] [--sweep key=v1,v2,...] [--json]`: records a run
 * into a trace and prints its summary; `--no-trace` runs without a writer (to
 * measure what recording costs); `--compare` runs one variant per value
 * with the same seed and prints one table with ratios against the first;
 * `--sweep` repeats that (or the single run) at each value of another key:
 * one table per point with `--compare`, one table across the points
 * without, and with `--json` `{ "sweep": key, "points": [{ "value", "runs" }] }`.
 * @module
 */
import { parseOptions } from "./_help.ts";
import type { EventRecord } from "../core/event.ts";
import type { DecisionFeed } from "../core/machine.ts";
import type { Config } from "../core/config.ts";
import { checkScenarioConfig, execute, resolveScenarioConfig } from "../core/run.ts";
import type { Scenario } from "../core/scenario.ts";
import { DEFAULT_SCENARIO, findScenario } from "../drivers/mod.ts";
import type { ScenarioModuleRef } from "../format/format.ts";
import { type LoadedScenario, loadScenario } from "./_scenario.ts";
import { VALIDATE_EVENTS_ENV } from "../recorder/writer.ts";
import { ThreadedTraceWriter } from "../recorder/threaded.ts";
import { TOOL } from "../core/version.ts";
import { intFlag, parse, setFlags, stderrIsTty, UsageError } from "./_args.ts";
import { printCompare, printSummary, type Summary } from "./_summary.ts";
import { checkOutDir, checkOutFile, writeAtomically } from "./_files.ts";

/** Options of one recorded run. */
export interface RecordOptions {
  /** A built-in scenario's name, or a scenario object (a user's, loaded from `module`). */
  scenario: string | Scenario;
  /** The user's module the scenario came from; recorded in the header so replay can re-import it. */
  module?: ScenarioModuleRef;
  seed: number;
  overrides: Record<string, string>;
  /** A fully resolved configuration (from a trace header); overrides are then ignored. */
  config?: Config;
  /** The trace file to write; null runs without a writer (`--no-trace`: the simulation alone). */
  out: string | null;
  progress?: boolean;
  /** Follow these schedule decisions instead of drawing them (a shrunk exploration run). */
  decisions?: DecisionFeed;
}

/**
 * Runs a scenario into a trace file and returns its summary. The trace is
 * written beside `out` and renamed over it only when the run completed, so a
 * failed or killed run leaves an existing `out` as it was.
 */
export function recordRun(o: RecordOptions): Summary {
  const scenario = typeof o.scenario === "string" ? findScenario(o.scenario) : o.scenario;
  const config = o.config !== undefined
    ? checkScenarioConfig(scenario, o.config).config
    : resolveScenarioConfig(scenario, o.overrides);
  if (o.out === null) return recordInto(null, o, scenario, config);
  const target = o.out;
  return writeAtomically(target, (path) => ({ ...recordInto(path, o, scenario, config), out: target }));
}

/** One run into the trace file at `path` (null: no writer, `run --no-trace`). */
function recordInto(path: string | null, o: RecordOptions, scenario: Scenario, config: Config): Summary {
  let writer: ThreadedTraceWriter | undefined;
  if (path !== null) {
    // Encoded, compressed and written on a worker thread for a long run (recorder/threaded.ts): the same bytes.
    writer = ThreadedTraceWriter.create(path, {
      tool: TOOL,
      scenario: scenario.name,
      seed: o.seed,
      cpus: Number(config.cpus),
      config,
      inputs: [],
      ...(o.module !== undefined ? { module: o.module } : {}),
    }, { trusted: o.module === undefined && !validateEvents() });
  }
  const sinks = [...(writer ? [writer] : []), ...(o.progress ? [progressSink()] : [])];
  const t0 = performance.now();
  let out;
  try {
    out = execute(scenario, { seed: o.seed, config, sinks, decisions: o.decisions });
  } finally {
    writer?.close();
  }
  const wallMs = performance.now() - t0;
  const events = out.result.events;
  return {
    scenario: scenario.name,
    seed: o.seed,
    config,
    events,
    simNs: out.result.simNs,
    wallMs: Math.round(wallMs * 10) / 10,
    eventsPerSec: Math.round(events / Math.max(wallMs, 0.001) * 1000),
    traceBytes: writer?.bytesWritten ?? 0,
    bytesPerEvent: Math.round(((writer?.bytesWritten ?? 0) / Math.max(1, events)) * 100) / 100,
    out: o.out,
    end: out.result.reason,
    metrics: out.metrics,
    violations: out.result.violations.map((v) => ({ kind: v.kind, event: v.event, message: v.message })),
  };
}

/**
 * Whether the writer checks every event against the schema: always for a
 * user's scenario module (its code may emit anything), and for shipped
 * scenarios when {@link VALIDATE_EVENTS_ENV} is `1` (the tests); otherwise the
 * writer trusts the machine's records (TraceWriterOptions.trusted).
 */
function validateEvents(): boolean {
  try {
    return Deno.env.get(VALIDATE_EVENTS_ENV) === "1";
  } catch {
    return false; // no --allow-env: the default
  }
}

/** A sink that shows progress on stderr every million events (terminal only). */
function progressSink() {
  const enc = new TextEncoder();
  return {
    onEvent(e: EventRecord) {
      if ((e.index & 0xfffff) === 0 && e.index > 0) {
        Deno.stderr.writeSync(
          enc.encode(`\r  ${(e.index / 1e6).toFixed(0)}M events, t=${(e.tNs / 1e6).toFixed(1)} ms`),
        );
      }
    },
    onEnd() {
      Deno.stderr.writeSync(enc.encode("\r\x1b[K"));
    },
  };
}

/** The `run` command. */
export async function cmdRun(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, parseOptions("run"));
  if (positionals.length > 1) throw new UsageError(`run takes one scenario, got ${positionals.join(" ")}`);
  const loaded = await loadScenario(positionals[0] ?? DEFAULT_SCENARIO);
  const name = loaded.scenario.name;
  const seed = intFlag("seed", values.seed, 1);
  const overrides = setFlags(values.set);
  const json = values.json === true;
  const progress = !json && stderrIsTty();
  const noTrace = values["no-trace"] === true;
  if (noTrace && values.out !== undefined) throw new UsageError("--no-trace writes no file: drop --out");
  if (noTrace && (values.compare !== undefined || values.sweep !== undefined)) {
    throw new UsageError("--no-trace does not combine with --compare or --sweep");
  }
  const outDir = values.out as string | undefined;
  if ((values.sweep !== undefined || values.compare !== undefined) && outDir !== undefined) {
    checkOutDir("--out", outDir);
  }
  if (values.sweep !== undefined) {
    const compare = values.compare !== undefined ? keyValues("compare", String(values.compare)) : null;
    return runSweep(loaded, seed, overrides, keyValues("sweep", String(values.sweep)), compare, json, progress, outDir);
  }
  if (values.compare !== undefined) {
    const [key, vals] = keyValues("compare", String(values.compare));
    const runs = runVariants(loaded, seed, overrides, key, vals, progress, outDir);
    if (json) console.log(JSON.stringify({ compare: key, runs }));
    else printCompare(key, vals, runs);
    return runs.some((r) => r.violations.length > 0) ? 1 : 0;
  }
  const out = noTrace ? null : (values.out as string | undefined) ?? `runs/${name}-${seed}.lstrace`;
  if (out !== null) checkOutFile("--out", out);
  const s = recordRun({ scenario: loaded.scenario, module: loaded.module, seed, overrides, out, progress });
  if (json) console.log(JSON.stringify(s));
  else printSummary(s);
  return s.violations.length > 0 ? 1 : 0;
}

/** `key=v1,v2,...` of --compare or --sweep. */
function keyValues(flag: string, spec: string): [string, string[]] {
  const eq = spec.indexOf("=");
  if (eq <= 0) throw new UsageError(`--${flag} wants key=v1,v2,..., got '${spec}'`);
  const key = spec.slice(0, eq);
  const vals = spec.slice(eq + 1).split(",").filter((v) => v !== "");
  if (vals.length < 1) throw new UsageError(`--${flag} ${key}: no values`);
  return [key, vals];
}

const safeName = (v: string) => v.replace(/[^A-Za-z0-9._-]/g, "_");

/** One recorded run per value of `key` (validated before any runs). */
function runVariants(
  loaded: LoadedScenario,
  seed: number,
  overrides: Record<string, string>,
  key: string,
  vals: string[],
  progress: boolean,
  outDir: string | undefined,
  tag = "",
): Summary[] {
  for (const v of vals) resolveScenarioConfig(loaded.scenario, { ...overrides, [key]: v });
  const name = loaded.scenario.name;
  return vals.map((v) =>
    recordRun({
      scenario: loaded.scenario,
      module: loaded.module,
      seed,
      overrides: { ...overrides, [key]: v },
      out: `${outDir ?? "runs"}/${name}-${seed}${tag}-${key}=${safeName(v)}.lstrace`,
      progress,
    })
  );
}

function runSweep(
  loaded: LoadedScenario,
  seed: number,
  overrides: Record<string, string>,
  [key, vals]: [string, string[]],
  compare: [string, string[]] | null,
  json: boolean,
  progress: boolean,
  outDir: string | undefined,
): number {
  if (compare !== null && compare[0] === key) throw new UsageError(`--sweep and --compare both vary ${key}`);
  // Validate every point (and every variant at it) before running any.
  for (const v of vals) {
    const o = { ...overrides, [key]: v };
    if (compare === null) resolveScenarioConfig(loaded.scenario, o);
    else for (const c of compare[1]) resolveScenarioConfig(loaded.scenario, { ...o, [compare[0]]: c });
  }
  const points: { value: string; runs: Summary[] }[] = [];
  for (const v of vals) {
    const o = { ...overrides, [key]: v };
    const runs = compare === null
      ? runVariants(loaded, seed, overrides, key, [v], progress, outDir)
      : runVariants(loaded, seed, o, compare[0], compare[1], progress, outDir, `-${key}=${safeName(v)}`);
    points.push({ value: v, runs });
    if (!json && compare !== null) {
      console.log(`${key} = ${v}`);
      printCompare(compare[0], compare[1], runs);
      console.log("");
    }
  }
  if (json) console.log(JSON.stringify({ sweep: key, points }));
  else if (compare === null) printCompare(key, vals, points.map((p) => p.runs[0]));
  return points.some((p) => p.runs.some((r) => r.violations.length > 0)) ? 1 : 0;
}
