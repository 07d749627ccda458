/**
 * Runs in a folder: safe resolution of a run id to a trace file inside the
 * folder, and a small least-recently-used cache of open readers and their
 * indexes, invalidated when a file's size or modification time changes.
 *
 * @module
 */
import { sep as SEPARATOR } from "node:path";
import { buildIndex, type RunIndex } from "./_query_index.ts";
import { TraceReader } from "./reader.ts";

/** File extension of traces. */
export const TRACE_EXT = ".lstrace";
/** What a run id may look like: a file stem without path syntax (`--compare` names use `=` and `,`). */
const ID_RE = /^[A-Za-z0-9_][A-Za-z0-9._=,+-]{0,199}$/;

/** A run id that does not name a trace in the folder (the caller answers 404, or 400 for a malformed id). */
export class RunNotFound extends Error {
  constructor(readonly malformed: boolean, message: string) {
    super(message);
    this.name = "RunNotFound";
  }
}

/**
 * The real path of run `id` in `realDir` (itself a real path). Refuses ids
 * with path syntax, and files whose real path (symlinks resolved) leaves the
 * folder or is not a regular file.
 */
export function resolveRun(realDir: string, id: string): string {
  if (!ID_RE.test(id) || id.includes("..")) throw new RunNotFound(true, "malformed run id");
  let real: string;
  try {
    real = Deno.realPathSync(`${realDir}${SEPARATOR}${id}${TRACE_EXT}`);
  } catch {
    throw new RunNotFound(false, `no run '${id}'`);
  }
  if (!real.startsWith(realDir + SEPARATOR) || !Deno.statSync(real).isFile) {
    throw new RunNotFound(false, `no run '${id}'`);
  }
  return real;
}

/** Ids of the traces directly in `realDir`, sorted. */
export function runIds(realDir: string): string[] {
  const ids: string[] = [];
  for (const entry of Deno.readDirSync(realDir)) {
    if (!entry.name.endsWith(TRACE_EXT)) continue;
    const id = entry.name.slice(0, -TRACE_EXT.length);
    if (ID_RE.test(id) && !id.includes("..")) ids.push(id);
  }
  return ids.sort();
}

/** An open run: its reader and (once built) its index. */
export interface OpenRun {
  readonly path: string;
  readonly reader: TraceReader;
  readonly bytes: number;
  index: RunIndex | undefined;
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
    const run: OpenRun = { path, reader: TraceReader.open(path, { recover: true }), bytes: st.size, index: undefined };
    this.#entries.set(path, { key, run });
    while (this.#entries.size > this.max) {
      const [oldest, e] = this.#entries.entries().next().value as [string, Entry];
      e.run.reader.close();
      this.#entries.delete(oldest);
    }
    return run;
  }

  /** The run at `path` with its index built. */
  indexed(path: string): OpenRun & { index: RunIndex } {
    const run = this.open(path);
    run.index ??= buildIndex(run.reader, run.bytes);
    return run as OpenRun & { index: RunIndex };
  }

  /** Closes every reader. */
  close(): void {
    for (const e of this.#entries.values()) e.run.reader.close();
    this.#entries.clear();
  }
}
