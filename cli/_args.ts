/**
 * Argument parsing shared by the commands (node:util parseArgs, strict).
 * @module
 */
import { parseArgs, type ParseArgsConfig } from "node:util";

import { UsageError } from "./_usage.ts";
export { intFlag, UsageError } from "./_usage.ts";

/** Parses `args` strictly; unknown flags and missing values become UsageError. */
export function parse(
  args: string[],
  options: NonNullable<ParseArgsConfig["options"]>,
): { values: Record<string, string | boolean | (string | boolean)[] | undefined>; positionals: string[] } {
  // node:util calls `--seed -1` "ambiguous" (-1 could be a flag); say what is wrong with the value instead.
  for (let i = 0; i + 1 < args.length; i++) {
    const name = args[i].startsWith("--") ? args[i].slice(2) : "";
    if (name !== "set" && options[name]?.type === "string" && /^-[\d.]/.test(args[i + 1])) {
      throw new UsageError(`--${name} wants a non-negative integer, got '${args[i + 1]}'`);
    }
  }
  try {
    const r = parseArgs({ args, options, allowPositionals: true, strict: true });
    return {
      values: r.values as Record<string, string | boolean | (string | boolean)[] | undefined>,
      positionals: r.positionals,
    };
  } catch (e) {
    throw new UsageError((e as Error).message.split("\n")[0]);
  }
}

/** `--set key=value` list into an object. */
export function setFlags(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  const list = v === undefined ? [] : Array.isArray(v) ? v : [v];
  for (const item of list) {
    const s = String(item);
    const i = s.indexOf("=");
    if (i <= 0) throw new UsageError(`--set wants key=value, got '${s}'`);
    out[s.slice(0, i)] = s.slice(i + 1);
  }
  return out;
}

/** True when stderr is a terminal (progress is shown only then). */
export function stderrIsTty(): boolean {
  try {
    return Deno.stderr.isTerminal();
  } catch {
    return false;
  }
}

/** Colour only on a terminal and without NO_COLOR. */
export function useColor(): boolean {
  return stderrIsTty() && !Deno.env.get("NO_COLOR");
}
