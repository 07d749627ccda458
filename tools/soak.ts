/**
 * `deno task soak [--kills N] [--seed S]`: kill -9 at random moments during
 * `run --out`, `replay --update` and `export --out` (in turn), then check
 * that nothing was lost:
 *
 * - a killed `run`: the target is absent or a whole trace; the partial
 *   temporary file beside it is recovered (`recover`) into a trace that
 *   replays (`--no-rerun`);
 * - a killed `replay --update`: the trace is byte for byte what it was (the
 *   re-recording is deterministic, so also when the rename happened);
 * - a killed `export --out`: the output is its old content or the whole export.
 *
 * Prints counts; exits 1 when any file is unrecoverable or changed.
 * @module
 */
import { join } from "node:path";
import { Prng } from "../core/prng.ts";
import { checkTrace, TraceReader } from "../replay/mod.ts";
import { salvageTrace } from "../cli/recover.ts";
import { intFlag, parse } from "../cli/_args.ts";

const MAIN = new URL("../cli/main.ts", import.meta.url).pathname;
const PERMS = ["--allow-read", "--allow-write", "--allow-env"];
/** A run long enough that many kills land while it writes (about 1.5 MB of trace). */
const RUN = ["taskq-demo", "--set", "sim.durationNs=100000000"];

/** Counts of a soak. */
export interface SoakReport {
  kills: number;
  /** Kills per command. */
  byPhase: Record<string, number>;
  /** Partial recordings (temporary files) recovered into traces that replay. */
  recovered: number;
  /** Events kept in the recovered traces. */
  recoveredEvents: number;
  /** Killed before the header was written (an empty or header-less temporary file: nothing to keep). */
  beforeHeader: number;
  /** Killed after the rename: the target was whole. */
  completed: number;
  /** Killed before anything was written (still starting up). */
  beforeStart: number;
  /** Files left unrecoverable, changed or partial: each one a failure. */
  failures: string[];
}

function spawnKilled(args: string[], delayMs: number): Promise<void> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...PERMS, MAIN, ...args],
    stdout: "null",
    stderr: "null",
  }).spawn();
  const t = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch {
      // Already ended.
    }
  }, delayMs);
  return child.status.then(() => clearTimeout(t));
}

async function timed(args: string[]): Promise<number> {
  const t0 = performance.now();
  const o = await new Deno.Command(Deno.execPath(), { args: ["run", ...PERMS, MAIN, ...args], stdout: "null" })
    .output();
  if (!o.success) throw new Error(`soak: ${args.join(" ")} failed: ${new TextDecoder().decode(o.stderr)}`);
  return performance.now() - t0;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** Temporary files left beside `target` (by writeAtomically). */
function leftovers(target: string): string[] {
  const dir = join(target, "..");
  const base = target.slice(dir.length + 1);
  return [...Deno.readDirSync(dir)].filter((e) => e.name.startsWith(`.${base}.`) && e.name.endsWith(".tmp"))
    .map((e) => join(dir, e.name));
}

/** Runs `kills` kill -9 rounds in a temporary folder (removed afterwards). */
export async function soak(kills: number, seed = 1, log?: (s: string) => void): Promise<SoakReport> {
  const dir = Deno.makeTempDirSync({ prefix: "lockstep-soak-" });
  // Interrupted (Ctrl-C, kill): still leave no temporary folder behind.
  const onSignal = () => {
    Deno.removeSync(dir, { recursive: true });
    Deno.exit(130);
  };
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  const r: SoakReport = {
    kills: 0,
    byPhase: { run: 0, update: 0, export: 0 },
    recovered: 0,
    recoveredEvents: 0,
    beforeHeader: 0,
    completed: 0,
    beforeStart: 0,
    failures: [],
  };
  try {
    const base = join(dir, "base.lstrace");
    const runMs = await timed(["run", ...RUN, "--out", base]);
    const updateMs = await timed(["replay", "--update", base]);
    const fullExport = join(dir, "full.ndjson");
    const exportMs = await timed(["export", base, "--format", "ndjson", "--out", fullExport]);
    // Startup (loading the code) is most of a short command: kills are aimed after it, at the writing.
    const startMs = await timed(["scenarios"]);
    const baseBytes = Deno.readFileSync(base);
    const exportBytes = Deno.readFileSync(fullExport);
    log?.(
      `soak: startup ${startMs.toFixed(0)} ms, full run ${runMs.toFixed(0)} ms, update ${updateMs.toFixed(0)} ms, ` +
        `export ${exportMs.toFixed(0)} ms`,
    );
    const rng = new Prng(seed);
    for (let i = 0; i < kills; i++) {
      const phase = ["run", "update", "export"][i % 3];
      const window = phase === "run" ? runMs : phase === "update" ? updateMs : exportMs;
      const from = Math.min(startMs * 0.9, window * 0.5);
      const delay = from + rng.below(Math.ceil(window * 1.1 - from));
      if (phase === "run") {
        const out = join(dir, `r${i}.lstrace`);
        await spawnKilled(["run", ...RUN, "--seed", String(1 + (i % 5)), "--out", out], delay);
        checkRun(out, r);
      } else if (phase === "update") {
        const t = join(dir, `u${i}.lstrace`);
        Deno.writeFileSync(t, baseBytes);
        await spawnKilled(["replay", "--update", t], delay);
        if (!sameBytes(Deno.readFileSync(t), baseBytes)) r.failures.push(`${t}: changed by a killed --update`);
        for (const tmp of leftovers(t)) checkPartial(tmp, r);
      } else {
        const out = join(dir, `e${i}.ndjson`);
        Deno.writeTextFileSync(out, "old\n");
        await spawnKilled(["export", base, "--format", "ndjson", "--out", out], delay);
        const got = Deno.readFileSync(out);
        if (!sameBytes(got, exportBytes) && new TextDecoder().decode(got) !== "old\n") {
          r.failures.push(`${out}: neither the old content nor the whole export (${got.length} bytes)`);
        }
        for (const tmp of leftovers(out)) Deno.removeSync(tmp);
      }
      r.kills++;
      r.byPhase[phase]++;
      if ((i + 1) % 25 === 0) {
        log?.(
          `soak: ${i + 1} kills, ${r.recovered} partial recordings recovered (${r.recoveredEvents} events), ` +
            `${r.completed} completed, ${r.beforeStart} before any file, ${r.failures.length} failures`,
        );
      }
    }
  } finally {
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
    Deno.removeSync(dir, { recursive: true });
  }
  return r;
}

/** After a killed `run`: the target is absent or whole, and every partial temporary file recovers. */
function checkRun(out: string, r: SoakReport): void {
  const partial = leftovers(out);
  try {
    Deno.statSync(out);
    try {
      const c = checkTrace(out);
      if (c.mismatch !== null) r.failures.push(`${out}: digest mismatch`);
      else r.completed++;
    } catch (err) {
      r.failures.push(`${out}: the renamed trace is not whole: ${err instanceof Error ? err.message : err}`);
    }
    Deno.removeSync(out);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
    if (partial.length === 0) r.beforeStart++;
  }
  for (const tmp of partial) checkPartial(tmp, r);
}

/** A partial recording: recover it, and the result must read and fold strictly. */
function checkPartial(tmp: string, r: SoakReport): void {
  try {
    let headerWritten = true;
    try {
      TraceReader.open(tmp, { recover: true }).close();
    } catch {
      headerWritten = false; // killed before (or while) the header was written: nothing to keep
    }
    if (!headerWritten) {
      if (Deno.statSync(tmp).size > 4096) {
        r.failures.push(`${tmp}: unreadable header in a ${Deno.statSync(tmp).size}-byte file`);
      } else r.beforeHeader++;
      return;
    }
    const fixed = tmp + ".recovered.lstrace";
    const s = salvageTrace(tmp, fixed);
    const c = checkTrace(s.out ?? tmp);
    if (c.mismatch !== null) r.failures.push(`${tmp}: recovered trace has a digest mismatch`);
    if (c.events !== s.events) r.failures.push(`${tmp}: recovered ${s.events} events, read back ${c.events}`);
    r.recovered++;
    r.recoveredEvents += s.events;
    if (s.out !== null) Deno.removeSync(fixed);
  } catch (err) {
    r.failures.push(`${tmp}: unrecoverable: ${err instanceof Error ? err.message : err}`);
  } finally {
    Deno.removeSync(tmp);
  }
}

if (import.meta.main) {
  const { values } = parse(Deno.args, { kills: { type: "string" }, seed: { type: "string" } });
  const kills = intFlag("kills", values.kills, 30);
  const seed = intFlag("seed", values.seed, 1);
  const t0 = Date.now();
  const r = await soak(kills, seed, (s) => console.error(s));
  console.log(
    `soak: ${r.kills} kills (run ${r.byPhase.run}, update ${r.byPhase.update}, export ${r.byPhase.export}); ` +
      `${r.recovered} partial recordings recovered (${r.recoveredEvents} events kept), ${r.beforeHeader} killed before ` +
      `the header, ${r.beforeStart} before any file, ${r.completed} runs completed before the kill; ${r.failures.length} unrecoverable or changed files, ${
        ((Date.now() - t0) / 1000).toFixed(1)
      } s`,
  );
  for (const f of r.failures.slice(0, 20)) console.log(`  FAIL ${f}`);
  Deno.exit(r.failures.length === 0 ? 0 : 1);
}
