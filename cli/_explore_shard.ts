/**
 * Exploration across many machines: `explore SCENARIO --shard i/n` explores
 * every n-th seed and writes `shard.json` (its verdicts that found anything,
 * and its shrunk findings with their traces) into its output folder;
 * `explore merge DIR...` combines the shards into the report a single
 * machine would have printed for the whole seed range: the same findings
 * (lowest seed per kind, or every one with `--all`), the same counts, the
 * same reversals across runs, and traces with the same bytes (shrinking and
 * recording depend only on scenario, configuration, seed and kind).
 *
 * A merge refuses (exit 2) shards of different scenarios, configurations,
 * seed ranges, shard counts or lockstep versions; a missing shard is
 * reported with the seeds it would have covered, and the merge exits 1.
 * @module
 */
import { parseOptions } from "./_help.ts";
import { basename, join } from "node:path";
import { ConfigError } from "../core/config.ts";
import { TOOL } from "../core/version.ts";
import { canonicalJson } from "../format/format.ts";
import type { ScenarioModuleRef } from "../format/format.ts";
import { parse, UsageError } from "./_args.ts";
import type { Verdict } from "./_explore_run.ts";
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
import { writeAtomically } from "./_files.ts";

/** Marks a shard file. */
const SHARD_KIND = "lockstep-explore-shard";
/** Largest shard file read. */
const SHARD_BYTES_MAX = 256 * 1024 * 1024;

/** The content of `shard.json`. */
export interface ShardFile {
  readonly kind: typeof SHARD_KIND;
  readonly tool: string;
  /** Scenario name, and the argument it was given as (name or module path). */
  readonly scenario: string;
  readonly scenarioArg: string;
  readonly module: ScenarioModuleRef | null;
  readonly config: Record<string, unknown>;
  readonly seeds: number;
  readonly all: boolean;
  /** `--swarm` (absent in shards written before it: false). */
  readonly swarm?: boolean;
  readonly shard: Shard;
  /** Runs this shard made. */
  readonly runs: number;
  /** Verdicts with a finding, a lock order or a reversal (the others carry nothing a merge needs). */
  readonly verdicts: Verdict[];
  /** The shard's own findings, realized (traces in this folder). */
  readonly found: Finding[];
}

/** What a finished shard hands to {@link writeShard}. */
export interface ShardResult {
  readonly name: string;
  readonly scenarioArg: string;
  readonly moduleRef: ScenarioModuleRef | undefined;
  readonly config: Record<string, unknown>;
  readonly seeds: number;
  readonly all: boolean;
  readonly swarm: boolean;
  readonly verdicts: Verdict[];
  readonly found: Finding[];
}

/** Writes `DIR/shard.json` for a finished shard. */
export function writeShard(outDir: string, shard: Shard, r: ShardResult): string {
  const file: ShardFile = {
    kind: SHARD_KIND,
    tool: TOOL,
    scenario: r.name,
    scenarioArg: r.scenarioArg,
    module: r.moduleRef ?? null,
    config: r.config,
    seeds: r.seeds,
    all: r.all,
    swarm: r.swarm,
    shard,
    runs: r.verdicts.length,
    verdicts: r.verdicts.filter((v) => v.found.length > 0 || v.orders.length > 0 || v.reversals.length > 0),
    found: r.found,
  };
  Deno.mkdirSync(outDir, { recursive: true });
  const path = join(outDir, "shard.json");
  writeAtomically(path, (tmp) => Deno.writeTextFileSync(tmp, JSON.stringify(file) + "\n"));
  return path;
}

/** Reads and checks one shard folder's `shard.json`; ConfigError (exit 2) when it is not one. */
export function readShard(dir: string): ShardFile {
  const path = join(dir, "shard.json");
  let text: string;
  try {
    const st = Deno.statSync(path);
    if (!st.isFile) throw new ConfigError(`${path} is not a regular file`);
    if (st.size > SHARD_BYTES_MAX) throw new ConfigError(`${path} is larger than 256 MiB`);
    text = Deno.readTextFileSync(path);
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    throw new ConfigError(`${dir}: no shard result (${path}: ${(e as Error).message.split("\n")[0]})`);
  }
  let f: ShardFile;
  try {
    f = JSON.parse(text);
  } catch {
    throw new ConfigError(`${path} is not JSON`);
  }
  const bad = shardProblem(f);
  if (bad !== undefined) throw new ConfigError(`${path}: ${bad}`);
  return f;
}

function shardProblem(f: ShardFile): string | undefined {
  if (typeof f !== "object" || f === null || f.kind !== SHARD_KIND) return "not an exploration shard";
  if (typeof f.tool !== "string" || typeof f.scenario !== "string" || typeof f.scenarioArg !== "string") {
    return "bad tool or scenario";
  }
  if (typeof f.config !== "object" || f.config === null) return "bad config";
  if (!Number.isSafeInteger(f.seeds) || f.seeds < 1) return "bad seeds";
  const sh = f.shard;
  if (typeof sh !== "object" || sh === null || !Number.isSafeInteger(sh.count) || !Number.isSafeInteger(sh.index)) {
    return "bad shard";
  }
  if (sh.count < 1 || sh.index < 0 || sh.index >= sh.count) return "bad shard";
  if (!Array.isArray(f.verdicts) || !Array.isArray(f.found) || !Number.isSafeInteger(f.runs)) return "bad results";
  for (const v of f.verdicts) {
    if (!Number.isSafeInteger(v?.seed) || (v.seed - 1) % sh.count !== sh.index || v.seed > f.seeds) {
      return `verdict of seed ${v?.seed} does not belong to shard ${sh.index}/${sh.count}`;
    }
    if (!Array.isArray(v.found) || !Array.isArray(v.orders) || !Array.isArray(v.reversals)) return "bad verdict";
  }
  const expected = Math.max(0, Math.ceil((f.seeds - sh.index) / sh.count));
  if (f.runs !== expected) return `ran ${f.runs} seeds, shard ${sh.index}/${sh.count} of ${f.seeds} has ${expected}`;
  return undefined;
}

/** A merge's result: the single-machine report, and the shards that were missing. */
export interface MergeResult {
  readonly report: ExploreReport;
  /** Missing shard indexes with the seeds they cover (as "i+1, i+1+n, ..."). */
  readonly missing: { shard: number; seeds: string }[];
}

/** Merges shard folders; ConfigError when they do not belong to one exploration. */
export function mergeShards(dirs: string[]): MergeResult {
  if (dirs.length === 0) throw new UsageError("explore merge needs at least one shard folder");
  const shards = dirs.map((d) => ({ dir: d, f: readShard(d) }));
  const first = shards[0].f;
  const same = (what: string, a: unknown, b: unknown, dir: string) => {
    if (canonicalJson(a) !== canonicalJson(b)) {
      throw new ConfigError(`${dir}: ${what} differs from ${shards[0].dir}'s; not one exploration`);
    }
  };
  const byIndex = new Map<number, { dir: string; f: ShardFile }>();
  for (const s of shards) {
    same("lockstep version", s.f.tool, first.tool, s.dir);
    same("scenario", [s.f.scenario, s.f.module?.sha256 ?? null], [first.scenario, first.module?.sha256 ?? null], s.dir);
    same("configuration", s.f.config, first.config, s.dir);
    same("seed range", s.f.seeds, first.seeds, s.dir);
    same("--all", s.f.all, first.all, s.dir);
    same("--swarm", s.f.swarm ?? false, first.swarm ?? false, s.dir);
    same("shard count", s.f.shard.count, first.shard.count, s.dir);
    if (byIndex.has(s.f.shard.index)) {
      throw new ConfigError(`${s.dir}: shard ${s.f.shard.index} is also in ${byIndex.get(s.f.shard.index)!.dir}`);
    }
    byIndex.set(s.f.shard.index, s);
  }
  const n = first.shard.count;
  const missing: { shard: number; seeds: string }[] = [];
  for (let i = 0; i < n; i++) {
    if (!byIndex.has(i) && i < first.seeds) missing.push({ shard: i, seeds: seedList(i, n, first.seeds) });
  }
  const verdicts = shards.flatMap((s) => s.f.verdicts).sort((a, b) => a.seed - b.seed);
  const runs = shards.reduce((a, s) => a + s.f.runs, 0);
  const picked = selectFindings(verdicts, first.all);
  const realized = new Map<string, { f: Finding; dir: string }>();
  for (const s of shards) for (const f of s.f.found) realized.set(`${f.seed}\u0000${f.kind}`, { f, dir: s.dir });
  const found: Finding[] = picked.map((p, i) => {
    const r = realized.get(`${p.seed}\u0000${p.found.kind}`);
    if (i < RECORD_MAX && r !== undefined && r.f.trace !== null) {
      const trace = join(r.dir, basename(r.f.trace));
      return { ...r.f, trace, replay: `deno task replay ${trace}`, runsWithKind: p.count };
    }
    return {
      seed: p.seed,
      kind: p.found.kind,
      event: p.found.event,
      message: r?.f.message ?? p.found.message,
      runsWithKind: p.count,
      trace: null,
      reproduce: r?.f.reproduce ?? "",
      replay: null,
      shrunk: null,
      ...(p.swarm !== undefined ? { faults: faultWords(p.swarm) } : {}),
    };
  });
  return { report: { scenario: first.scenario, runs, found, crossRun: crossRunReversals(verdicts) }, missing };
}

function seedList(i: number, n: number, seeds: number): string {
  const a = i + 1, b = a + n;
  if (b > seeds) return `${a}`;
  return b + n > seeds ? `${a}, ${b}` : `${a}, ${b}, ${b + n}, ... (step ${n}, up to ${seeds})`;
}

/** `deno task explore merge DIR... [--json]`. */
export function cmdMerge(args: string[]): number {
  const { values, positionals } = parse(args, parseOptions("explore merge"));
  const dirs = positionals;
  const { report, missing } = mergeShards(dirs);
  if (values.json === true) {
    console.log(JSON.stringify({ ...reportJson(report), missing }));
  } else {
    const kinds = new Set(report.found.map((f) => f.kind)).size;
    console.log(
      `explore merge ${report.scenario}: ${dirs.length} shard(s), ${report.runs} runs: ` +
        (kinds === 0 && report.crossRun.length === 0 ? "nothing found" : `${kinds} violation kind(s) found`),
    );
    for (const f of report.found) {
      console.log(`${f.kind}: seed ${f.seed}, event ${f.event} (${f.runsWithKind} of ${report.runs} runs)`);
      for (const line of f.message.split("\n")) console.log(`  ${line}`);
      if (f.faults !== undefined) console.log(`  faults on: ${f.faults.join(" ") || "none"}`);
      if (f.faultsNeeded !== undefined) console.log(`  faults needed: ${f.faultsNeeded.join(" ") || "none"}`);
      if (f.trace !== null) console.log(`  trace: ${f.trace}`);
      if (f.reproduce !== "") console.log(`  run (as explored): ${f.reproduce}`);
    }
    for (const c of report.crossRun) {
      console.log(`lock-order across runs: seeds ${c.seeds[0]} and ${c.seeds[1]}`);
      for (const line of c.message.split("\n")) console.log(`  ${line}`);
    }
    for (const m of missing) console.log(`missing shard ${m.shard}: seeds ${m.seeds} were not explored`);
  }
  if (missing.length > 0) return 1;
  return report.found.length > 0 || report.crossRun.length > 0 ? 1 : 0;
}
