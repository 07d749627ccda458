/**
 * Writing a small output file so that it is never seen half-written: the
 * bytes go to a temporary file beside the target, which is renamed over it
 * once complete (rename is atomic within a folder).
 * @module
 */
import { basename, dirname, join } from "node:path";

/** Writes `text` to `path` through a temporary file in the same folder and a rename. */
export function writeFileAtomic(path: string, text: string): void {
  const tmp = join(dirname(path), `.${basename(path)}.tmp-${Deno.pid}`);
  try {
    Deno.writeTextFileSync(tmp, text);
    Deno.renameSync(tmp, path);
  } catch (e) {
    try {
      Deno.removeSync(tmp);
    } catch { /* not created */ }
    throw e;
  }
}
