/**
 * `deno task viewer-cold --dir D --run ID [--n 3] [--fresh] [--verbose]`: how long a cold
 * open of a run takes in the viewer. Each round starts a new viewer process
 * (`viewer/main.ts --port 0`), opens a new Chromium page straight at
 * `#/run/ID` and times, from navigation:
 * - first view: the timeline canvas has slices drawn;
 * - whole run: the page no longer shows index progress (the full index is in).
 * Meanwhile it asks the server for `/api/runs` every 50 ms and reports the
 * slowest answer, to show the server keeps answering other requests.
 * `--fresh` deletes the run's persisted sidecars (`.seek`, `.vix`) before
 * each round, so the round pays for building them (a first-ever open).
 * Prints one line per round and min/median/max; needs /usr/bin/chromium.
 * Timing figures are wall-clock on whatever machine runs it: compare them
 * pairwise, on the same machine, within minutes.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { chromium } from "playwright-core";

const CHROMIUM = "/usr/bin/chromium";

function usage(msg: string): never {
  console.error(`viewer-cold: ${msg}\nusage: deno task viewer-cold --dir D --run ID [--n 3] [--fresh] [--verbose]`);
  Deno.exit(2);
}

let values: { dir?: string; run?: string; n?: string; fresh?: boolean; verbose?: boolean };
try {
  values = parseArgs({
    args: Deno.args,
    options: {
      dir: { type: "string" },
      run: { type: "string" },
      n: { type: "string" },
      fresh: { type: "boolean" },
      verbose: { type: "boolean" },
    },
    strict: true,
    allowPositionals: false,
  }).values;
} catch (err) {
  usage((err as Error).message);
}
if (!values.dir || !values.run) usage("--dir and --run are required");
const rounds = values.n === undefined ? 3 : Number(values.n);
if (!Number.isInteger(rounds) || rounds < 1 || rounds > 100) usage(`bad --n '${values.n}'`);
const tracePath = `${values.dir}/${values.run}.lstrace`;
try {
  Deno.statSync(tracePath);
} catch {
  usage(`no trace ${tracePath}`);
}

/** Starts a viewer process and resolves its URL once it prints it. */
async function startViewer(dir: string): Promise<{ url: string; child: Deno.ChildProcess }> {
  const main = new URL("../viewer/main.ts", import.meta.url).pathname;
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-read",
      "--allow-write",
      "--allow-net",
      "--allow-env",
      "--allow-run",
      main,
      "--dir",
      dir,
      "--port",
      "0",
    ],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) throw new Error("viewer exited before listening");
    text += value;
    const m = text.match(/(http:\/\/\S+\/)/);
    if (m) {
      // Keep draining stdout so the child never blocks on a full pipe.
      (async () => {
        while (!(await reader.read()).done);
      })();
      return { url: m[1], child };
    }
  }
}

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-sync", "--no-first-run"],
});
const first: number[] = [], whole: number[] = [], slowest: number[] = [];
try {
  for (let r = 0; r < rounds; r++) {
    if (values.fresh) {
      for (const ext of [".seek", ".vix"]) {
        try {
          Deno.removeSync(tracePath + ext);
        } catch {
          // not there
        }
      }
    }
    const { url, child } = await startViewer(values.dir);
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    let polling = !Deno.env.get("NOPOLL"), worstMs = 0, answered = 0;
    const poll = (async () => {
      while (polling) {
        const t = performance.now();
        const res = await fetch(`${url}api/runs`);
        await res.body?.cancel();
        if (res.status !== 200) throw new Error(`/api/runs answered ${res.status}`);
        worstMs = Math.max(worstMs, performance.now() - t);
        answered++;
        await new Promise((ok) => setTimeout(ok, 50));
      }
    })();
    const t0 = performance.now();
    if (values.verbose) {
      page.on("requestfinished", (req) => {
        const at = performance.now() - t0;
        const took = req.timing().responseEnd;
        console.log(`  ${at.toFixed(0)} ms: ${req.url().replace(url, "/")} took ${took.toFixed(0)} ms`);
      });
    }
    await page.goto(`${url}#/run/${encodeURIComponent(values.run!)}`);
    await page.waitForFunction(
      () => Number(document.querySelector('canvas[data-testid="timeline"]')?.getAttribute("data-slices")) > 0,
      undefined,
      { timeout: 120_000, polling: 10 },
    );
    const tFirst = performance.now() - t0;
    const preview = await page.locator("[data-testid=preview]").count() > 0;
    await page.waitForFunction(() => document.querySelector("[data-testid=preview]") === null, undefined, {
      timeout: 120_000,
      polling: 20,
    });
    const tWhole = performance.now() - t0;
    polling = false;
    await poll;
    await page.close();
    child.kill("SIGTERM");
    await child.status;
    first.push(tFirst);
    whole.push(tWhole);
    slowest.push(worstMs);
    console.log(
      `round ${r + 1}: first view ${tFirst.toFixed(0)} ms${preview ? " (while indexing)" : ""}, whole run ${
        tWhole.toFixed(0)
      } ms; /api/runs answered ${answered} times meanwhile, slowest ${worstMs.toFixed(0)} ms`,
    );
  }
} finally {
  await browser.close();
}
const mmm = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return `min ${s[0].toFixed(0)} / median ${s[s.length >> 1].toFixed(0)} / max ${s[s.length - 1].toFixed(0)} ms`;
};
console.log(`first view: ${mmm(first)}`);
console.log(`whole run:  ${mmm(whole)}`);
console.log(`slowest /api/runs answer: ${mmm(slowest)}`);
