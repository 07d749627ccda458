/**
 * Files the commands read and write, checked before any work is done, and
 * the one way every command writes an output: into a temporary file beside
 * the target, renamed over it only when complete. A killed, failed or
 * refused command therefore leaves the target as it was (a kill -9 may leave
 * a `.NAME.PID.N.tmp` file behind; nothing else).
 * @module
 */
import { basename, dirname, join } from "node:path";
import { checkInputFile, statOrNull, UsageError } from "./_usage.ts";
export { checkInputFile };

/** Temporary files made by this process so far (their names stay unique). */
let tmpCount = 0;

/**
 * Refuses an output file name that cannot be written whole: empty, an
 * existing directory, a path under an existing file, or the same file as
 * one of `inputs` (writing it would destroy what is being read).
 */
export function checkOutFile(flag: string, out: string, inputs: readonly string[] = []): void {
  if (out === "") throw new UsageError(`${flag} is empty: name a file`);
  if (out.endsWith("/")) throw new UsageError(`${flag} ${out} names a directory: name a file`);
  const st = statOrNull(out);
  if (st !== null && st.isDirectory) throw new UsageError(`${flag} ${out} is a directory: name a file`);
  checkParent(flag, out);
  if (st === null) return;
  for (const input of inputs) {
    const si = statOrNull(input);
    if (si !== null && sameFile(st, si)) {
      throw new UsageError(`${flag} ${out} is the input ${input}: choose another output file`);
    }
  }
}

/** Refuses an output folder name that is empty or names an existing non-directory. */
export function checkOutDir(flag: string, dir: string): void {
  if (dir === "") throw new UsageError(`${flag} is empty: name a folder`);
  const st = statOrNull(dir);
  if (st !== null && !st.isDirectory) throw new UsageError(`${flag} ${dir} exists and is not a folder`);
  checkParent(flag, join(dir, "x"));
}

/** The nearest existing ancestor of `path`'s folder must be a folder. */
function checkParent(flag: string, path: string): void {
  for (let d = dirname(path);; d = dirname(d)) {
    const st = statOrNull(d);
    if (st !== null) {
      if (!st.isDirectory) throw new UsageError(`${flag} ${path}: ${d} is not a folder`);
      return;
    }
    if (dirname(d) === d) return;
  }
}

function sameFile(a: Deno.FileInfo, b: Deno.FileInfo): boolean {
  return a.dev === b.dev && a.ino !== null && a.ino === b.ino;
}

/**
 * Calls `write` with a temporary path in `target`'s folder and renames the
 * result over `target` when `write` returns; when it throws, the temporary
 * file is removed and `target` is untouched. Creates the folder when
 * missing. A target that exists and is not a regular file (/dev/null, a
 * FIFO) is written directly: renaming over it would replace the device.
 */
export function writeAtomically<T>(target: string, write: (path: string) => T): T {
  if (target === "") throw new UsageError("an output file name is empty");
  const st = statOrNull(target);
  if (st !== null && st.isDirectory) throw new UsageError(`${target} is a directory: name a file`);
  if (st !== null && !st.isFile) return write(target);
  const dir = dirname(target);
  Deno.mkdirSync(dir, { recursive: true });
  const tmp = join(dir, `.${basename(target)}.${Deno.pid}.${tmpCount++}.tmp`);
  try {
    const result = write(tmp);
    Deno.renameSync(tmp, target);
    return result;
  } catch (e) {
    try {
      Deno.removeSync(tmp);
    } catch {
      // Never created, or already gone: nothing to clean.
    }
    throw e;
  }
}
