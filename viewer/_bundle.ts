/**
 * Bundles the UI (viewer/ui/main.tsx and its imports, Preact included) into
 * one browser script with Deno's own `deno bundle --platform browser`, once
 * at server start; the result is served from memory. Needs run permission
 * for the `deno` executable (Deno.execPath()); nothing is downloaded (Preact
 * is the locally installed npm package).
 *
 * @module
 */

/** The bundled UI script. Throws with the bundler's first error line when it fails. */
export async function bundleUi(): Promise<string> {
  const entry = new URL("./ui/main.tsx", import.meta.url).pathname;
  const cmd = new Deno.Command(Deno.execPath(), {
    args: ["bundle", "--quiet", "--platform", "browser", "--minify", entry],
    stdout: "piped",
    stderr: "piped",
    cwd: new URL("..", import.meta.url).pathname,
  });
  const r = await cmd.output();
  const text = new TextDecoder().decode(r.stdout);
  if (!r.success || text.length === 0) {
    // deno-lint-ignore no-control-regex
    const msg = new TextDecoder().decode(r.stderr).replace(/\x1b\[[0-9;]*m/g, "").trim().split("\n")[0];
    throw new Error(`bundling the UI failed: ${msg || `deno bundle exited ${r.code}`}`);
  }
  return text;
}
