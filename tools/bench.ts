/**
 * `deno task bench [--quick] [--json]`: every performance figure of issue 15,
 * measured in one run. Each timed figure is warmed up once, then repeated 3
 * times (each repeat at least ~1 M events, or 1 s, outside `--quick`), and
 * printed as min / median / max with its aim. Sizes are deterministic and
 * measured once. The same event stream is also encoded and decoded with peer
 * formats (NDJSON, msgpackr, protobuf: tools/bench_peers.ts) and our ratio
 * against each is printed. `--quick` shrinks every size (CI smoke, under a
 * minute, no aims enforced); no figure is ever asserted by a test.
 * @module
 */
import { parseArgs } from "node:util";
import process from "node:process";
import { runScenario, SCENARIOS } from "../drivers/mod.ts";
import { recordRun } from "../cli/run.ts";
import { exploreBench } from "../cli/explore.ts";
import { checkTrace, replayFile, warmReadAhead } from "../replay/mod.ts";
import { TraceWriter } from "../recorder/writer.ts";
import { HAND_OFF_EVENTS, WARM_HAND_OFF_EVENTS } from "../recorder/threaded.ts";
import { TraceReader } from "../replay/reader.ts";
import { EventRecord, type EventSink } from "../core/event.ts";
import { FIELDS_MAX, KIND } from "../core/schema.ts";
import { eventToNdjson, type StringLookup } from "../format/json.ts";
import { type EventColumns, msgpackrCodec, type PeerCodec, protobufCodec } from "./bench_peers.ts";

const args = parseArgs({ args: Deno.args, options: { quick: { type: "boolean" }, json: { type: "boolean" } } });
const quick = args.values.quick === true;
const json = args.values.json === true;
const REPEATS = 3;
const out: Record<string, unknown> = {};
const say = (s: string) => {
  if (!json) console.log(s);
};
const dir = Deno.makeTempDirSync({ prefix: "lockstep-bench-" });
const main = new URL("../cli/main.ts", import.meta.url).pathname;

/** min, median, max of samples. */
function spread(xs: number[]): { min: number; median: number; max: number } {
  const s = [...xs].sort((a, b) => a - b);
  return { min: s[0], median: s[Math.floor(s.length / 2)], max: s[s.length - 1] };
}

/** Runs `fn` once to warm up, then REPEATS times; returns the wall milliseconds of each repeat. */
function timed(fn: () => void): number[] {
  fn();
  const ms: number[] = [];
  for (let r = 0; r < REPEATS; r++) {
    const t0 = performance.now();
    fn();
    ms.push(performance.now() - t0);
  }
  return ms;
}

const M = (v: number) => (v / 1e6).toFixed(2);
/** Prints and records a rate figure (events per second from per-repeat milliseconds). */
function rate(key: string, label: string, events: number, ms: number[], aim: string): void {
  const r = spread(ms.map((m) => events / m * 1000));
  out[key] = { events, ...r, aim };
  say(`${label.padEnd(44)} ${M(r.min)} / ${M(r.median)} / ${M(r.max)} M ev/s   aim ${aim}`);
}
/** Prints and records a figure where smaller is better (ratios, milliseconds). */
function lower(key: string, label: string, xs: number[], unit: string, aim: string): void {
  const r = spread(xs);
  out[key] = { ...r, aim };
  const f = (v: number) => v.toFixed(unit === "ms" ? 0 : 2);
  say(`${label.padEnd(44)} ${f(r.min)} / ${f(r.median)} / ${f(r.max)} ${unit}   aim ${aim}`);
}

say(
  `lockstep bench${quick ? " --quick (sizes shrunk, aims not meant to hold)" : ""}: min / median / max of ${REPEATS}`,
);

// 1. Recording: simulate + encode + write to a file, against the same run without a writer.
// About 4 M events a run: the CLI's writer hands over to a worker thread after HAND_OFF_EVENTS (2^20),
// so a run of a few million events is mostly written off the simulation thread (recorder/threaded.ts).
say("\n== recording (whole run to a file) and the writer's overhead ==");
say(
  `(the writer encodes on the simulation thread for the first ${HAND_OFF_EVENTS} events of a process, ${WARM_HAND_OFF_EVENTS} once its worker runs, then on the worker)`,
);
const recordRuns: [string, number, string][] = [
  ["taskq-demo", quick ? 50e6 : 2000e6, ">= 10 M ev/s"],
  ["mutex-storm", quick ? 25e6 : 1000e6, ">= 10 M ev/s"],
  ["splice-tcp", quick ? 4e6 : 100e6, ">= 5 M ev/s"],
];
/** CPU milliseconds this (the simulation) thread has used (Node's process.threadCpuUsage); NaN where missing. */
function threadCpuMs(): number {
  const usage = (process as { threadCpuUsage?: () => { user: number; system: number } }).threadCpuUsage;
  if (typeof usage !== "function") return NaN;
  const u = usage();
  return (u.user + u.system) / 1000;
}
for (const [scenario, ns, aim] of recordRuns) {
  const overrides = { "sim.durationNs": String(ns) };
  const file = `${dir}/${scenario}.lstrace`;
  let events = 0;
  const recCpu: number[] = [], bareCpu: number[] = [];
  const cpuOf = (into: number[], fn: () => void) => () => {
    const c0 = threadCpuMs();
    fn();
    into.push(threadCpuMs() - c0);
  };
  const rec = timed(cpuOf(recCpu, () => void (events = recordRun({ scenario, seed: 1, overrides, out: file }).events)));
  const bare = timed(cpuOf(bareCpu, () => void recordRun({ scenario, seed: 1, overrides, out: null })));
  rate(`record.${scenario}`, `record ${scenario} (${events} events)`, events, rec, aim);
  rate(`noTrace.${scenario}`, `  run --no-trace ${scenario}`, events, bare, "-");
  const rs = [...rec].sort((a, b) => a - b), bs = [...bare].sort((a, b) => a - b);
  lower(
    `overhead.${scenario}`,
    `  recording overhead (file vs no writer)`,
    rs.map((r, i) => r / bs[i]),
    "x",
    "<= 1.2x",
  );
  // The warm-up's CPU is in the first entry of each; the repeats are the rest.
  const rc = recCpu.slice(1).sort((a, b) => a - b), bc = bareCpu.slice(1).sort((a, b) => a - b);
  // The accounting counts 10 ms ticks: only runs of a tenth of a second or more say anything.
  if (rc.every(Number.isFinite) && bc.every((x) => x >= 100)) {
    lower(
      `overheadCpu.${scenario}`,
      `  the same in simulation-thread CPU`,
      rc.map((r, i) => r / bc[i]),
      "x",
      "-",
    );
  }
}

// 2. Size of every shipped scenario.
say("\n== trace size, every shipped scenario (50 ms simulated, seed 1) ==");
const sizes: Record<string, number> = {};
for (const s of SCENARIOS) {
  const w = TraceWriter.memory({ tool: "bench", scenario: s.name, seed: 1, cpus: 4, config: {}, inputs: [] });
  runScenario({
    scenario: s.name,
    seed: 1,
    overrides: { "sim.durationNs": quick ? "5000000" : "50000000" },
    sinks: [w],
  });
  const bpe = w.bytes().length / Math.max(1, w.events);
  sizes[s.name] = bpe;
  const note = w.events < 10_000 ? "  (short run: the fixed header and footer dominate)" : "";
  say(
    `${s.name.padEnd(22)} ${String(w.events).padStart(9)} events ${
      bpe.toFixed(2).padStart(7)
    } B/event   aim <= 2${note}`,
  );
}
out.sizes = sizes;

// 3. Codecs on one event stream: lockstep against NDJSON, msgpackr and protobuf.
const codecScenario = "splice-udp";
say(`\n== encode / decode of the same events (${codecScenario}) against peer formats ==`);
const ev = collect((sink) =>
  runScenario({
    scenario: codecScenario,
    seed: 1,
    overrides: { "sim.durationNs": quick ? "5000000" : "50000000" },
    sinks: [sink],
  })
);
const header = { tool: "bench", scenario: codecScenario, seed: 1, cpus: 4, config: {}, inputs: [] };
let lsBytes: Uint8Array = new Uint8Array(0);
const lsEnc = timed(() => {
  const w = TraceWriter.memory(header);
  replay(ev, w);
  w.close();
  lsBytes = w.bytes();
});
let sum = 0;
const lsDecBlocks = timed(() => {
  TraceReader.fromBytes(lsBytes).forEachBlock((b) => {
    // A local sum: adding to the captured `sum` boxes a number per event, which would time the garbage collector.
    let local = 0;
    for (let i = 0; i < b.count; i++) local += b.fields[i * FIELDS_MAX];
    sum += local;
  });
});
const lsDecRecords = timed(() => void TraceReader.fromBytes(lsBytes).forEach((e) => void (sum += e.fields[0])));
rate("codec.lockstep.encode", `lockstep encode (${ev.length} events)`, ev.length, lsEnc, "-");
rate("codec.lockstep.decode", "lockstep decode, columns (zstd + CRC incl.)", ev.length, lsDecBlocks, ">= 30 M ev/s");
rate("codec.lockstep.decodeRecords", "lockstep decode, a record per event", ev.length, lsDecRecords, "-");
say(`lockstep size ${(lsBytes.length / ev.length).toFixed(2)} B/event`);
const med = (xs: number[]) => spread(xs).median;
const peers: PeerCodec[] = [ndjsonCodec(ev), msgpackrCodec, protobufCodec];
for (const p of peers) {
  let chunks: Uint8Array[] = [];
  const enc = timed(() => void (chunks = p.encode(ev)));
  const dec = timed(() => {
    const n = p.decode(chunks, (e) => void (sum += e.fields[0]));
    if (n !== ev.length) throw new Error(`bench: ${p.name} decoded ${n} of ${ev.length} events`);
  });
  const bytes = chunks.reduce((n, c) => n + c.length, 0);
  rate(`codec.${p.name}.encode`, `${p.name} encode`, ev.length, enc, "-");
  rate(`codec.${p.name}.decode`, `${p.name} decode`, ev.length, dec, "-");
  const ratios = {
    size: bytes / lsBytes.length,
    encode: med(enc) / med(lsEnc),
    decode: med(dec) / med(lsDecRecords),
  };
  out[`ratio.${p.name}`] = { bytesPerEvent: bytes / ev.length, ...ratios };
  say(
    `  ${p.name}: ${(bytes / ev.length).toFixed(2)} B/event; lockstep is ${ratios.size.toFixed(1)}x smaller, ` +
      `encodes ${ratios.encode.toFixed(1)}x and decodes (records) ${ratios.decode.toFixed(1)}x as fast`,
  );
}

// 4. Replay: fold + digests, re-execution, and seeking from a new process.
say("\n== replay ==");
const big = `${dir}/big.lstrace`;
const bigRec = recordRun({
  scenario: "mutex-storm",
  seed: 1,
  overrides: { "sim.durationNs": quick ? "20000000" : "2200000000" },
  out: big,
});
let folded = 0;
const fold = timed(() => void (folded = checkTrace(big).events));
rate("fold", `fold + digest check (${folded} events)`, folded, fold, ">= 30 M ev/s");
const mid = `${dir}/mid.lstrace`;
const midRec = timed(() =>
  void recordRun({
    scenario: "mutex-storm",
    seed: 1,
    overrides: { "sim.durationNs": quick ? "10000000" : "250000000" },
    out: mid,
  })
);
// A process that replays several traces starts the read-ahead worker up front (as the recorder's
// worker is warm here too): the figure is a warm process's, like every in-process figure.
warmReadAhead();
const full = timed(() => void replayFile(mid, { resolve: (h) => SCENARIOS.find((s) => s.name === h.scenario)! }));
const ms = [...midRec].sort((a, b) => a - b), fs = [...full].sort((a, b) => a - b);
lower("replayVsRecord", "full replay (fold + re-execution) / recording", fs.map((f, i) => f / ms[i]), "x", "<= 1.1x");
const seekMs: number[] = [];
// The first call may build the seek snapshots; the figure is what a user sees after that.
await seekOnce(bigRec.events - 1); // --at N: the state after event N, the last one here
for (const frac of [0.1, 0.5, 0.97]) seekMs.push(await seekOnce(Math.floor(bigRec.events * frac)));
lower("seekNewProcess", `replay --at N --json, new process (${bigRec.events} ev)`, seekMs, "ms", "<= 150 ms");
viewerCold(quick ? 1 : REPEATS);

// 5. Exploration, as a user runs it: a new process, workers, shrinking of what it finds and its trace, all counted.
say("\n== exploration ==");
const exploreSeedsN = quick ? 100 : 1000;
const exploreWall: number[] = [];
for (let r = 0; r <= REPEATS; r++) {
  const t0 = performance.now();
  const o = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--allow-write", "--allow-env", main, "explore", "splice-refrace", "--jobs", "2"]
      .concat(["--seeds", String(exploreSeedsN), "--json", "--out", `${dir}/explore`]),
    stdout: "piped",
    stderr: "piped",
  }).output();
  const wallMs = performance.now() - t0;
  if (o.code !== 1) throw new Error(`explore splice-refrace: exit ${o.code}, expected 1 (a finding)`);
  if (r > 0) exploreWall.push(wallMs); // the first is the warm-up
}
{
  const r = spread(exploreWall.map((ms) => exploreSeedsN / ms * 1000));
  out.explore = { seeds: exploreSeedsN, ...r, aim: ">= 500 seeds/s" };
  const f = (v: number) => v.toFixed(0);
  const label = `explore splice-refrace --jobs 2 (${exploreSeedsN} seeds)`;
  say(`${label.padEnd(44)} ${f(r.min)} / ${f(r.median)} / ${f(r.max)} seeds/s   aim >= 500 seeds/s (whole process)`);
}
{
  const r = await exploreBench("splice-refrace", quick ? 20 : 200, 2);
  out.exploreRuns = r;
  say(`  in process, no shrinking: ${r.runsPerSec} runs/s (${r.runs} runs)`);
}
Deno.removeSync(dir, { recursive: true });
if (json) console.log(JSON.stringify(out));

/** Wall milliseconds of `replay --at at --json big` in a new process. */
async function seekOnce(at: number): Promise<number> {
  const t0 = performance.now();
  const o = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--allow-write", "--allow-env", main, "replay", "--at", String(at), "--json", big],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const wall = performance.now() - t0;
  if (o.code !== 0) throw new Error(`bench: replay --at failed: ${new TextDecoder().decode(o.stderr)}`);
  return wall;
}

/** Collects a run's events into columns. */
function collect(produce: (sink: EventSink) => void): EventColumns {
  let cap = 1 << 16, n = 0;
  let c = {
    tNs: new Float64Array(cap),
    cpu: new Uint16Array(cap),
    thread: new Float64Array(cap),
    kind: new Uint8Array(cap),
    fields: new Float64Array(cap * FIELDS_MAX),
  };
  const texts = new Map<number, string>();
  produce({
    onEvent(e) {
      if (n === cap) {
        cap *= 2;
        const g = {
          tNs: new Float64Array(cap),
          cpu: new Uint16Array(cap),
          thread: new Float64Array(cap),
          kind: new Uint8Array(cap),
          fields: new Float64Array(cap * FIELDS_MAX),
        };
        g.tNs.set(c.tNs), g.cpu.set(c.cpu), g.thread.set(c.thread), g.kind.set(c.kind), g.fields.set(c.fields);
        c = g;
      }
      c.tNs[n] = e.tNs;
      c.cpu[n] = e.cpu;
      c.thread[n] = e.thread;
      c.kind[n] = e.kind;
      c.fields.set(e.fields, n * FIELDS_MAX);
      if (e.kind === KIND.strDef) texts.set(n, e.text);
      n++;
    },
  });
  return { length: n, ...c, texts };
}

/** Feeds collected events to a sink through one reused record. */
function replay(ev: EventColumns, sink: EventSink): void {
  const rec = new EventRecord();
  for (let i = 0; i < ev.length; i++) {
    rec.index = i;
    rec.tNs = ev.tNs[i];
    rec.cpu = ev.cpu[i];
    rec.thread = ev.thread[i];
    rec.kind = ev.kind[i];
    for (let j = 0; j < FIELDS_MAX; j++) rec.fields[j] = ev.fields[i * FIELDS_MAX + j];
    rec.text = rec.kind === KIND.strDef ? ev.texts.get(i)! : "";
    sink.onEvent(rec);
  }
}

/** NDJSON (format/json.ts, as `export --format ndjson` writes it), in chunks of lines. */
function ndjsonCodec(ev: EventColumns): PeerCodec {
  const byId = new Map<number, string>();
  for (const [i, t] of ev.texts) byId.set(ev.fields[i * FIELDS_MAX], t);
  const strings: StringLookup = { string: (id: number) => byId.get(id) };
  const idOf = new Map([...byId].map(([id, t]) => [t, id]));
  const enc = new TextEncoder(), dec = new TextDecoder();
  return {
    name: "ndjson",
    encode(ev) {
      const chunks: Uint8Array[] = [];
      let lines: string[] = [];
      replay(ev, {
        onEvent(e) {
          lines.push(eventToNdjson(e, strings));
          if (lines.length === 16384) {
            chunks.push(enc.encode(lines.join("\n") + "\n"));
            lines = [];
          }
        },
      });
      if (lines.length > 0) chunks.push(enc.encode(lines.join("\n") + "\n"));
      return chunks;
    },
    decode(chunks, fn) {
      // Parse and hand out each event; names stay names (a user of NDJSON reads them as they are).
      const rec = new EventRecord();
      let n = 0;
      for (const c of chunks) {
        for (const line of dec.decode(c).split("\n")) {
          if (line === "") continue;
          const o = JSON.parse(line);
          rec.index = o.index;
          rec.tNs = o.tNs;
          rec.cpu = o.cpu;
          rec.thread = o.thread;
          rec.text = o.text ?? "";
          const vals = Object.values(o.fields ?? {});
          for (let j = 0; j < FIELDS_MAX; j++) {
            const v = vals[j];
            rec.fields[j] = typeof v === "number" ? v : typeof v === "string" ? (idOf.get(v) ?? 0) : 0;
          }
          n++;
          fn(rec);
        }
      }
      return n;
    },
  };
}

/**
 * The viewer's first open of the 10 M-event trace (`big`), as a user meets it: tools/viewer_cold.ts starts a new
 * viewer process and a new Chromium page per round and times navigation until the timeline has drawn slices. Two
 * figures: the first-ever open (no sidecars: the Worker indexes the trace, the page shows a preview meanwhile) and an
 * open with the index persisted beside the trace by an earlier one (`FILE.vix`). Skipped, and said so, without Chromium.
 */
function viewerCold(rounds: number): void {
  const chromium = "/usr/bin/chromium";
  let have = false;
  try {
    have = Deno.statSync(chromium).isFile;
  } catch {
    have = false;
  }
  if (!have) {
    out.viewerFirstOpen = { skipped: `${chromium} not found` };
    say(`viewer first open: skipped (${chromium} not found)`);
    return;
  }
  const tool = new URL("./viewer_cold.ts", import.meta.url).pathname;
  const lock = new URL("../deno.lock", import.meta.url).pathname;
  const openMs = (fresh: boolean): { seen: number[]; drawn: number[] } => {
    const o = new Deno.Command(Deno.execPath(), {
      args: ["run", `--lock=${lock}`, "--allow-all", tool, "--dir", dir, "--run", "big", "--n", String(rounds)]
        .concat(fresh ? ["--fresh"] : []),
      stdout: "piped",
      stderr: "piped",
    }).outputSync();
    const text = new TextDecoder().decode(o.stdout);
    const rows = [...text.matchAll(/first view (\d+) ms \(drawn at (-?\d+) ms/g)];
    if (o.code !== 0 || rows.length !== rounds || rows.some((m) => Number(m[2]) < 0)) {
      throw new Error(`viewer_cold.ts: exit ${o.code}: ${new TextDecoder().decode(o.stderr).split("\n")[0]}`);
    }
    return { seen: rows.map((m) => Number(m[1])), drawn: rows.map((m) => Number(m[2])) };
  };
  // Seen: navigation to the tool noticing the drawn timeline (what the aim is held to). Drawn: the page's own clock,
  // navigation start to the end of the first draw, without the tool's polling latency.
  const fresh = openMs(true), persisted = openMs(false);
  lower(
    "viewerFirstOpenFresh",
    `viewer first open, new server, never indexed (${bigRec.events} ev)`,
    fresh.seen,
    "ms",
    "<= 500 ms",
  );
  lower("viewerFirstOpenFreshDrawn", "  the same, drawn (page clock)", fresh.drawn, "ms", "-");
  lower("viewerFirstOpen", "viewer first open, new server, index persisted", persisted.seen, "ms", "<= 500 ms");
  lower("viewerFirstOpenDrawn", "  the same, drawn (page clock)", persisted.drawn, "ms", "-");
}
