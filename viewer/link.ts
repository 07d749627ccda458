/**
 * Links into the viewer for the command line: how to serve a trace's folder
 * and the address of one of its events (used by `deno task replay` when a
 * re-execution diverges).
 *
 * @example
 * ```ts
 * import { viewerLink } from "./link.ts";
 * viewerLink("runs/explore/lock-abba-3.lstrace", 19);
 * // "deno task viewer --dir runs, then http://127.0.0.1:8080/#/run/explore%2Flock-abba-3?sel=19"
 * ```
 * @module
 */
import { basename, dirname, relative, resolve, sep } from "node:path";

/**
 * How to open event `event` of the trace at `file`: the viewer command
 * (serving `runs/` when the file is under it, else the file's folder) and the
 * URL of the run page with that event selected.
 */
export function viewerLink(file: string, event: number, port = 8080): string {
  const abs = resolve(file);
  const runs = resolve("runs");
  const rel = relative(runs, abs);
  const under = !rel.startsWith("..") && !rel.startsWith("/");
  const dir = under ? "runs" : dirname(file);
  const id = (under ? rel.split(sep).join("/") : basename(abs)).replace(/\.lstrace$/, "");
  return `deno task viewer --dir ${dir}, then http://127.0.0.1:${port}/#/run/${encodeURIComponent(id)}?sel=${event}`;
}
