/**
 * The viewer UI in headless Chromium, against real runs: keyboard and URL
 * navigation (W/S/A/D around the pointer, help, reload and back restore the
 * view), the go-to box, text search with next/previous, area selection
 * statistics, a violation jump, the wait-for chain of a deadlock, and the
 * comparison of two runs (also opened from the link `deno task replay`
 * prints). Saves a screenshot of each main view to the folder it prints
 * (for a human to look at; nothing is compared pixel by pixel).
 * Skipped only when /usr/bin/chromium is missing.
 */
import { assert, assertEquals } from "./_assert.ts";
import { chromium, type Page } from "playwright-core";
import { recordRun } from "../cli/run.ts";
import { serveViewer } from "../viewer/main.ts";
import { RunQueries, SYNC_INDEX_BYTES_MAX } from "../replay/query.ts";
import { runCli } from "./_cli.ts";
import { startViewer } from "../tools/_viewer_process.ts";

const CHROMIUM = "/usr/bin/chromium";
const hasChromium = (() => {
  try {
    return Deno.statSync(CHROMIUM).isFile;
  } catch {
    return false;
  }
})();

const SHOTS = new URL("./artifacts/viewer/", import.meta.url).pathname;
const ROOT = new URL("..", import.meta.url).pathname;

/** `deno task viewer --dir DIR --port 0` in a new process; resolves its URL once it listens. */
const viewerProcess = (dir: string) => startViewer(`${ROOT}viewer/main.ts`, dir);

/** The lockstep CLI in a new process (as a user runs it). */
const cli = (...args: string[]) => runCli(args, { cwd: ROOT });

async function windowOf(page: Page, testid = "timeline"): Promise<[number, number]> {
  const c = page.locator(`canvas[data-testid="${testid}"]`);
  return [Number(await c.getAttribute("data-t0")), Number(await c.getAttribute("data-t1"))];
}

function hashParams(page: Page): URLSearchParams {
  return new URLSearchParams(new URL(page.url()).hash.split("?")[1] ?? "");
}

async function slicesDrawn(page: Page, testid = "timeline"): Promise<void> {
  await page.waitForFunction(
    (id) => Number(document.querySelector(`canvas[data-testid="${id}"]`)?.getAttribute("data-slices")) > 0,
    testid,
  );
}

/** Presses `key` and waits for the timeline window to change. */
async function pressMoves(page: Page, key: string): Promise<[number, number]> {
  const before = await windowOf(page);
  await page.keyboard.press(key);
  await page.waitForFunction(([t0, t1]) => {
    const c = document.querySelector('canvas[data-testid="timeline"]')!;
    return Number(c.getAttribute("data-t0")) !== t0 || Number(c.getAttribute("data-t1")) !== t1;
  }, before);
  return await windowOf(page);
}

async function selectedIs(page: Page, index: number): Promise<void> {
  await page.waitForFunction((i) => document.querySelector(".state")?.getAttribute("data-at") === String(i), index);
}

Deno.test({
  name: hasChromium ? "viewer UI in Chromium" : `viewer UI in Chromium (skipped: ${CHROMIUM} not found)`,
  ignore: !hasChromium,
  sanitizeOps: false,
  sanitizeResources: false,
}, async (t) => {
  const dir = Deno.makeTempDirSync({ prefix: "lockstep-ui-" });
  recordRun({ scenario: "mutex-storm", seed: 1, overrides: { "sim.eventsMax": "40000" }, out: `${dir}/storm.lstrace` });
  recordRun({ scenario: "lock-abba", seed: 1, overrides: {}, out: `${dir}/abba.lstrace` });
  recordRun({ scenario: "taskq-demo", seed: 1, overrides: {}, out: `${dir}/taskq-1.lstrace` });
  recordRun({ scenario: "taskq-demo", seed: 2, overrides: {}, out: `${dir}/taskq-2.lstrace` });
  const splice = { "sim.durationNs": "300000", "splice.mode": "thread" };
  recordRun({ scenario: "splice-tcp", seed: 1, overrides: splice, out: `${dir}/splice.lstrace` });
  const q = new RunQueries(dir);
  const viewer = await serveViewer({ dir, host: "127.0.0.1", port: 0, onListen: () => {} });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-sync", "--no-first-run"],
  });
  Deno.mkdirSync(SHOTS, { recursive: true });
  console.log(`viewer screenshots: ${SHOTS}`);
  const problems: string[] = [];
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    page.on("console", (m) => m.type() === "error" && problems.push(m.text()));
    page.on("pageerror", (e) => problems.push(e.message));
    const shot = (name: string) => page.screenshot({ path: `${SHOTS}${name}.png`, fullPage: true });

    await t.step("run list", async () => {
      await page.goto(viewer.url);
      await page.waitForSelector("table.runs a.run-link");
      assertEquals(await page.locator("table.runs a.run-link").count(), 5);
      await shot("runs");
    });

    await t.step(
      "keyboard zoom and pan around the pointer; URL keeps the window; reload and back restore it",
      async () => {
        await page.goto(`${viewer.url}#/run/storm`);
        await slicesDrawn(page);
        const canvas = page.locator('canvas[data-testid="timeline"]');
        const box = (await canvas.boundingBox())!;
        const [a0, a1] = await windowOf(page);
        // Pointer at 3/4 of the drawing area: W zooms in around it, keeping the time under it in place.
        const gutter = 120, px = box.x + gutter + (box.width - gutter) * 0.75;
        await page.mouse.move(px, box.y + 30);
        const tPointer = a0 + (a1 - a0) * 0.75;
        const [b0, b1] = await pressMoves(page, "w");
        assert(b1 - b0 < (a1 - a0) * 0.8, "W zooms in");
        const frac = (tPointer - b0) / (b1 - b0);
        assert(Math.abs(frac - 0.75) < 0.02, `the time under the pointer stays put (${frac})`);
        await pressMoves(page, "w");
        const [c0, c1] = await pressMoves(page, "w");
        const [d0, d1] = await pressMoves(page, "d");
        assert(Math.abs(d0 - c0 - (c1 - c0) * 0.2) <= 2, "D pans right by a fifth of the window");
        assertEquals(d1 - d0, c1 - c0);
        const [f0] = await pressMoves(page, "a");
        assert(Math.abs(f0 - c0) <= 2, "A pans back");
        const [e0, e1] = await pressMoves(page, "s");
        assert(e1 - e0 > c1 - c0, "S zooms out");
        assertEquals(Number(hashParams(page).get("t0")), e0, "the URL holds the window");
        assertEquals(Number(hashParams(page).get("t1")), e1);
        await page.keyboard.press("?");
        await page.waitForSelector("[data-testid=help]");
        await shot("help");
        await page.keyboard.press("Escape");
        await page.waitForSelector("[data-testid=help]", { state: "detached" });
        await page.reload();
        await slicesDrawn(page);
        assertEquals(await windowOf(page), [e0, e1], "reload restores the window");
        // A discrete move (go to an event) is a history entry; back returns to the window before it.
        await page.fill("input[name=goto]", "#1500");
        await page.press("input[name=goto]", "Enter");
        await selectedIs(page, 1500);
        assertEquals(hashParams(page).get("sel"), "1500", "the URL holds the selection");
        const [g0, g1] = await windowOf(page);
        await page.goBack();
        await page.waitForFunction(() => !location.hash.includes("sel="));
        await page.waitForFunction((t0) => {
          return document.querySelector('canvas[data-testid="timeline"]')!.getAttribute("data-t0") === String(t0);
        }, e0);
        await page.goForward();
        await selectedIs(page, 1500);
        assertEquals(await windowOf(page), [g0, g1], "forward returns to the selection");
        await shot("run");
      },
    );

    await t.step("go to a time: the window centres on it and the first event there is selected", async () => {
      const d = q.detail("storm");
      const tGo = Math.floor(d.tFirst + (d.simNs - d.tFirst) * 0.4);
      const want = q.indexAtTime("storm", tGo);
      await page.fill("input[name=goto]", `${tGo}ns`);
      await page.press("input[name=goto]", "Enter");
      await selectedIs(page, want);
      const [w0, w1] = await windowOf(page);
      assert(w0 <= tGo && tGo <= w1);
    });

    await t.step("text search: next and previous move the selection and the timeline", async () => {
      const from = Number(await page.locator(".state").getAttribute("data-at"));
      const n1 = q.search("storm", "storm_mtx2", from, "next").index!;
      const n2 = q.search("storm", "storm_mtx2", n1, "next").index!;
      await page.fill("input[name=search]", "storm_mtx2");
      await page.press("input[name=search]", "Enter");
      await selectedIs(page, n1);
      await page.click("text=next ▶");
      await selectedIs(page, n2);
      await page.click("text=◀ prev");
      await selectedIs(page, n1);
      assertEquals(hashParams(page).get("q"), "storm_mtx2", "the URL holds the search");
      const tN1 = (q.events("storm", n1, 1, {}).events[0] as { tNs: number }).tNs;
      const [s0, s1] = await windowOf(page);
      assert(s0 <= tN1 && tN1 <= s1, "the timeline shows the match");
      await shot("search");
    });

    await t.step("area selection: duration and per-thread statistics", async () => {
      const canvas = page.locator('canvas[data-testid="timeline"]');
      const box = (await canvas.boundingBox())!;
      const y = box.y + 30;
      await page.keyboard.down("Shift");
      await page.mouse.move(box.x + 300, y);
      await page.mouse.down();
      await page.mouse.move(box.x + 500, y, { steps: 5 });
      await page.mouse.move(box.x + 700, y, { steps: 5 });
      await page.mouse.up();
      await page.keyboard.up("Shift");
      const stats = page.locator("[data-testid=area-stats]");
      await stats.waitFor();
      const [v0, v1] = await windowOf(page);
      const dur = Number(await stats.getAttribute("data-duration"));
      const expect = (v1 - v0) * 400 / (box.width - 120);
      assert(Math.abs(dur - expect) / expect < 0.05, `area duration ${dur} ~ ${expect}`);
      assert(await stats.locator("tr[data-thread]").count() > 0, "per-thread rows");
      await shot("area");
    });

    await t.step("a violation jumps to and zooms on its event", async () => {
      const v = q.detail("abba").violations[0];
      await page.goto(`${viewer.url}#/run/abba`);
      await slicesDrawn(page);
      await page.locator("[data-testid=violation]").first().click();
      await selectedIs(page, v.index);
      const [w0, w1] = await windowOf(page);
      assert(w0 <= v.tNs && v.tNs <= w1, "the violation is in view");
      assert(w1 - w0 <= 20_000, "and zoomed on");
      await shot("violation");
    });

    await t.step("wait-for chain at a deadlock: thread -> lock -> owner -> lock -> back", async () => {
      const lastWait = q.events("abba", 0, 100, { kinds: new Set([31]) }).events.at(-1) as { index: number };
      await page.fill("input[name=goto]", `#${lastWait.index}`);
      await page.press("input[name=goto]", "Enter");
      await selectedIs(page, lastWait.index);
      const chain = page.locator("[data-testid=wait-chain]");
      await chain.waitFor();
      assertEquals(await chain.getAttribute("data-cycle"), "true", "the chain closes a cycle");
      assertEquals(await chain.locator("li[data-thread]").count(), 2);
      const text = await chain.textContent();
      assert(text!.includes("held by"), text!);
      await shot("wait-chain");
    });

    await t.step("a link restores a narrow window: counter tracks, lock lanes, wakeups", async () => {
      await page.goto(`${viewer.url}#/run/splice?t0=150000&t1=170000`);
      await slicesDrawn(page);
      assertEquals(await windowOf(page), [150000, 170000]);
      const rows = (await page.locator('canvas[data-testid="timeline"]').getAttribute("data-rows"))!.split("|");
      for (let c = 0; c < 4; c++) {
        assert(rows.some((r) => r.startsWith(`run queue cpu${c}`)), `run queue cpu${c} track`);
      }
      const tl = q.timeline("splice", 150000, 170000, 1000);
      for (const c of tl.counters) assert(rows.includes(c.name), `counter track ${c.name} drawn`);
      assert(rows.some((r) => /^so#\d+ (rcv|snd)/.test(r)), "a socket buffer track");
      assert(tl.wakeups.length > 0 && tl.spans.length > 0, "the window has wakeups and lock spans");
      // Selecting a packet's event joins its network flow's hops across CPUs.
      const hop = tl.packets.find((p) => p.hops.length > 1)!;
      await page.fill("input[name=goto]", `#${hop.hops[0].ev}`);
      await page.press("input[name=goto]", "Enter");
      await selectedIs(page, hop.hops[0].ev);
      // (the window moved to centre the event, so count the hops the page has, at least this packet's)
      await page.waitForFunction(
        ([f, n]) => {
          const [flow, hops] =
            (document.querySelector('canvas[data-testid="timeline"]')!.getAttribute("data-flow") ?? "")
              .split(":").map(Number);
          return flow === f && hops >= n;
        },
        [hop.flow, hop.hops.length],
      );
      await page.click("text=per-thread tracks");
      await page.waitForFunction(() =>
        document.querySelector('canvas[data-testid="timeline"]')!.getAttribute("data-rows")!.includes("softnet")
      );
      await shot("counters-tracks");
    });

    await t.step("compare two runs: the first divergent event marked on both", async () => {
      const cmp = q.compare("taskq-1", "taskq-2");
      assert(cmp.divergence !== null);
      await page.goto(`${viewer.url}#/compare?a=taskq-1&b=taskq-2`);
      const el = page.locator("[data-testid=compare]");
      await el.waitFor();
      assertEquals(await el.getAttribute("data-divergence"), String(cmp.divergence.event));
      await slicesDrawn(page, "timeline-taskq-1");
      await slicesDrawn(page, "timeline-taskq-2");
      await shot("compare");
    });
    await t.step("replay's comparison link opens the two runs with the first divergent event marked", async () => {
      // A scenario module recorded, then changed (500 ns of work become 700), as a user would.
      const doc = Deno.readTextFileSync(new URL("../docs/writing-scenarios.md", import.meta.url));
      const src = doc.match(/```ts\n\/\/ file: deferred_free.ts\n([\s\S]*?)```/)![1];
      const mod = `${dir}/deferred_free.ts`;
      Deno.writeTextFileSync(mod, src);
      assertEquals((await cli("run", mod, "--seed", "2", "--out", `${dir}/golden.lstrace`)).code, 0);
      Deno.writeTextFileSync(mod, src.replace("yield m.spend(500);", "yield m.spend(700);"));
      const r = await cli("replay", `${dir}/golden.lstrace`);
      assertEquals(r.code, 1, r.out + r.err);
      const event = Number(r.out.match(/first divergence at event (\d+)/)![1]);
      const link = r.out.match(/compare: deno task viewer --dir (\S+), then (\S+)/)!;
      assertEquals(link[1], dir);
      const hash = new URL(link[2]).hash;
      assertEquals(hash, "#/compare?a=golden&b=golden.rerun");
      await page.goto(`${viewer.url}${hash}`);
      const el = page.locator("[data-testid=compare]");
      await el.waitFor();
      assertEquals(await el.getAttribute("data-divergence"), String(event), "the divergence replay printed");
      const recorded = JSON.parse(r.out.match(/recorded: (.*)/)![1]),
        produced = JSON.parse(r.out.match(/produced: (.*)/)![1]);
      for (const [id, ev] of [["golden", recorded], ["golden.rerun", produced]]) {
        await slicesDrawn(page, `timeline-${id}`);
        const marks = await page.locator(`canvas[data-testid="timeline-${id}"]`).getAttribute("data-marks");
        assertEquals(marks, String(ev.tNs), `${id}: its divergent event is marked at its own time`);
      }
      assert(recorded.tNs !== produced.tNs, "the two runs part at different times");
      await shot("compare-rerun");
    });
    await t.step("a cold open takes the schema from the page and asks for the run at once", async () => {
      const p3 = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
      try {
        const asked: string[] = [];
        p3.on("request", (r) => asked.push(new URL(r.url()).pathname));
        await p3.goto(`${viewer.url}#/run/storm`);
        await slicesDrawn(p3);
        assert(!asked.includes("/api/schema"), "the schema came with index.html, not by a request of its own");
        assert(asked.includes("/api/runs/storm"), "the run was asked for");
        const d = q.detail("storm");
        assertEquals(await windowOf(p3), [d.tFirst, d.simNs], "the whole run's window");
        assertEquals(
          await p3.locator("[data-testid=contextSwitches]").textContent(),
          String(d.summary.contextSwitches),
        );
      } finally {
        await p3.close();
      }
    });
    await t.step("a large run indexed before opens whole on a new server (time printed, not asserted)", async () => {
      const big = Deno.makeTempDirSync({ prefix: "lockstep-ui-big-" });
      try {
        recordRun({
          scenario: "mutex-storm",
          seed: 1,
          overrides: { "sim.eventsMax": "400000", "sim.durationNs": "100000000000" },
          out: `${big}/storm.lstrace`,
        });
        const want = new RunQueries(big); // indexes it and saves the index beside it, as a first server's Worker does
        const d = want.detail("storm");
        want.close();
        assert(d.size > SYNC_INDEX_BYTES_MAX, "a run indexed in the background");
        // A viewer process as `deno task viewer` starts it (in this test process, the Worker's first start
        // would include type-checking its module).
        const v = await viewerProcess(big);
        const p2 = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
        try {
          const t0 = performance.now();
          await p2.goto(`${v.url}#/run/storm`);
          await slicesDrawn(p2);
          console.log(
            `cold open of a ${d.events}-event run from its persisted index: ${(performance.now() - t0).toFixed(0)} ms`,
          );
          assertEquals(await p2.locator("[data-testid=preview]").count(), 0, "the whole run, not a preview");
          assertEquals(
            await p2.locator("[data-testid=contextSwitches]").textContent(),
            String(d.summary.contextSwitches),
          );
          const [w0, w1] = await windowOf(p2);
          assertEquals([w0, w1], [d.tFirst, d.simNs], "the whole run's window");
        } finally {
          await p2.close();
          await v.close();
        }
      } finally {
        Deno.removeSync(big, { recursive: true });
      }
    });
    assertEquals(problems, [], "no console errors (a CSP violation would show here)");
  } finally {
    await browser.close();
    await viewer.close();
    q.close();
    Deno.removeSync(dir, { recursive: true });
  }
});
