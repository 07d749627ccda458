/**
 * The lockstep command line: `run`, `replay`, `explore`, `export`,
 * `recover`, `scenarios`. Exit status 0 success, 1 the check found
 * something, 2 a problem the user can fix (bad input, a damaged trace, a
 * missing or unwritable file, a full disk: one line on stderr, never a stack
 * trace). An output closed early by its reader (`| head`) ends the command
 * quietly with 0. Anything else is a bug in lockstep: status 3 with a line
 * asking for a report.
 * @module
 */
import { UsageError } from "./_usage.ts";
import { replayAt } from "./_replay_at.ts";
import { helpText, wantsHelp } from "./_help.ts";

/**
 * Each command's module is imported when the command runs, not before: a
 * new process then loads only what its command needs (`replay --at` a
 * twentieth of the whole graph, and no node: polyfill but node:zlib).
 */
const COMMANDS: Record<string, (args: string[]) => Promise<number> | number> = {
  run: async (a) => (await import("./run.ts")).cmdRun(a),
  replay: async (a) => replayAt(a) ?? (await import("./replay.ts")).cmdReplay(a),
  explore: async (a) => (await import("./explore.ts")).cmdExplore(a),
  export: async (a) => (await import("./export.ts")).cmdExport(a),
  recover: async (a) => (await import("./recover.ts")).cmdRecover(a),
  scenarios: async (a) => (await import("./scenarios.ts")).cmdScenarios(a),
};

/** Runs one command; returns the exit status. */
export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  const fn = COMMANDS[cmd ?? ""];
  try {
    const help = askedHelp(cmd, rest);
    if (help !== undefined) {
      console.log(help);
      return 0;
    }
    if (!fn) {
      throw new UsageError(
        `${cmd === undefined ? "no command" : `unknown command '${cmd}'`} (${
          Object.keys(COMMANDS).join(", ")
        }; help lists them)`,
      );
    }
    return await fn(rest);
  } catch (e) {
    const kind = classify(e);
    if (kind === "closed-output") return 0;
    if (kind === "input") {
      console.error(`lockstep: ${oneLine((e as Error).message)}${recoverHint(e)}`);
      return 2;
    }
    throw e;
  }
}

/**
 * The help `argv` asks for, if it does: `help [COMMAND]`, `--help`/`-h`
 * alone or after a command (`explore merge --help` names the subcommand).
 * An unknown command after `help` is a usage error.
 */
function askedHelp(cmd: string | undefined, rest: readonly string[]): string | undefined {
  if (cmd === "--help" || cmd === "-h") return helpText();
  if (cmd === "help") {
    if (rest.length === 0) return helpText();
    const name = rest.join(" ");
    const text = helpText(name);
    if (text === undefined) throw new UsageError(`help: no command '${name}' (${Object.keys(COMMANDS).join(", ")})`);
    return text;
  }
  if (cmd === undefined || !(cmd in COMMANDS) || !wantsHelp(rest)) return undefined;
  return helpText(cmd === "explore" && rest[0] === "merge" ? "explore merge" : cmd);
}

/**
 * What an exception means for the exit status: "input" for anything the user
 * can cause or fix (exit 2), "closed-output" for a reader that went away
 * (a broken pipe: end quietly), "bug" for the rest (exit 3).
 */
export function classify(e: unknown): "input" | "closed-output" | "bug" {
  if (!(e instanceof Error)) return "bug";
  if (e instanceof Deno.errors.BrokenPipe || (e as { code?: unknown }).code === "EPIPE") return "closed-output";
  // By name: the classes live in modules this entry does not load up front (core/config.ts, format/error.ts).
  if (e instanceof UsageError || e.name === "UsageError" || e.name === "ConfigError" || e.name === "TraceError") {
    return "input";
  }
  // An operating system error (ENOENT, EACCES, ENOSPC, EISDIR, EROFS, ...): the file system said no.
  // (BadResource is a closed handle used again: lockstep's own mistake.)
  if (e instanceof Deno.errors.BadResource) return "bug";
  if (Object.values(Deno.errors).some((c) => e instanceof c)) return "input";
  const code = (e as { code?: unknown }).code;
  return typeof code === "string" && /^E[A-Z0-9]+$/.test(code) ? "input" : "bug";
}

/** A cut-short or damaged trace: point at `recover`, which keeps its whole blocks. */
function recoverHint(e: unknown): string {
  if (!(e instanceof Error) || e.name !== "TraceError") return "";
  const { recovered, code } = e as { recovered?: number; code?: string };
  if (code !== "truncated" && !(recovered !== undefined && recovered > 0)) return "";
  // Events the rebuilt state refuses are inside whole blocks: recover would copy them as they are.
  if (e.message.includes("rebuilt state")) return "";
  return ` (\`deno task recover FILE\` writes a valid trace of the ${recovered ?? 0} events before it)`;
}

function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, "; ");
}

if (import.meta.main) {
  let code: number;
  try {
    code = await main(Deno.args);
  } catch (e) {
    // A bug, not bad input: one line, then how to report it (the stack with LOCKSTEP_DEBUG=1).
    console.error(`lockstep: internal error: ${oneLine(e instanceof Error ? e.message : String(e))}`);
    console.error(
      "lockstep: this is a bug in lockstep, not in your input: please report it with the command line " +
        "and the trace (LOCKSTEP_DEBUG=1 prints the stack)",
    );
    if (Deno.env.get("LOCKSTEP_DEBUG") && e instanceof Error) console.error(e.stack);
    code = 3;
  }
  Deno.exit(code);
}
