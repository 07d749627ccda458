/**
 * `deno task bench`: performance figures, all measured in the same run
 * (never timed unit tests). Prints, and with --json writes one JSON object:
 *   1. scheduler + event emission on the contention-heavy `mutex-storm`
 *      scenario and on `taskq-demo` (events per second, null sink);
 *   2. trace encode/decode of the default scenario's events against NDJSON
 *      (bytes per event, events per second, ratios);
 *   3. replay fold throughput and seek time on a large trace;
 *   4. exploration throughput, when `deno task explore` is available.
 * `--quick` shrinks the sizes (used by a smoke test).
 * @module
 */
import { parseArgs } from "node:util";
import { runScenario } from "../drivers/mod.ts";
import { benchTrace } from "./bench_trace.ts";
import { recordRun } from "../cli/run.ts";
import { checkTrace, stateAt } from "../replay/mod.ts";

const args = parseArgs({
  args: Deno.args,
  options: { quick: { type: "boolean" }, json: { type: "boolean" } },
});
const quick = args.values.quick === true;
const out: Record<string, unknown> = {};
const say = (s: string) => {
  if (!args.values.json) console.log(s);
};

function schedBench(
  scenario: string,
  durationNs: number,
): Record<string, number> {
  let best = 0, events = 0;
  for (let rep = 0; rep < (quick ? 1 : 5); rep++) {
    let n = 0;
    const t0 = performance.now();
    runScenario({
      scenario,
      seed: 1,
      overrides: { "sim.durationNs": String(durationNs) },
      sinks: [{
        onEvent() {
          n++;
        },
      }],
    });
    const ms = performance.now() - t0;
    events = n;
    best = Math.max(best, n / ms * 1000);
  }
  return { events, eventsPerSec: Math.round(best) };
}

say("== scheduler + event emission (null sink) ==");
for (
  const [s, d] of [["mutex-storm", quick ? 2e6 : 100e6], [
    "taskq-demo",
    quick ? 2e6 : 300e6,
  ]] as const
) {
  const r = schedBench(s, d);
  out[`sched.${s}`] = r;
  say(
    `${s.padEnd(14)} ${r.events} events  ${(r.eventsPerSec / 1e6).toFixed(2)} M events/s`,
  );
}

say("\n== trace encoding vs NDJSON (events of taskq-demo) ==");
out.trace = await benchTrace(
  (sink) =>
    runScenario({
      scenario: "taskq-demo",
      seed: 1,
      overrides: { "sim.durationNs": quick ? "2000000" : "100000000" },
      sinks: [sink],
    }),
  "taskq-demo",
  { print: !args.values.json, repeats: quick ? 1 : 3 },
);

say("\n== replay: fold throughput and seek ==");
const dir = Deno.makeTempDirSync({ prefix: "lockstep-bench-" });
const big = `${dir}/big.lstrace`;
const bigNs = quick ? 5e6 : 2_200e6; // about 10 million events
const rec = recordRun({
  scenario: "mutex-storm",
  seed: 1,
  overrides: { "sim.durationNs": String(bigNs) },
  out: big,
});
let t0 = performance.now();
const c = checkTrace(big);
const foldMs = performance.now() - t0;
// The first seek to the end folds the whole trace once, leaving a snapshot
// every SNAPSHOT_EVERY events; later seeks fold at most that many.
t0 = performance.now();
stateAt(big, c.events);
const indexMs = performance.now() - t0;
const seeks: number[] = [];
for (let i = 1; i <= 10; i++) {
  const at = Math.floor(c.events * i / 10.5);
  const s0 = performance.now();
  stateAt(big, at);
  seeks.push(performance.now() - s0);
}
out.replay = {
  events: c.events,
  traceBytes: rec.traceBytes,
  foldEventsPerSec: Math.round(c.events / foldMs * 1000),
  snapshotIndexMs: Math.round(indexMs),
  seekMsMax: Math.round(Math.max(...seeks) * 10) / 10,
  seekMsMean: Math.round(seeks.reduce((a, b) => a + b, 0) / seeks.length * 10) /
    10,
};
say(`${c.events} events (${(rec.traceBytes / c.events).toFixed(2)} B/event)`);
say(
  `fold + digest check: ${(c.events / foldMs / 1000).toFixed(2)} M events/s (${foldMs.toFixed(0)} ms)`,
);
say(
  `first seek to the end (builds the snapshots): ${indexMs.toFixed(0)} ms; then seeks: max ${
    Math.max(...seeks).toFixed(1)
  } ms over 10 positions`,
);
Deno.removeSync(dir, { recursive: true });

try {
  const mod = await import("../cli/explore.ts") as Record<string, unknown>;
  if (typeof mod.exploreBench === "function") {
    say("\n== exploration ==");
    const r = await (mod.exploreBench as (
      s: string,
      n: number,
      j: number,
    ) => Promise<Record<string, number>>)(
      "splice-refrace",
      quick ? 20 : 200,
      2,
    );
    out.explore = r;
    say(JSON.stringify(r));
  }
} catch (e) {
  say(`exploration bench unavailable: ${(e as Error).message.split("\n")[0]}`);
}

if (args.values.json) console.log(JSON.stringify(out));
