/**
 * The command line's usage error and the checks of its simplest inputs,
 * without any node: import: `replay --at` loads only this, the reader and
 * the seek code (node: polyfills cost tens of milliseconds each to load).
 * `_args.ts` and `_files.ts` re-export everything here.
 * @module
 */

/** Bad command-line input: exit status 2 with a one-line message. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** A non-negative safe integer flag value. */
export function intFlag(name: string, v: unknown, dflt: number, max = Number.MAX_SAFE_INTEGER): number {
  if (v === undefined) return dflt;
  const s = String(v);
  if (!/^\d+$/.test(s)) throw new UsageError(`--${name} wants a non-negative integer, got '${s}'`);
  const n = Number(s);
  if (!Number.isSafeInteger(n) || n > max) throw new UsageError(`--${name} must be at most ${max}`);
  return n;
}

/** The file's information, or null when nothing is there. */
export function statOrNull(path: string): Deno.FileInfo | null {
  try {
    return Deno.statSync(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory) return null;
    throw e;
  }
}

/**
 * Refuses an input that is not a readable regular file: a missing path, a
 * directory, a FIFO or device (reading one could block forever).
 */
export function checkInputFile(path: string): void {
  if (path === "") throw new UsageError("an input file name is empty");
  const st = statOrNull(path);
  if (st === null) throw new UsageError(`${path}: no such file`);
  if (st.isDirectory) throw new UsageError(`${path} is a directory, not a trace file`);
  if (!st.isFile) throw new UsageError(`${path} is not a regular file (a FIFO or device is not read)`);
}
