/**
 * The lockstep command line: `run`, `replay`, `explore`, `export`,
 * `scenarios`. Exit status 0 success, 1 the check found something, 2 bad
 * input (one line on stderr, never a stack trace).
 * @module
 */
import { UsageError } from "./_args.ts";
import { cmdRun } from "./run.ts";
import { cmdScenarios } from "./scenarios.ts";
import { cmdExport } from "./export.ts";
import { cmdReplay } from "./replay.ts";
import { cmdExplore } from "./explore.ts";
import { ConfigError } from "../core/config.ts";

const COMMANDS: Record<string, (args: string[]) => Promise<number> | number> = {
  run: cmdRun,
  replay: cmdReplay,
  explore: cmdExplore,
  export: cmdExport,
  scenarios: cmdScenarios,
};

/** Runs one command; returns the exit status. */
export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  const fn = COMMANDS[cmd ?? ""];
  try {
    if (!fn) throw new UsageError(`unknown command '${cmd ?? ""}' (run, replay, explore, export, scenarios)`);
    return await fn(rest);
  } catch (e) {
    if (isInputError(e)) {
      console.error(`lockstep: ${oneLine((e as Error).message)}`);
      return 2;
    }
    throw e;
  }
}

function isInputError(e: unknown): boolean {
  if (e instanceof UsageError || e instanceof ConfigError) return true;
  if (e instanceof Error && (e.name === "TraceError" || e instanceof Deno.errors.NotFound)) return true;
  return e instanceof Error && e instanceof Deno.errors.PermissionDenied;
}

function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, "; ");
}

if (import.meta.main) {
  let code: number;
  try {
    code = await main(Deno.args);
  } catch (e) {
    // A bug, not bad input: still one line, but say it is internal.
    console.error(`lockstep: internal error: ${oneLine(e instanceof Error ? e.message : String(e))}`);
    code = 3;
  }
  Deno.exit(code);
}
