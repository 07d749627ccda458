/**
 * The commands start without the npm registry: in a copy of the repository
 * with no node_modules and an empty Deno cache, with the registry pointed at
 * a closed port, `deno task scenarios` and `deno task run` work. Only the
 * viewer and the browser test need npm packages (deno.json "scopes").
 */
import { assert, assertEquals } from "./_assert.ts";
import { dirname, join } from "node:path";
import { tempDir } from "./_tmp.ts";

const ROOT = join(dirname(new URL(import.meta.url).pathname), "..");
const PARTS = ["cli", "core", "drivers", "format", "recorder", "replay", "export", "mod.ts", "deno.json", "deno.lock"];

function copy(from: string, to: string): void {
  const st = Deno.statSync(from);
  if (st.isFile) return Deno.copyFileSync(from, to);
  Deno.mkdirSync(to, { recursive: true });
  for (const e of Deno.readDirSync(from)) copy(join(from, e.name), join(to, e.name));
}

Deno.test("deno task scenarios and run need no npm download", async () => {
  const dir = tempDir("lockstep-offline-");
  const repo = join(dir, "repo");
  Deno.mkdirSync(repo);
  for (const p of PARTS) copy(join(ROOT, p), join(repo, p));
  const env = { DENO_DIR: join(dir, "cache"), NPM_CONFIG_REGISTRY: "http://127.0.0.1:9/", NO_COLOR: "1" };
  for (const args of [["scenarios"], ["run", "lock-abba", "--out", join(dir, "a.lstrace")]]) {
    const o = await new Deno.Command(Deno.execPath(), { args: ["task", ...args], cwd: repo, env }).output();
    const err = new TextDecoder().decode(o.stderr);
    assert(!/Download|npm package/.test(err), err);
    assertEquals(o.code, args[0] === "run" ? 1 : 0, err); // lock-abba finds its deadlock: exit 1
  }
  assert(Deno.statSync(join(dir, "a.lstrace")).size > 0);
  // The import map gives npm packages only to the viewer and the tests.
  const cfg = JSON.parse(Deno.readTextFileSync(join(ROOT, "deno.json")));
  assertEquals(cfg.imports, undefined);
});
