/**
 * Links into the viewer for the command line: how to serve a trace's folder
 * and the address of one of its events, or of the comparison of two traces
 * (used by `deno task replay` when a re-execution diverges).
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
  const { dir, id } = placeOf(file);
  return `deno task viewer --dir ${dir}, then http://127.0.0.1:${port}/#/run/${encodeURIComponent(id)}?sel=${event}`;
}

/**
 * How to open the comparison of the traces `a` and `b` (in one folder, as
 * `replay` saves a re-execution beside its trace): the viewer command and
 * the URL of the comparison page, which marks their first divergent event.
 *
 * @example
 * ```ts
 * import { compareLink } from "./link.ts";
 * compareLink("runs/taskq-demo-1.lstrace", "runs/taskq-demo-1.rerun.lstrace");
 * // "deno task viewer --dir runs, then http://127.0.0.1:8080/#/compare?a=taskq-demo-1&b=taskq-demo-1.rerun"
 * ```
 */
export function compareLink(a: string, b: string, port = 8080): string {
  const pa = placeOf(a), pb = placeOf(b);
  const qs = new URLSearchParams({ a: pa.id, b: pb.id });
  return `deno task viewer --dir ${pa.dir}, then http://127.0.0.1:${port}/#/compare?${qs}`;
}

/** The folder to serve for `file` (`runs` when the file is under it, else its own folder) and its run id there. */
function placeOf(file: string): { dir: string; id: string } {
  const abs = resolve(file);
  const runs = resolve("runs");
  const rel = relative(runs, abs);
  const under = !rel.startsWith("..") && !rel.startsWith("/");
  const dir = under ? "runs" : dirname(file);
  const id = (under ? rel.split(sep).join("/") : basename(abs)).replace(/\.lstrace$/, "");
  return { dir, id };
}
