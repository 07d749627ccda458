import assert from "node:assert/strict";
import { lineChart, seriesOf } from "../tools/sweep_svg.ts";

Deno.test("sweep_svg: one line per compared variant, throughput against offered load", () => {
  const run = (mode: string, off: number, thr: number) => ({
    config: { "splice.mode": mode, "relay.rateMbps": off * 100 },
    metrics: { offeredGbps: off, throughputGbps: thr },
  });
  const j = {
    sweep: "relay.rateMbps",
    points: [
      { value: "100", runs: [run("thread", 1, 1), run("flowid-taskq", 1, 1)] },
      { value: "200", runs: [run("thread", 2, 1.5), run("flowid-taskq", 2, 2)] },
    ],
  };
  const s = seriesOf(j, "throughputGbps", "offeredGbps");
  assert.deepEqual(s.map((x) => x.name), ["splice.mode=thread", "splice.mode=flowid-taskq"]);
  assert.deepEqual(s[0].points, [[1, 1], [2, 1.5]]);
  const svg = lineChart(s, "offeredGbps", "throughputGbps", "t");
  assert.equal(svg.match(/<path /g)?.length, 2);
  assert.ok(svg.startsWith("<svg") && svg.trimEnd().endsWith("</svg>"));
  assert.ok(svg.includes("splice.mode=flowid-taskq"));
});
