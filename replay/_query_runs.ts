/**
 * Runs in a folder: safe resolution of a run id to a trace file inside the
 * folder, and a small least-recently-used cache of open readers and their
 * indexes, invalidated when a file's size or modification time changes.
 *
 * @module
 */
import { sep as SEPARATOR } from "node:path";
import type { RunIndex } from "./_query_index.ts";
import { TraceReader } from "./reader.ts";
import { BlockCursor } from "./_blocks.ts";

/** File extension of traces. */
export const TRACE_EXT = ".lstrace";
/** What one segment of a run id may look like: a file or folder name without path syntax (`--compare` names use `=` and `,`). */
const NAME_RE = /^[A-Za-z0-9_][A-Za-z0-9._=,+ -]{0,199}$/;
/** Folder levels searched below the runs folder (runs/explore/<scenario>/ is two). */
export const RUN_DEPTH_MAX = 4;
/** Most entries a listing walks, so a huge folder cannot stall the server. */
const WALK_ENTRIES_MAX = 20_000;

/** Why a name cannot be a run id segment, or undefined when it can. */
export function nameProblem(name: string): string | undefined {
  if (name.startsWith(".")) return "the name starts with a dot";
  if (name.length > 200) return "the name is longer than 200 characters";
  for (let i = 0; i < name.length; i++) {
    if (name.charCodeAt(i) < 0x20 || name.charCodeAt(i) === 0x7f) return "the name has control characters";
  }
  if (name.endsWith(" ")) return "the name ends with a space";
  if (!NAME_RE.test(name)) return "the name has characters other than letters, digits, space and ._=,+-";
  return undefined;
}

/** A run id: folder segments and a file stem, joined by "/". */
function idProblem(id: string): boolean {
  const parts = id.split("/");
  return parts.length > RUN_DEPTH_MAX + 1 || parts.some((p) => p === "" || p === ".." || nameProblem(p) !== undefined);
}

/** A run id that does not name a trace in the folder (the caller answers 404, or 400 for a malformed id). */
export class RunNotFound extends Error {
  constructor(readonly malformed: boolean, message: string) {
    super(message);
    this.name = "RunNotFound";
  }
}

/**
 * The real path of run `id` in `realDir` (itself a real path). Refuses ids
 * with path syntax (`..`, empty or dot segments, backslashes), and files whose
 * real path (symlinks resolved) leaves the folder or is not a regular file.
 */
export function resolveRun(realDir: string, id: string): string {
  if (idProblem(id)) throw new RunNotFound(true, "malformed run id");
  let real: string;
  try {
    real = Deno.realPathSync(`${realDir}${SEPARATOR}${id.split("/").join(SEPARATOR)}${TRACE_EXT}`);
  } catch {
    throw new RunNotFound(false, `no run '${id}'`);
  }
  if (!real.startsWith(realDir + SEPARATOR) || !Deno.statSync(real).isFile) {
    throw new RunNotFound(false, `no run '${id}'`);
  }
  return real;
}

/** A trace or folder the listing found but cannot offer, and why. */
export interface SkippedName {
  /** Its path relative to the folder, "/"-separated. */
  path: string;
  reason: string;
}

/**
 * Ids of the traces in `realDir` and its subfolders (up to RUN_DEPTH_MAX
 * levels; symlinked folders are not followed), sorted; and the traces or
 * folders whose names cannot be ids, with the reason.
 */
export function runIds(realDir: string): { ids: string[]; skipped: SkippedName[] } {
  const ids: string[] = [];
  const skipped: SkippedName[] = [];
  let seen = 0;
  const walk = (abs: string, rel: string, depth: number) => {
    let entries: Deno.DirEntry[];
    try {
      entries = [...Deno.readDirSync(abs)];
    } catch (err) {
      skipped.push({ path: rel || ".", reason: `cannot read the folder: ${(err as Error).message}` });
      return;
    }
    for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      if (++seen > WALK_ENTRIES_MAX) {
        skipped.push({ path: rel || ".", reason: `listing stopped after ${WALK_ENTRIES_MAX} entries` });
        return;
      }
      const path = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory) {
        const problem = nameProblem(entry.name);
        if (problem) skipped.push({ path: `${path}/`, reason: `folder not searched: ${problem}` });
        else if (depth >= RUN_DEPTH_MAX) skipped.push({ path: `${path}/`, reason: "folder not searched: too deep" });
        else walk(`${abs}${SEPARATOR}${entry.name}`, path, depth + 1);
        continue;
      }
      if (!entry.name.endsWith(TRACE_EXT)) continue;
      const stem = entry.name.slice(0, -TRACE_EXT.length);
      const problem = stem === "" ? "the name is empty" : nameProblem(stem);
      if (problem) skipped.push({ path, reason: `${problem}; rename it to open it` });
      else ids.push(rel ? `${rel}/${stem}` : stem);
    }
  };
  walk(realDir, "", 0);
  return { ids: ids.sort(), skipped };
}

/** An open run: its reader and (once built) its index. */
export interface OpenRun {
  readonly path: string;
  /** File identity when opened: size and modification time. */
  readonly key: string;
  readonly reader: TraceReader;
  readonly bytes: number;
  index: RunIndex | undefined;
  /**
   * A cursor kept with the run: the last block a query decoded stays decoded, so the next query there (the event
   * table after a time lookup, the next page) does not decode it again. Synchronous queries only, never nested.
   */
  readonly cursor: BlockCursor;
}

interface Entry {
  key: string;
  run: OpenRun;
}

/** Open runs by real path, at most `max`, least recently used evicted first. */
export class RunCache {
  readonly #entries = new Map<string, Entry>();

  constructor(readonly max = 8) {}

  /** The open run at `path`, opening it (recover mode) when new or changed. Throws TraceError on header damage. */
  open(path: string): OpenRun {
    const st = Deno.statSync(path);
    const key = `${st.size}:${st.mtime?.getTime() ?? 0}`;
    const have = this.#entries.get(path);
    this.#entries.delete(path);
    if (have && have.key === key) {
      this.#entries.set(path, have); // most recent last
      return have.run;
    }
    have?.run.reader.close();
    const run: OpenRun = {
      path,
      key,
      reader: TraceReader.open(path, { recover: true }),
      bytes: st.size,
      index: undefined,
      cursor: new BlockCursor(),
    };
    this.#entries.set(path, { key, run });
    while (this.#entries.size > this.max) {
      const [oldest, e] = this.#entries.entries().next().value as [string, Entry];
      e.run.reader.close();
      this.#entries.delete(oldest);
    }
    return run;
  }

  /** The open run at `path` if it is cached (as it was opened; not checked against the file). */
  peek(path: string): OpenRun | undefined {
    return this.#entries.get(path)?.run;
  }

  /** Closes every reader. */
  close(): void {
    for (const e of this.#entries.values()) e.run.reader.close();
    this.#entries.clear();
  }
}
