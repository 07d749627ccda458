/**
 * `deno task recover FILE [--out FILE] [--json]`: salvages a cut-short or
 * damaged recording. Reads the whole blocks before the damage (the reader's
 * recover mode) and writes them through the ordinary writer into a new,
 * sealed trace with a footer and index, which every command opens. The
 * input is never modified; the default output is FILE with
 * `.recovered.lstrace` in place of `.lstrace`.
 *
 * Going through the reader and writer's public interfaces (not the bytes)
 * keeps salvage correct whatever the encoding becomes.
 * @module
 */
import { parseOptions } from "./_help.ts";
import { TraceReader } from "../replay/mod.ts";
import { TraceWriter } from "../recorder/mod.ts";
import type { TraceHeader } from "../format/format.ts";
import { parse, UsageError } from "./_args.ts";
import { checkInputFile, checkOutFile, writeAtomically } from "./_files.ts";

/** What {@link salvageTrace} did. */
export interface SalvageResult {
  /** The damaged input. */
  readonly input: string;
  /** The written trace, or null when the input was whole (nothing written). */
  readonly out: string | null;
  /** Events kept. */
  readonly events: number;
  /** Whole blocks read back from the input. */
  readonly blocks: number;
  /** The damage that ended the input ("" when it was whole). */
  readonly damage: string;
}

/** The default output of `recover FILE`. */
export function recoveredName(input: string): string {
  return input.endsWith(".lstrace") ? input.slice(0, -".lstrace".length) + ".recovered.lstrace" : input + ".recovered";
}

/**
 * Writes the events of `input` that read back (everything before its first
 * damage) into a sealed trace at `out`, atomically. A whole input is left
 * alone (`out` null in the result).
 */
export function salvageTrace(input: string, out: string): SalvageResult {
  const probe = TraceReader.open(input, { recover: true });
  let events: number, blocks: number, damage: string, whole: boolean;
  try {
    events = probe.scan();
    blocks = probe.blockCount;
    whole = probe.hasFooter && probe.damage === undefined;
    damage = probe.damage?.message ?? (probe.hasFooter ? "" : "the file has no footer (the writer was stopped)");
  } finally {
    probe.close();
  }
  if (whole) return { input, out: null, events, blocks, damage: "" };
  // The writer checks every event again; one it refuses (damage that passed
  // its checksum) ends the salvage there, as damage would.
  let kept = events;
  for (;;) {
    const refused = writeAtomically(out, (path) => copyEvents(input, path, kept));
    if (refused === null) break;
    kept = refused.index;
    damage = `event ${refused.index} is not valid (${refused.why})`;
  }
  return { input, out, events: kept, blocks, damage };
}

/** Copies events [0, limit) of `input` into a new trace; returns the event the writer refused, if any. */
function copyEvents(input: string, path: string, limit: number): { index: number; why: string } | null {
  const r = TraceReader.open(input, { recover: true });
  try {
    const { formatVersion: _, ...header } = r.header as TraceHeader;
    const w = TraceWriter.create(path, header);
    try {
      for (const e of r.events()) {
        if (e.index >= limit) break;
        try {
          w.onEvent(e);
        } catch (err) {
          return { index: e.index, why: err instanceof Error ? err.message : String(err) };
        }
      }
    } finally {
      w.close();
    }
    return null;
  } finally {
    r.close();
  }
}

/** The `recover` command. */
export function cmdRecover(args: string[]): number {
  const { values, positionals } = parse(args, parseOptions("recover"));
  if (positionals.length !== 1) throw new UsageError("recover takes exactly one trace file: recover FILE [--out FILE]");
  const input = positionals[0];
  checkInputFile(input);
  const out = (values.out as string | undefined) ?? recoveredName(input);
  checkOutFile("--out", out, [input]);
  const r = salvageTrace(input, out);
  if (values.json === true) console.log(JSON.stringify(r));
  else if (r.out === null) console.log(`${input}: whole, ${r.events} events; nothing to recover`);
  else {
    console.log(`${input}: kept ${r.events} events from ${r.blocks} whole blocks; wrote ${r.out}`);
    console.log(`  lost from: ${r.damage}`);
    console.log(`  check it: deno task replay --no-rerun ${r.out}`);
  }
  return 0;
}
