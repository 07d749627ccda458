/**
 * `deno task fuzz [--n N] [--seed S]`: damages traces of every scenario in
 * every way in tools/_fuzz.ts and reads each the ways the commands do.
 * Prints counts per mutation and outcome; exits 1 on any crash (what would
 * be exit status 3), undetected damage, or hang (a case running longer than
 * HANG_MS), 0 otherwise.
 * @module
 */
import { fuzzFailures, type FuzzReport } from "./_fuzz.ts";
import { intFlag, parse } from "../cli/_args.ts";

/** A case still running after this long is a hang. */
const HANG_MS = 30_000;

/** Runs the fuzzer in a worker with a watchdog; resolves to the report, or the case that hung. */
export function fuzzWithWatchdog(n: number, seed: number): Promise<{ report?: FuzzReport; hungCase?: number }> {
  const w = new Worker(new URL("./_fuzz_worker.ts", import.meta.url), { type: "module" });
  return new Promise((resolve) => {
    let current = -1;
    let last = Date.now();
    const timer = setInterval(() => {
      if (Date.now() - last > HANG_MS) {
        clearInterval(timer);
        w.terminate();
        resolve({ hungCase: current });
      }
    }, 1000);
    w.onmessage = (ev) => {
      last = Date.now();
      if (ev.data.report) {
        clearInterval(timer);
        w.terminate();
        resolve({ report: ev.data.report });
      } else {
        current = ev.data.case;
        if (current > 0 && current % 10_000 === 0) console.error(`fuzz: ${current} cases`);
      }
    };
    w.onerror = (ev) => {
      ev.preventDefault();
      clearInterval(timer);
      w.terminate();
      resolve({ hungCase: undefined, report: undefined });
      console.error(`fuzz: the worker failed: ${ev.message}`);
    };
    w.postMessage({ n, seed });
  });
}

/** Prints the report as a table. */
export function printFuzz(r: FuzzReport, seed: number): void {
  console.log(`fuzz: ${r.cases} cases, seed ${seed}, ${r.salvaged} rejected traces recovered and read back`);
  console.log("  mutation              ok  rejected  crash  undetected");
  for (const [m, c] of Object.entries(r.counts)) {
    console.log(
      `  ${m.padEnd(20)} ${String(c.ok).padStart(4)} ${String(c.rejected).padStart(9)} ${String(c.crash).padStart(6)} ${
        String(c.undetected).padStart(11)
      }`,
    );
  }
  for (const f of r.failures) console.log(`  FAIL case ${f.case} (${f.mutation}, ${f.outcome}): ${f.message}`);
}

if (import.meta.main) {
  const { values } = parse(Deno.args, { n: { type: "string" }, seed: { type: "string" } });
  const n = intFlag("n", values.n, 2000);
  const seed = intFlag("seed", values.seed, 1);
  const t0 = Date.now();
  const { report, hungCase } = await fuzzWithWatchdog(n, seed);
  if (!report) {
    console.log(
      hungCase === undefined ? "fuzz: FAILED (worker error)" : `fuzz: HANG at case ${hungCase} (seed ${seed})`,
    );
    Deno.exit(1);
  }
  printFuzz(report, seed);
  const failures = fuzzFailures(report);
  console.log(
    `fuzz: ${failures === 0 ? "ok" : "FAILED"}: ${failures} crashes or undetected, 0 hangs, ${
      ((Date.now() - t0) / 1000).toFixed(1)
    } s`,
  );
  Deno.exit(failures === 0 ? 0 : 1);
}
