/**
 * `replay --at N [--json] FILE`, the path a viewer link and a user's seek
 * take, kept apart from the rest of `replay`: this module imports only the
 * reader, the seek snapshots and the usage checks, so a new process loads
 * about 20 modules instead of the whole command line (re-execution needs
 * every scenario driver). `cli/main.ts` tries {@link replayAt} first; any
 * other argument list goes to the full `replay` command and its parser.
 * @module
 */
import { TraceReader } from "../replay/reader.ts";
import { stateAt } from "../replay/seek.ts";
import type { StateJson } from "../replay/state.ts";
import { checkInputFile, intFlag, UsageError } from "./_usage.ts";

/**
 * Runs `replay` when `args` are exactly `--at N` (or `--at=N`), optionally
 * `--json`, and one file, in any order; returns the exit status, or
 * undefined for any other argument list (the full command parses those and
 * words their errors).
 */
export function replayAt(args: readonly string[]): number | undefined {
  let at: string | undefined;
  let json = false;
  const files: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--json" && !json) json = true;
    else if (a === "--at" && at === undefined && i + 1 < args.length && !args[i + 1].startsWith("-")) at = args[++i];
    else if (a.startsWith("--at=") && at === undefined) at = a.slice(5);
    else if (!a.startsWith("-")) files.push(a);
    else return undefined;
  }
  if (at === undefined || files.length !== 1) return undefined;
  checkInputFile(files[0]);
  return printAt(files[0], intFlag("at", at, 0), json);
}

/**
 * `--at N`: the state after event N (events 0..N applied), the same meaning
 * as the viewer API's `state?at=N`. N past the last event is refused.
 */
export function printAt(file: string, at: number, json: boolean): number {
  const r = TraceReader.open(file);
  let state: StateJson;
  try {
    const count = r.eventCount ?? r.scan();
    if (at >= count) {
      throw new UsageError(`--at ${at} is past the last event of ${file} (${count - 1}; events count from 0)`);
    }
    state = stateAt(file, at + 1, r);
  } finally {
    r.close();
  }
  const s = { at, ...state }; // the viewer API's shape
  if (json) console.log(JSON.stringify(s));
  else console.log(stateText(s));
  return 0;
}

/** The state as readable text. */
export function stateText(s: StateJson): string {
  const name = (id: number) => s.threads[id - 1]?.name ?? (id === 0 ? "idle" : `#${id}`);
  const lines = [`state after event ${s.index - 1} (${s.index} events applied), t=${s.tNs} ns`];
  for (const c of s.cpus) {
    lines.push(`cpu${c.id}: running ${name(c.current)}; run queue: ${c.runQueue.map(name).join(", ") || "-"}`);
  }
  for (const t of s.threads) {
    const wait = t.waitObj !== 0 ? ` waits on ${t.waitName}` : "";
    const held = t.held.length > 0 ? ` holds ${t.held.join(", ")}` : "";
    lines.push(`thread ${t.id} ${t.name}: ${t.state} cpu${t.cpu}${wait}${held}`);
  }
  for (const l of s.locks) {
    if (l.owner === 0 && l.readers === 0 && l.waiters.length === 0) continue;
    const who = l.owner !== 0 ? `owner ${name(l.owner)}` : `${l.readers} readers`;
    lines.push(`lock ${l.cls} (${l.type}): ${who}; waiters: ${l.waiters.map(name).join(", ") || "-"}`);
  }
  for (const q of s.taskqs) lines.push(`taskq ${q.name}: ${q.queued.map((t) => t.name).join(", ") || "empty"}`);
  for (const t of s.timeouts) lines.push(`timeout ${t.name}: due at ${t.deadlineNs} ns`);
  for (const o of s.refs) lines.push(`${o.type}#${o.id}: ${o.refs} refs${o.freed ? " (freed)" : ""}`);
  for (const so of s.sockets) {
    lines.push(
      `socket ${so.id}: rcv ${so.rcvCc} B, snd ${so.sndCc} B${so.spliceTo ? `, spliced to ${so.spliceTo}` : ""}`,
    );
  }
  return lines.join("\n");
}
