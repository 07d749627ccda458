/**
 * `deno task replay FILE... [--at N] [--no-rerun] [--no-rerun-trace] [--update] [--json] [--junit REPORT]`:
 * checks integrity, rebuilds state and checks every checkpoint digest, then
 * re-executes each run with the current code and compares event by event.
 * A trace of a user's scenario module re-imports that module (from the path
 * in the header) and says in one line when the file changed since.
 * Exit 0 identical, 1 diverged (first divergence printed), 2 unreadable.
 * When a re-execution diverges it is saved beside the trace as
 * `NAME.rerun.lstrace` (atomically; `--no-rerun-trace` skips it) and a
 * viewer link to the comparison of the two runs is printed.
 * `--update` re-records the trace from its header after an intended change;
 * `--junit` also writes a JUnit XML report, one test case per trace.
 * @module
 */
import { parseOptions } from "./_help.ts";
import { checkTrace, readTraceHeader, replayFile, type ReplayResult } from "../replay/mod.ts";
import type { TraceHeader } from "../format/format.ts";
import { intFlag, parse, UsageError } from "./_args.ts";
import { recordRun } from "./run.ts";
import { prepareReplay } from "./_scenario.ts";
import { junitReport } from "./_junit.ts";
import { compareLink, viewerLink } from "../viewer/link.ts";
import { checkInputFile, checkOutFile, writeAtomically } from "./_files.ts";
import { printAt } from "./_replay_at.ts";

export { stateText } from "./_replay_at.ts";

/** The `replay` command. */
export async function cmdReplay(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, parseOptions("replay"));
  if (positionals.length === 0) throw new UsageError("replay needs at least one trace file");
  for (const f of positionals) checkInputFile(f);
  const json = values.json === true;
  if (values.at !== undefined) {
    if (positionals.length !== 1) throw new UsageError("--at takes exactly one trace file");
    return printAt(positionals[0], intFlag("at", values.at, 0), json);
  }
  if (values.update && values["no-rerun"]) throw new UsageError("--update and --no-rerun do not go together");
  if (values.update) return await update(positionals, json);
  const junit = values.junit as string | undefined;
  if (junit !== undefined) checkOutFile("--junit", junit, positionals);
  const rerun = values["no-rerun"] !== true;
  const saveRerun = rerun && values["no-rerun-trace"] !== true;
  const results: Replayed[] = [];
  for (const f of withoutSavedReruns(positionals)) {
    let prep;
    if (rerun) {
      prep = await prepareReplay(readHeader(f));
      for (const n of prep.notices) console.error(`lockstep: ${f}: ${n}`);
    }
    const r: Replayed = replayFile(f, { rerun, resolve: prep?.resolve });
    if (r.rerun === "diverged" && saveRerun) r.rerunTrace = saveRerunTrace(f, prep!.loaded);
    results.push(r);
  }
  if (junit !== undefined) writeAtomically(junit, (tmp) => Deno.writeTextFileSync(tmp, junitReport(results)));
  if (json) console.log(JSON.stringify(results.length === 1 ? results[0] : { files: results }));
  else for (const r of results) printResult(r);
  return results.some((r) => r.rerun === "diverged" || r.digestMismatch !== null) ? 1 : 0;
}

/**
 * The files to replay: a saved re-execution `NAME.rerun.lstrace` is left out
 * (with a line on stderr) when its `NAME.lstrace` is also given, as a shell
 * glob such as `tests/golden/*.lstrace` gives both after a divergence. The
 * re-execution is the current code's run, not a recorded baseline: replaying
 * it with the golden set would count one regression twice and, once the
 * baseline is re-recorded, report a stale file. Given alone, it is replayed.
 */
export function withoutSavedReruns(files: readonly string[]): string[] {
  const given = new Set(files);
  return files.filter((f) => {
    if (!f.endsWith(".rerun.lstrace")) return true;
    const origin = `${f.slice(0, -".rerun.lstrace".length)}.lstrace`;
    if (!given.has(origin)) return true;
    console.error(`lockstep: ${f}: skipped, the saved re-execution of ${origin} (replay it on its own to check it)`);
    return false;
  });
}

/** A replay result, with the path of the saved re-execution when it diverged (else null or absent). */
type Replayed = ReplayResult & { rerunTrace?: string | null };

/** Where `replay` saves the re-execution of `file`: `NAME.rerun.lstrace` beside it. */
export function rerunTracePath(file: string): string {
  return `${file.replace(/\.lstrace$/, "")}.rerun.lstrace`;
}

/**
 * Records the re-execution of the trace `file` with the current code (its
 * header's scenario, seed and configuration, following its recorded
 * schedule decisions: the same events the comparison saw) into
 * `NAME.rerun.lstrace` beside it, atomically. Returns the path, or null
 * (with a line on stderr) when it cannot be written.
 */
function saveRerunTrace(file: string, loaded: Awaited<ReturnType<typeof prepareReplay>>["loaded"]): string | null {
  const out = rerunTracePath(file);
  const h = readHeader(file);
  try {
    recordRun({
      scenario: loaded.scenario,
      module: loaded.module,
      seed: h.seed,
      overrides: {},
      config: { ...h.config },
      out,
      decisions: checkTrace(file).decisions,
    });
    return out;
  } catch (err) {
    if (!(err instanceof Deno.errors.PermissionDenied || err instanceof Deno.errors.NotCapable)) throw err;
    console.error(
      `lockstep: ${file}: the re-execution was not saved (${out}): ${(err as Error).message.split("\n")[0]}`,
    );
    return null;
  }
}

/** The header alone (readable also for a trace of an older format version, so --update can re-record it). */
function readHeader(f: string): TraceHeader {
  return readTraceHeader(f);
}

/**
 * Re-records each trace from its header. Every header is read and its
 * scenario (built-in, or the user's module) and configuration checked before
 * any file is touched; each new trace is written beside the old one and
 * renamed over it only when whole, so a refused, failed or killed update
 * leaves the old trace as it was.
 */
async function update(files: string[], json: boolean): Promise<number> {
  const plans = [];
  for (const f of files) {
    const h = readHeader(f);
    const { loaded, notices } = await prepareReplay(h); // ConfigError (exit 2) before touching any file
    for (const n of notices) console.error(`lockstep: ${f}: ${n}`);
    plans.push({ file: f, h, loaded });
  }
  const out = [];
  for (const { file, h, loaded } of plans) {
    const s = recordRun({
      scenario: loaded.scenario,
      module: loaded.module,
      seed: h.seed,
      overrides: {},
      config: { ...h.config },
      out: file,
    });
    out.push({ file, events: s.events, traceBytes: s.traceBytes });
  }
  if (json) console.log(JSON.stringify(out.length === 1 ? out[0] : { files: out }));
  else for (const o of out) console.log(`${o.file}: re-recorded, ${o.events} events, ${o.traceBytes} bytes`);
  return 0;
}

function printResult(r: Replayed): void {
  const dg = r.digestMismatch === null
    ? `${r.digestsChecked} digests ok`
    : `DIGEST MISMATCH at event ${r.digestMismatch.event} (${r.digestMismatch.parts.join(", ")})`;
  console.log(`${r.file}: ${r.events} events, ${dg}, rerun ${r.rerun}`);
  for (const v of r.violations) console.log(`  violation ${v.kind} at event ${v.event}: ${v.message}`);
  const d = r.divergence;
  if (d === null) return;
  console.log(`  first divergence at event ${d.event} (t=${d.tNs} ns, cpu${d.cpu}, thread ${d.thread})`);
  for (const b of d.before) console.log(`    before:   ${JSON.stringify(b)}`);
  console.log(`    recorded: ${JSON.stringify(d.recorded)}`);
  console.log(`    produced: ${JSON.stringify(d.produced)}`);
  console.log(`  view it: ${viewerLink(r.file, d.event)}`);
  if (r.rerunTrace) {
    console.log(`  re-execution saved: ${r.rerunTrace}`);
    console.log(`  compare: ${compareLink(r.file, r.rerunTrace)}`);
  }
}
