/**
 * The viewer in headless Chromium: records a run, serves it on an ephemeral
 * loopback port, opens the run page, checks the timeline draws slices, clicks
 * a slice and an event row and sees the state inspector follow, and saves a
 * screenshot to tests/artifacts/. Skipped only when /usr/bin/chromium is
 * missing.
 */
import { assert, assertEquals } from "./_assert.ts";
import { chromium } from "playwright-core";
import { recordRun } from "../cli/run.ts";
import { serveViewer } from "../viewer/main.ts";

const CHROMIUM = "/usr/bin/chromium";
const hasChromium = (() => {
  try {
    return Deno.statSync(CHROMIUM).isFile;
  } catch {
    return false;
  }
})();

Deno.test({
  name: hasChromium
    ? "viewer in Chromium: timeline, click, state inspector"
    : `viewer in Chromium (skipped: ${CHROMIUM} not found)`,
  ignore: !hasChromium,
  // Playwright keeps pipes and timers of its own around the browser process.
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  const dir = Deno.makeTempDirSync({ prefix: "lockstep-browser-" });
  recordRun({ scenario: "taskq-demo", seed: 1, overrides: {}, out: `${dir}/taskq-demo-1.lstrace` });
  const viewer = await serveViewer({ dir, host: "127.0.0.1", port: 0, onListen: () => {} });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const problems: string[] = [];
    page.on("console", (m) => m.type() === "error" && problems.push(m.text()));
    page.on("pageerror", (e) => problems.push(e.message));
    await page.goto(`${viewer.url}#/run/taskq-demo-1`);
    const canvas = page.locator("canvas.tl-canvas");
    await page.waitForFunction(() =>
      Number(document.querySelector("canvas.tl-canvas")?.getAttribute("data-slices")) > 0
    );
    const slices = Number(await canvas.getAttribute("data-slices"));
    assert(slices > 0, "the timeline draws slices");
    assert((await page.locator(".state[data-at]").count()) === 0, "no state before a selection");

    const [x, y] = (await canvas.getAttribute("data-hit"))!.split(",").map(Number);
    await canvas.click({ position: { x, y } });
    await page.waitForSelector(".state[data-at]");
    const first = await page.locator(".state").getAttribute("data-at");
    assert(first !== null && Number(first) >= 0, "clicking a slice selects an event");
    assert((await page.locator(".state table.st").count()) > 0, "the inspector shows tables");

    // Read the row's index and click it in one step inside the page: the table may
    // re-render between two separate Playwright calls (it follows the timeline).
    await page.waitForSelector("table.ev tbody tr:nth-child(4)");
    const index = await page.evaluate(() => {
      const tr = document.querySelectorAll<HTMLElement>("table.ev tbody tr")[3];
      tr.click();
      return tr.getAttribute("data-index");
    });
    await page.waitForFunction((want) => document.querySelector(".state")?.getAttribute("data-at") === want, index);
    assertEquals(await page.locator(".state").getAttribute("data-at"), index, "the inspector follows the table");
    assert((await page.locator("table.ev tr.sel").count()) === 1, "the selected row is marked");

    Deno.mkdirSync(new URL("./artifacts/", import.meta.url), { recursive: true });
    await page.screenshot({ path: new URL("./artifacts/viewer.png", import.meta.url).pathname, fullPage: true });
    assertEquals(problems, [], "no console errors (a CSP violation would show here)");
  } finally {
    await browser.close();
    await viewer.close();
    Deno.removeSync(dir, { recursive: true });
  }
});
