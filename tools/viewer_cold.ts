/**
 * `deno task viewer-cold --dir D --run ID [--n 3] [--fresh] [--verbose] [--against CHECKOUT [--against-dir D2]]`: how long a cold
 * open of a run takes in the viewer. Each round starts a new viewer process
 * (`viewer/main.ts --port 0`), opens a new Chromium page straight at
 * `#/run/ID` and times, from navigation:
 * - first view: the timeline canvas has slices drawn;
 * - whole run: the page no longer shows index progress (the full index is in).
 * `--verbose` prints each request as it finishes and the page's performance
 * marks (`lockstep:*`: script start, schema, preview, detail, first window
 * asked and received, first draw).
 * Meanwhile it asks the server for `/api/runs` every 50 ms and reports the
 * slowest answer, to show the server keeps answering other requests.
 * `--fresh` deletes the run's persisted sidecars (`.seek`, `.vix`) before
 * each round, so the round pays for building them (a first-ever open).
 * `--against CHECKOUT` runs each round also with another checkout's viewer
 * (say, the commit before a change), alternating, so the two are compared
 * pair by pair under the same machine load; `--against-dir D2` gives that
 * viewer its own copy of the runs folder, so each keeps its own persisted
 * index when the two write different `.vix` formats. Prints one line per round and
 * min/median/max per viewer; needs /usr/bin/chromium.
 * Timing figures are wall-clock on whatever machine runs it: compare them
 * pairwise, on the same machine, within minutes.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { chromium } from "playwright-core";
import { startViewer } from "./_viewer_process.ts";

const CHROMIUM = "/usr/bin/chromium";

function usage(msg: string): never {
  console.error(
    `viewer-cold: ${msg}\nusage: deno task viewer-cold --dir D --run ID [--n 3] [--fresh] [--verbose] [--against CHECKOUT [--against-dir D2]]`,
  );
  Deno.exit(2);
}

let values: {
  dir?: string;
  run?: string;
  n?: string;
  fresh?: boolean;
  verbose?: boolean;
  against?: string;
  "against-dir"?: string;
};
try {
  values = parseArgs({
    args: Deno.args,
    options: {
      dir: { type: "string" },
      run: { type: "string" },
      n: { type: "string" },
      fresh: { type: "boolean" },
      verbose: { type: "boolean" },
      against: { type: "string" },
      "against-dir": { type: "string" },
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
if (values["against-dir"] !== undefined && values.against === undefined) usage("--against-dir needs --against");
const traceIn = (dir: string) => `${dir}/${values.run}.lstrace`;
for (const dir of [values.dir, values["against-dir"]]) {
  if (dir === undefined) continue;
  try {
    Deno.statSync(traceIn(dir));
  } catch {
    usage(`no trace ${traceIn(dir)}`);
  }
}

/**
 * The viewers compared: this checkout's, and another checkout's when `--against` names one (paired rounds), each
 * over its runs folder.
 */
const viewers = [{
  name: "this checkout",
  main: new URL("../viewer/main.ts", import.meta.url).pathname,
  dir: values.dir,
}];
if (values.against !== undefined) {
  const main = `${values.against}/viewer/main.ts`;
  try {
    Deno.statSync(main);
  } catch {
    usage(`no viewer at ${main}`);
  }
  viewers.push({ name: values.against, main, dir: values["against-dir"] ?? values.dir });
}

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-sync", "--no-first-run"],
});
interface Round {
  firstMs: number;
  /** The page's clock: navigation start to the end of the first window's draw (-1: no such mark). */
  drawnMs: number;
  wholeMs: number;
  preview: boolean;
  slowestMs: number;
  answered: number;
}

/** One cold open: a new viewer process running `main`, a new page straight at the run. */
async function openOnce(main: string, dir: string): Promise<Round> {
  if (values.fresh) {
    for (const ext of [".seek", ".vix"]) {
      try {
        Deno.removeSync(traceIn(dir) + ext);
      } catch {
        // not there
      }
    }
  }
  const { url, child } = await startViewer(main, dir);
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  try {
    let polling = true, slowestMs = 0, answered = 0;
    const poll = (async () => {
      while (polling) {
        const t = performance.now();
        const res = await fetch(`${url}api/runs`);
        await res.body?.cancel();
        if (res.status !== 200) throw new Error(`/api/runs answered ${res.status}`);
        slowestMs = Math.max(slowestMs, performance.now() - t);
        answered++;
        await new Promise((ok) => setTimeout(ok, 50));
      }
    })();
    const t0 = performance.now();
    if (values.verbose) {
      page.on("requestfinished", (req) => {
        const at = performance.now() - t0;
        console.log(
          `  ${at.toFixed(0)} ms: ${req.url().replace(url, "/")} took ${req.timing().responseEnd.toFixed(0)} ms`,
        );
      });
    }
    await page.goto(`${url}#/run/${encodeURIComponent(values.run!)}`);
    await page.waitForFunction(
      () => Number(document.querySelector('canvas[data-testid="timeline"]')?.getAttribute("data-slices")) > 0,
      undefined,
      { timeout: 120_000, polling: 10 },
    );
    const firstMs = performance.now() - t0;
    // The same moment on the page's own clock (from its navigation start): when the first window's draw ended,
    // without the time this tool's polling over the DevTools protocol takes to notice it (tens to hundreds of ms).
    const drawnMs = await page.evaluate(() => {
      const m = performance.getEntriesByName("lockstep:draw")[0];
      return m ? m.startTime + m.duration : -1;
    });
    if (values.verbose) {
      // The page's own marks (viewer/ui: lockstep:*), in ms from its navigation start.
      const marks = await page.evaluate(() =>
        performance.getEntries().filter((e) => e.name.startsWith("lockstep:")).map((e) => ({
          name: e.name,
          at: e.startTime,
          ms: e.duration,
        }))
      );
      // Chromium's own steps, from the same origin: when it asked for the page, had it, parsed it, first painted.
      const nav = await page.evaluate(() => {
        const n = performance.getEntriesByType("navigation")[0] as PerformanceNavigationTiming | undefined;
        const paint = performance.getEntriesByType("paint").map((e) => ({
          name: `chromium:${e.name}`,
          at: e.startTime,
          ms: 0,
        }));
        const steps = n
          ? [
            { name: "chromium:requestStart (index.html)", at: n.requestStart, ms: 0 },
            { name: "chromium:responseEnd (index.html)", at: n.responseEnd, ms: 0 },
            { name: "chromium:domInteractive", at: n.domInteractive, ms: 0 },
            { name: "chromium:domContentLoadedEventEnd", at: n.domContentLoadedEventEnd, ms: 0 },
          ]
          : [];
        return [...steps, ...paint];
      });
      for (const m of [...marks, ...nav].sort((a, b) => a.at - b.at)) {
        console.log(`  page ${m.at.toFixed(0)} ms: ${m.name}${m.ms > 0 ? ` took ${m.ms.toFixed(0)} ms` : ""}`);
      }
    }
    const preview = await page.locator("[data-testid=preview]").count() > 0;
    await page.waitForFunction(() => document.querySelector("[data-testid=preview]") === null, undefined, {
      timeout: 120_000,
      polling: 20,
    });
    const wholeMs = performance.now() - t0;
    polling = false;
    await poll;
    return { firstMs, drawnMs, wholeMs, preview, slowestMs, answered };
  } finally {
    await page.close();
    child.kill("SIGTERM");
    await child.status;
  }
}

const results: Round[][] = viewers.map(() => []);
try {
  for (let r = 0; r < rounds; r++) {
    for (const [v, viewer] of viewers.entries()) {
      const o = await openOnce(viewer.main, viewer.dir!);
      results[v].push(o);
      console.log(
        `round ${r + 1} (${viewer.name}): first view ${o.firstMs.toFixed(0)} ms (drawn at ${
          o.drawnMs.toFixed(0)
        } ms, page clock)${o.preview ? " (a preview, while indexing)" : ""}, whole run ${
          o.wholeMs.toFixed(0)
        } ms; /api/runs answered ${o.answered} times meanwhile, slowest ${o.slowestMs.toFixed(0)} ms`,
      );
    }
  }
} finally {
  await browser.close();
}
const mmm = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return `min ${s[0].toFixed(0)} / median ${s[s.length >> 1].toFixed(0)} / max ${s[s.length - 1].toFixed(0)} ms`;
};
for (const [v, viewer] of viewers.entries()) {
  const rs = results[v];
  console.log(`${viewer.name}:`);
  console.log(`  first view: ${mmm(rs.map((o) => o.firstMs))}`);
  console.log(`  drawn (page clock): ${mmm(rs.map((o) => o.drawnMs))}`);
  console.log(`  whole run:  ${mmm(rs.map((o) => o.wholeMs))}`);
  console.log(`  slowest /api/runs answer: ${mmm(rs.map((o) => o.slowestMs))}`);
}
