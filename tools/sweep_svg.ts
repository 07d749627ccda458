/**
 * `deno run --allow-read --allow-write tools/sweep_svg.ts IN.json OUT.svg [METRIC] [XMETRIC]`:
 * plots the JSON of `deno task run SCENARIO --sweep k=... --compare key=... --json`
 * as a hand-written SVG line chart: one line per compared variant, METRIC
 * (default throughputGbps) against XMETRIC (default offeredGbps; "value" for
 * the swept value itself). Written to a temporary file beside OUT and renamed.
 * @module
 */
import { basename, dirname, join } from "node:path";

interface SweepRun {
  scenario?: string;
  config: Record<string, unknown>;
  metrics: Record<string, unknown>;
}
interface SweepJson {
  sweep: string;
  points: { value: string; runs: SweepRun[] }[];
}

/** One line of the chart. */
export interface Series {
  readonly name: string;
  readonly points: [number, number][];
}

const W = 640, H = 400, L = 60, R = 170, T = 30, B = 50;
const COLORS = ["#1b6ac9", "#d1495b", "#2e933c", "#8e44ad", "#e69b00", "#555555"];

/** The series of a sweep: one per compared variant (by the config key that differs between runs of a point). */
export function seriesOf(j: SweepJson, metric: string, xMetric: string): Series[] {
  if (j.points.length === 0) return [];
  const runs0 = j.points[0].runs;
  const keys = Object.keys(runs0[0].config);
  const varying = runs0.length > 1
    ? keys.find((k) => runs0.some((r) => r.config[k] !== runs0[0].config[k]))
    : undefined;
  return runs0.map((r0, i) => ({
    name: varying !== undefined ? `${varying}=${r0.config[varying]}` : metric,
    points: j.points.map((p): [number, number] => [
      xMetric === "value" ? Number(p.value) : Number(p.runs[i].metrics[xMetric]),
      Number(p.runs[i].metrics[metric]),
    ]),
  }));
}

/** The SVG text of a line chart. */
export function lineChart(series: Series[], xLabel: string, yLabel: string, title: string): string {
  const xs = series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = series.flatMap((s) => s.points.map((p) => p[1]));
  const xMax = niceMax(Math.max(1e-9, ...xs)), yMax = niceMax(Math.max(1e-9, ...ys));
  const px = (x: number) => L + (x / xMax) * (W - L - R);
  const py = (y: number) => H - B - (y / yMax) * (H - T - B);
  const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;");
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" ` +
      `font-family="sans-serif" font-size="12">`,
  );
  out.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  out.push(`<text x="${W / 2}" y="18" text-anchor="middle" font-size="14">${esc(title)}</text>`);
  for (let i = 0; i <= 5; i++) {
    const x = (xMax * i) / 5, y = (yMax * i) / 5;
    out.push(`<line x1="${px(x)}" y1="${py(0)}" x2="${px(x)}" y2="${py(yMax)}" stroke="#eee"/>`);
    out.push(`<line x1="${px(0)}" y1="${py(y)}" x2="${px(xMax)}" y2="${py(y)}" stroke="#eee"/>`);
    out.push(`<text x="${px(x)}" y="${H - B + 16}" text-anchor="middle">${round(x)}</text>`);
    out.push(`<text x="${L - 6}" y="${py(y) + 4}" text-anchor="end">${round(y)}</text>`);
  }
  out.push(`<line x1="${L}" y1="${py(0)}" x2="${px(xMax)}" y2="${py(0)}" stroke="black"/>`);
  out.push(`<line x1="${L}" y1="${py(0)}" x2="${L}" y2="${py(yMax)}" stroke="black"/>`);
  out.push(`<text x="${(L + W - R) / 2}" y="${H - 12}" text-anchor="middle">${esc(xLabel)}</text>`);
  out.push(`<text transform="translate(16 ${(T + H - B) / 2}) rotate(-90)" text-anchor="middle">${esc(yLabel)}</text>`);
  series.forEach((s, i) => {
    const c = COLORS[i % COLORS.length];
    const d = s.points.map((p, k) => `${k === 0 ? "M" : "L"}${px(p[0]).toFixed(1)},${py(p[1]).toFixed(1)}`).join(" ");
    out.push(`<path d="${d}" fill="none" stroke="${c}" stroke-width="2"/>`);
    for (const p of s.points) {
      out.push(`<circle cx="${px(p[0]).toFixed(1)}" cy="${py(p[1]).toFixed(1)}" r="3" fill="${c}"/>`);
    }
    const ly = T + 10 + i * 18;
    out.push(`<line x1="${W - R + 10}" y1="${ly}" x2="${W - R + 30}" y2="${ly}" stroke="${c}" stroke-width="2"/>`);
    out.push(`<text x="${W - R + 36}" y="${ly + 4}">${esc(s.name)}</text>`);
  });
  out.push("</svg>");
  return out.join("\n") + "\n";
}

function niceMax(v: number): number {
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function round(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toFixed(1);
}

if (import.meta.main) {
  const [inFile, outFile, metric = "throughputGbps", xMetric = "offeredGbps"] = Deno.args;
  if (inFile === undefined || outFile === undefined) {
    console.error("usage: tools/sweep_svg.ts IN.json OUT.svg [METRIC] [XMETRIC|value]");
    Deno.exit(2);
  }
  let j: SweepJson;
  try {
    j = JSON.parse(Deno.readTextFileSync(inFile));
    if (typeof j.sweep !== "string" || !Array.isArray(j.points)) throw new Error("not a --sweep --json output");
  } catch (e) {
    console.error(`sweep_svg: ${inFile}: ${(e as Error).message.split("\n")[0]}`);
    Deno.exit(2);
  }
  const svg = lineChart(
    seriesOf(j, metric, xMetric),
    xMetric === "value" ? j.sweep : xMetric,
    metric,
    `${j.points[0]?.runs[0]?.scenario ?? ""} ${metric} vs ${xMetric === "value" ? j.sweep : xMetric}`.trim(),
  );
  const tmp = join(dirname(outFile), `.${basename(outFile)}.tmp`);
  Deno.writeTextFileSync(tmp, svg);
  Deno.renameSync(tmp, outFile);
}
