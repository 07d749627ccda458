/**
 * `deno task run [SCENARIO] [--seed N] [--set k=v]... [--out FILE]
 * [--compare key=v1,v2,...] [--json]`: records a run into a trace and prints
 * its summary; `--compare` runs one variant per value with the same seed and
 * prints one table with ratios against the first.
 * @module
 */
import type { EventRecord } from "../core/event.ts";
import type { DecisionFeed } from "../core/machine.ts";
import type { Config } from "../core/config.ts";
import type { Scenario } from "../core/scenario.ts";
import { findScenario, resolveScenarioConfig, runScenario } from "../drivers/mod.ts";
import { DEFAULT_SCENARIO } from "../drivers/mod.ts";
import { TraceWriter } from "../recorder/writer.ts";
import { TOOL } from "../core/version.ts";
import { intFlag, parse, setFlags, stderrIsTty, UsageError } from "./_args.ts";
import { printCompare, printSummary, type Summary } from "./_summary.ts";
import { checkOutDir, checkOutFile, writeAtomically } from "./_files.ts";

/** Options of one recorded run. */
export interface RecordOptions {
  scenario: string;
  seed: number;
  overrides: Record<string, string>;
  /** A fully resolved configuration (from a trace header); overrides are then ignored. */
  config?: Config;
  out: string;
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
  const scenario = findScenario(o.scenario);
  const config = o.config ?? resolveScenarioConfig(scenario, o.overrides);
  return writeAtomically(o.out, (path) => recordInto(path, o, scenario, config));
}

function recordInto(path: string, o: RecordOptions, scenario: Scenario, config: Config): Summary {
  const writer = TraceWriter.create(path, {
    tool: TOOL,
    scenario: scenario.name,
    seed: o.seed,
    cpus: Number(config.cpus),
    config,
    inputs: [],
  });
  const sinks = [writer, ...(o.progress ? [progressSink()] : [])];
  const t0 = performance.now();
  let out;
  try {
    out = runScenario({ scenario: scenario.name, seed: o.seed, config, sinks, decisions: o.decisions });
  } finally {
    writer.close();
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
    traceBytes: writer.bytesWritten,
    bytesPerEvent: Math.round((writer.bytesWritten / Math.max(1, events)) * 100) / 100,
    out: o.out,
    end: out.result.reason,
    metrics: out.metrics,
    violations: out.result.violations.map((v) => ({ kind: v.kind, event: v.event, message: v.message })),
  };
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
export function cmdRun(args: string[]): number {
  const { values, positionals } = parse(args, {
    seed: { type: "string" },
    set: { type: "string", multiple: true },
    out: { type: "string" },
    compare: { type: "string" },
    json: { type: "boolean" },
  });
  if (positionals.length > 1) throw new UsageError(`run takes one scenario, got ${positionals.join(" ")}`);
  const name = positionals[0] ?? DEFAULT_SCENARIO;
  findScenario(name);
  const seed = intFlag("seed", values.seed, 1);
  const overrides = setFlags(values.set);
  const json = values.json === true;
  const progress = !json && stderrIsTty();
  if (values.compare !== undefined) {
    return runCompare(name, seed, overrides, String(values.compare), json, progress, values.out as string | undefined);
  }
  const out = (values.out as string | undefined) ?? `runs/${name}-${seed}.lstrace`;
  checkOutFile("--out", out);
  const s = recordRun({ scenario: name, seed, overrides, out, progress });
  if (json) console.log(JSON.stringify(s));
  else printSummary(s);
  return s.violations.length > 0 ? 1 : 0;
}

function runCompare(
  name: string,
  seed: number,
  overrides: Record<string, string>,
  spec: string,
  json: boolean,
  progress: boolean,
  outDir: string | undefined,
): number {
  const eq = spec.indexOf("=");
  if (eq <= 0) throw new UsageError(`--compare wants key=v1,v2,..., got '${spec}'`);
  const key = spec.slice(0, eq);
  const vals = spec.slice(eq + 1).split(",").filter((v) => v !== "");
  if (vals.length < 1) throw new UsageError(`--compare ${key}: no values`);
  if (outDir !== undefined) checkOutDir("--out", outDir);
  // Validate every variant before running any.
  for (const v of vals) resolveScenarioConfig(findScenario(name), { ...overrides, [key]: v });
  const runs = vals.map((v) =>
    recordRun({
      scenario: name,
      seed,
      overrides: { ...overrides, [key]: v },
      out: `${outDir ?? "runs"}/${name}-${seed}-${key}=${v.replace(/[^A-Za-z0-9._-]/g, "_")}.lstrace`,
      progress,
    })
  );
  if (json) console.log(JSON.stringify({ compare: key, runs }));
  else printCompare(key, vals, runs);
  return runs.some((r) => r.violations.length > 0) ? 1 : 0;
}
