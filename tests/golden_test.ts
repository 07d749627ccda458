import { assert, assertEquals } from "./_assert.ts";
import { replayFile } from "../replay/mod.ts";
import { findScenario } from "../drivers/mod.ts";
import type { TraceHeader } from "../format/format.ts";

const resolve = (h: TraceHeader) => findScenario(h.scenario);
import { goldenRuns } from "../tools/golden.ts";

const dir = new URL("./golden/", import.meta.url).pathname;

Deno.test("every scenario has a golden trace", () => {
  for (const g of goldenRuns()) {
    assert(
      Deno.statSync(`${dir}${g.stem}.lstrace`).isFile,
      `missing tests/golden/${g.stem}.lstrace (deno task golden)`,
    );
  }
});

for (const g of goldenRuns()) {
  Deno.test(`golden trace ${g.stem} replays identically`, () => {
    const r = replayFile(`${dir}${g.stem}.lstrace`, { resolve });
    assertEquals(r.digestMismatch, null);
    assert(r.digestsChecked >= 1, "checkpoints present");
    assertEquals(r.rerun, "identical", JSON.stringify(r.divergence));
  });
}
