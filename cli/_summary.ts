/**
 * The run summary: one shape for `--json` and the text printout.
 * @module
 */
import type { Config } from "../core/config.ts";
import type { Metrics } from "../core/scenario.ts";
import { useColor } from "./_args.ts";

/** A run summary, as `--json` prints it (shared/PRODUCT.md "Machine-readable output"). */
export interface Summary {
  scenario: string;
  seed: number;
  config: Config;
  events: number;
  simNs: number;
  wallMs: number;
  eventsPerSec: number;
  traceBytes: number;
  bytesPerEvent: number;
  /** The trace file, or null for a run with `--no-trace`. */
  out: string | null;
  end: string;
  metrics: Metrics;
  violations: { kind: string; event: number; message: string }[];
}

/** Prints a short human summary. */
export function printSummary(s: Summary): void {
  const red = (x: string) => useColor() ? `\x1b[31m${x}\x1b[0m` : x;
  console.log(
    `${s.scenario} seed ${s.seed}: ${s.events} events, ${(s.simNs / 1e6).toFixed(3)} ms simulated, ended: ${s.end}`,
  );
  console.log(
    s.out === null
      ? `  no trace (--no-trace): ${s.eventsPerSec} events/s, ${s.wallMs} ms`
      : `  trace ${s.out}: ${s.traceBytes} bytes (${s.bytesPerEvent} B/event), ${s.eventsPerSec} events/s, ${s.wallMs} ms`,
  );
  for (const [k, v] of Object.entries(s.metrics)) {
    console.log(
      `  ${k}: ${typeof v === "object" ? Object.entries(v).map(([a, b]) => `${a}=${b}`).join(" ") || "-" : v}`,
    );
  }
  for (const v of s.violations) console.log(red(`  VIOLATION ${v.kind} at event ${v.event}: ${v.message}`));
}

/** Prints one table for a --compare run, with ratios against the first variant. */
export function printCompare(key: string, vals: string[], runs: Summary[]): void {
  const flat = runs.map((r) => flatten(r.metrics));
  const names = [...new Set(flat.flatMap((m) => Object.keys(m)))];
  const w = Math.max(key.length, ...names.map((n) => n.length), 10);
  const table = names.map((n) => {
    const base = flat[0][n];
    return flat.map((m, i) => {
      const v = m[n];
      if (v === undefined) return "-";
      return i === 0 || !base ? fmt(v) : `${fmt(v)} (${(v / base).toFixed(2)}x)`;
    });
  });
  // At least two spaces between columns, however wide a figure is.
  const colW = Math.max(16, ...vals.map((v) => v.length + 2), ...table.flat().map((c) => c.length + 2));
  const row = (label: string, cells: string[]) => label.padEnd(w) + cells.map((c) => c.padStart(colW)).join("");
  console.log(row(key, vals));
  for (let i = 0; i < names.length; i++) console.log(row(names[i], table[i]));
  console.log(row("violations", runs.map((r) => String(r.violations.length))));
  for (const r of runs) if (r.out !== null) console.log(`  ${r.out}`);
}

/** Numeric metrics with nested tables spelled `name.key` (e.g. cpuBusyPct.cpu0). */
function flatten(m: Metrics): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(m)) {
    if (typeof v === "number") out[k] = v;
    else if (typeof v === "object") { for (const [k2, v2] of Object.entries(v)) out[`${k}.${k2}`] = v2; }
  }
  return out;
}

function fmt(v: number): string {
  if (Number.isInteger(v)) return String(v);
  return Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(2);
}
