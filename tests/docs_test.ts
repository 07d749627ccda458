import { assert } from "./_assert.ts";
import { COSTS } from "../core/cost.ts";
import { SCENARIOS } from "../drivers/mod.ts";

const read = (p: string) => Deno.readTextFileSync(new URL(`../${p}`, import.meta.url));

Deno.test("docs/cost-model.md documents every cost entry", () => {
  const doc = read("docs/cost-model.md");
  for (const name of Object.keys(COSTS)) {
    assert(doc.includes(`| \`${name}\``), `cost.${name} is not in docs/cost-model.md`);
  }
});

Deno.test("README names every scenario and every command", () => {
  const readme = read("README.md");
  for (const s of SCENARIOS) assert(readme.includes(`\`${s.name}\``), `scenario ${s.name} missing from README`);
  for (const c of ["run", "replay", "explore", "viewer", "export", "scenarios", "test", "bench"]) {
    assert(readme.includes(`deno task ${c}`), `deno task ${c} missing from README`);
  }
});
