/**
 * The Trace Event JSON export carries what the viewer's timeline shows, in a
 * structure Perfetto accepts: every flow (wakeups, packets crossing CPUs) has
 * one start and one finish with the same id, later or equal; complete events
 * are in time order and never overlap on one track; counters are ordered per
 * track; every track and process is named; one instant per violation; one
 * wait slice per lock-wait; the last run-queue counters equal the rebuilt
 * state's run queues.
 */
import { assert, assertEquals } from "./_assert.ts";
import { recordRun } from "../cli/run.ts";
import { exportChrome } from "../export/sched.ts";
import { TraceReader } from "../replay/reader.ts";
import { stateAt } from "../replay/seek.ts";
import { KIND } from "../core/schema.ts";

interface TE {
  name: string;
  ph: string;
  ts?: number;
  dur?: number;
  pid: number;
  tid?: number;
  id?: number;
  cat?: string;
  args?: Record<string, unknown>;
}

function structure(doc: { traceEvents: TE[] }) {
  const ev = doc.traceEvents;
  const flows = new Map<number, TE[]>();
  for (const e of ev.filter((e) => e.ph === "s" || e.ph === "f")) flows.set(e.id!, [...(flows.get(e.id!) ?? []), e]);
  for (const [id, pair] of flows) {
    assertEquals(pair.map((e) => e.ph), ["s", "f"], `flow ${id} is opened then closed once`);
    assert(pair[1].ts! >= pair[0].ts!, `flow ${id} ends after it starts`);
  }
  const tracks = new Map<string, TE[]>();
  for (const e of ev.filter((e) => e.ph === "X")) {
    const k = `${e.pid}:${e.tid}`;
    tracks.set(k, [...(tracks.get(k) ?? []), e]);
  }
  const names = new Set(ev.filter((e) => e.name === "thread_name").map((e) => `${e.pid}:${e.tid}`));
  const procs = new Set(ev.filter((e) => e.name === "process_name").map((e) => e.pid));
  for (const [k, xs] of tracks) {
    assert(names.has(k), `track ${k} is named`);
    assert(procs.has(xs[0].pid), `process ${xs[0].pid} is named`);
    for (let i = 1; i < xs.length; i++) {
      assert(xs[i].ts! >= xs[i - 1].ts! + xs[i - 1].dur! - 1e-6, `track ${k}: slices ordered, not overlapping`);
    }
    assert(xs.every((x) => x.dur! >= 0));
  }
  const counters = new Map<string, TE[]>();
  for (const e of ev.filter((e) => e.ph === "C")) counters.set(e.name, [...(counters.get(e.name) ?? []), e]);
  for (const [name, cs] of counters) {
    for (let i = 1; i < cs.length; i++) assert(cs[i].ts! >= cs[i - 1].ts!, `counter ${name} ordered`);
    assert(cs.every((c) => typeof c.args!.value === "number" && (c.args!.value as number) >= 0));
  }
  return { flows, tracks, counters, ev };
}

function kinds(path: string): Map<number, number> {
  const r = TraceReader.open(path);
  const n = new Map<number, number>();
  for (const e of r.events()) n.set(e.kind, (n.get(e.kind) ?? 0) + 1);
  r.close();
  return n;
}

Deno.test("chrome export structure", async (t) => {
  const dir = Deno.makeTempDirSync({ prefix: "lockstep-chrome-" });
  const run = (scenario: string, overrides: Record<string, string> = {}) => {
    const path = `${dir}/${scenario}.lstrace`;
    recordRun({ scenario, seed: 1, overrides, out: path });
    exportChrome(path, `${dir}/${scenario}.json`);
    return { path, doc: JSON.parse(Deno.readTextFileSync(`${dir}/${scenario}.json`)) };
  };
  try {
    await t.step("mutex-storm: wakeup flows, lock waits, run-queue counters equal the rebuilt state", () => {
      const { path, doc } = run("mutex-storm", { "sim.eventsMax": "30000" });
      const { flows, tracks, counters, ev } = structure(doc);
      const n = kinds(path);
      const wakeups = [...flows.values()].filter((p) => p[0].name === "wakeup").length;
      assert(wakeups > 100 && wakeups <= n.get(KIND.wake)!, `${wakeups} wakeup flows`);
      const waits = [...tracks.entries()].filter(([k]) => k.startsWith("3:")).flatMap(([, xs]) => xs);
      assertEquals(waits.length, n.get(KIND.lockWait), "one wait slice per lock-wait");
      const end = stateAt(path, Number.MAX_SAFE_INTEGER);
      for (const c of end.cpus) {
        const cs = counters.get(`run queue cpu${c.id}`)!;
        assertEquals(cs.at(-1)!.args!.value, c.runQueue.length, `run queue of cpu${c.id} at the end`);
      }
      assert(ev.some((e) => e.name === "thread_name" && e.pid === 2), "per-thread tracks");
    });

    await t.step("splice-tcp (sosplice thread): packet flows across CPUs, socket buffer counters", () => {
      const { doc } = run("splice-tcp", { "sim.durationNs": "300000", "splice.mode": "thread" });
      const { flows, counters } = structure(doc);
      assert([...flows.values()].some((p) => p[0].cat === "packet"), "packet flows");
      assert([...counters.keys()].some((k) => /^so#\d+ (rcv|snd) bytes$/.test(k)), "socket buffer counters");
    });

    await t.step("softint-starve: soft interrupts pending per CPU", () => {
      const { path, doc } = run("softint-starve");
      const { counters } = structure(doc);
      assert(kinds(path).get(KIND.softintSchedule)! > 0);
      const pend = [...counters.entries()].filter(([k]) => k.startsWith("softint pending cpu"));
      assert(pend.length > 0, "softint counters");
      assert(pend.some(([, cs]) => cs.some((c) => (c.args!.value as number) > 0)), "something was pending");
    });

    await t.step("lock-abba: one instant per violation; the deadlocked waits end with the trace", () => {
      const { path, doc } = run("lock-abba");
      const { ev, tracks } = structure(doc);
      const violations = ev.filter((e) => e.ph === "i");
      assertEquals(violations.length, kinds(path).get(KIND.violation));
      assert(violations.some((v) => v.name === "deadlock"));
      const open = [...tracks.entries()].filter(([k]) => k.startsWith("3:")).flatMap(([, xs]) => xs)
        .filter((x) => x.args?.open === true);
      assertEquals(open.length, 2, "two threads wait forever");
    });
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
