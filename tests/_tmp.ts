/**
 * Temporary folders for tests, removed when the test module ends (the
 * `unload` event), whether its tests passed or failed.
 * @module
 */

/** A new temporary folder named `prefix...`, removed at the end of the module. */
export function tempDir(prefix: string): string {
  const dir = Deno.makeTempDirSync({ prefix });
  globalThis.addEventListener("unload", () => {
    try {
      Deno.removeSync(dir, { recursive: true });
    } catch {
      // Already removed by the test itself.
    }
  });
  return dir;
}
