import { assert, assertEquals } from "./_assert.ts";
import { recordRun } from "../cli/run.ts";
import { exportChrome, exportFtrace } from "../recorder/export_sched.ts";
import { exportNdjson } from "../recorder/ndjson.ts";
import { Log } from "./_util.ts";
import { runScenario } from "../drivers/run.ts";

const dir = Deno.makeTempDirSync({ prefix: "lockstep-export-" });
const trace = `${dir}/demo.lstrace`;
const overrides = { "sim.durationNs": "2000000" };
recordRun({ scenario: "taskq-demo", seed: 2, overrides, out: trace });
const live = new Log();
runScenario({ scenario: "taskq-demo", seed: 2, overrides, sinks: [live] });

Deno.test("ndjson export: one line per event, fields by schema name", () => {
  const r = exportNdjson(trace, `${dir}/demo.ndjson`);
  const lines = Deno.readTextFileSync(`${dir}/demo.ndjson`).trim().split("\n");
  assertEquals(lines.length, r.events + 1, "header line + events");
  assertEquals(r.events, live.events.length);
  const sw = lines.map((l) => JSON.parse(l)).find((o) => o.kind === "switch");
  assert("from" in sw.fields && "to" in sw.fields && "reason" in sw.fields, JSON.stringify(sw));
});

Deno.test("chrome export: valid Trace Event JSON; per CPU, run slices follow the switches and never overlap", () => {
  const r = exportChrome(trace, `${dir}/demo.json`);
  const doc = JSON.parse(Deno.readTextFileSync(`${dir}/demo.json`));
  const slices = doc.traceEvents.filter((e: { ph: string; pid: number }) => e.ph === "X" && e.pid === 0);
  const switches = live.of("switch").filter((e) => e.f[0] !== 0).length;
  assert(slices.length >= switches, `${slices.length} slices for ${switches} switches away from a thread`);
  assert(r.records >= slices.length);
  for (let c = 0; c < 4; c++) {
    const mine = slices.filter((s: { tid: number }) => s.tid === c);
    for (let i = 1; i < mine.length; i++) {
      assert(mine[i].ts >= mine[i - 1].ts + mine[i - 1].dur - 1e-6, `cpu${c} slices overlap at ${mine[i].ts}`);
    }
    assert(mine.every((s: { ts: number; dur: number }) => typeof s.ts === "number" && s.dur >= 0));
  }
});

Deno.test("ftrace export: sched_switch lines chain per CPU (prev_pid is the last next_pid)", () => {
  exportFtrace(trace, `${dir}/demo.txt`);
  const lines = Deno.readTextFileSync(`${dir}/demo.txt`).split("\n").filter((l) => l.includes("sched_switch:"));
  assertEquals(lines.length, live.of("switch").length);
  const last = new Map<string, string>();
  for (const l of lines) {
    const m = l.match(
      /\[(\d{3})\] \S+ (\d+\.\d{6}): sched_switch: prev_comm=\S+ prev_pid=(\d+) prev_prio=\d+ prev_state=\S+ ==> next_comm=\S+ next_pid=(\d+) next_prio=\d+$/,
    );
    assert(m !== null, `malformed: ${l}`);
    const [, cpu, , prev, next] = m;
    if (last.has(cpu)) assertEquals(prev, last.get(cpu), `cpu ${cpu}: ${l}`);
    last.set(cpu, next);
  }
  assert(Deno.readTextFileSync(`${dir}/demo.txt`).includes("sched_wakeup: comm="), "wakeups present");
});
