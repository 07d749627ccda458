/**
 * The timeline's lock lanes against an independent fold of the lock events,
 * and that fold against the rebuilt state (replay/seek.ts) at each window's
 * left edge. One case per finding of issue 16: `splice-tcp` has no lock-wait
 * events and must show no waits; `lock-abba` must not draw waits for
 * uncontended acquires and must draw the two deadlocked waits, also in a
 * window that starts after they began; `splice-refrace` and `mutex-storm`
 * (many chunks, many waits) must match the fold exactly in windows anywhere.
 * Also: the run summary's figures equal the CLI's.
 */
import { assert, assertEquals } from "./_assert.ts";
import { recordRun } from "../cli/run.ts";
import { type LockSpan, RunQueries } from "../replay/query.ts";
import { TraceReader } from "../replay/reader.ts";
import { stateAt } from "../replay/seek.ts";
import { KIND } from "../core/schema.ts";

interface Ref {
  kind: "hold" | "wait";
  thread: number;
  lock: number;
  shared: boolean;
  t0: number;
  ev: number;
  t1: number;
  /** Index of the closing event (Infinity while open). */
  evEnd: number;
}

/** Every wait and hold of the trace, by a plain fold written apart from the viewer's. */
function foldLocks(path: string): { spans: Ref[]; events: { index: number; kind: number; tNs: number }[] } {
  const r = TraceReader.open(path);
  const spans: Ref[] = [];
  const open = new Map<string, Ref>();
  const events: { index: number; kind: number; tNs: number }[] = [];
  try {
    for (const e of r.events()) {
      events.push({ index: e.index, kind: e.kind, tNs: e.tNs });
      const f = e.fields;
      const close = (key: string) => {
        const s = open.get(key);
        if (!s) return;
        s.t1 = e.tNs;
        s.evEnd = e.index;
        open.delete(key);
      };
      const begin = (kind: "hold" | "wait", thread: number, shared: boolean) => {
        const key = `${kind}:${thread}:${f[0]}`;
        if (open.has(key)) return;
        const s = { kind, thread, lock: f[0], shared, t0: e.tNs, ev: e.index, t1: Infinity, evEnd: Infinity };
        open.set(key, s);
        spans.push(s);
      };
      if (e.kind === KIND.lockWait) begin("wait", e.thread, f[1] === 1);
      else if (e.kind === KIND.lockAcquire) {
        close(`wait:${f[2]}:${f[0]}`);
        begin("hold", f[2], f[1] === 1);
      } else if (e.kind === KIND.lockRelease) close(`hold:${e.thread}:${f[0]}`);
    }
  } finally {
    r.close();
  }
  return { spans, events };
}

const key = (s: { kind: string; thread: number; lock: number; t0: number; ev: number }) =>
  `${s.kind} th${s.thread} lock${s.lock} @${s.ev}`;

/** The fold's spans a window [t0, t1] should show, by the timeline's rules (visible part >= minNs). */
function expected(ref: Ref[], t0: number, t1: number, minNs: number): string[] {
  return ref.filter((s) => {
    if (s.t0 > t1) return false;
    if (s.t1 > t1) return true; // open at the window's end: always shown
    const end = s.t1;
    return end > s.t0 && end >= t0 && end - Math.max(s.t0, t0) >= minNs;
  }).map(key).sort();
}

/** The fold's open set before event `n` equals the rebuilt state's owners, reader counts and waiters. */
function assertFoldMatchesState(path: string, ref: Ref[], n: number): void {
  const st = stateAt(path, n);
  const live = ref.filter((s) => s.ev < n && s.evEnd >= n);
  for (const l of st.locks) {
    const holds = live.filter((s) => s.kind === "hold" && s.lock === l.id);
    assertEquals(holds.filter((s) => !s.shared).map((s) => s.thread), l.owner ? [l.owner] : [], `owner of ${l.id}`);
    assertEquals(holds.filter((s) => s.shared).length, l.readers, `readers of ${l.id}`);
    const waits = live.filter((s) => s.kind === "wait" && s.lock === l.id).map((s) => s.thread).sort();
    assertEquals(waits, l.waiters.slice().sort(), `waiters of lock ${l.id} before event ${n}`);
  }
}

function checkWindows(q: RunQueries, id: string, path: string, fractions: number[], widthNs: number) {
  const { spans: ref, events } = foldLocks(path);
  const d = q.detail(id);
  let compared = 0;
  for (const f of fractions) {
    const t0 = Math.floor(d.tFirst + (d.simNs - d.tFirst) * f);
    const t1 = Math.min(d.simNs, t0 + widthNs);
    const tl = q.timeline(id, t0, t1, 2000);
    assert(tl.detail, `window at ${f} is narrow enough for lock spans`);
    const got = tl.spans.map(key).sort();
    const want = expected(ref, tl.t0, tl.t1, tl.bucketNs / 4);
    assert(want.length < 1000, "the window holds fewer spans than the response cap");
    assertEquals(got, want, `spans of ${id} in [${t0}, ${t1}]`);
    for (const s of tl.spans) {
      const start = events[s.ev];
      assertEquals(start.kind, s.kind === "wait" ? KIND.lockWait : KIND.lockAcquire, `span starts at its event`);
      assertEquals(start.tNs, s.t0);
    }
    const n = q.indexAtTime(id, tl.t0);
    if (n < events.length) assertFoldMatchesState(path, ref, n);
    compared += got.length;
  }
  return { ref, compared };
}

Deno.test("viewer lock spans", async (t) => {
  const dir = Deno.makeTempDirSync({ prefix: "lockstep-locks-" });
  const rec = (scenario: string, overrides: Record<string, string> = {}) => {
    const s = recordRun({ scenario, seed: 1, overrides, out: `${dir}/${scenario}.lstrace` });
    return { id: scenario, path: `${dir}/${scenario}.lstrace`, summary: s };
  };
  const q = new RunQueries(dir);
  try {
    await t.step("splice-tcp: no lock-wait events, no wait spans, holds match the fold", () => {
      const { id, path } = rec("splice-tcp", { "sim.durationNs": "2000000" });
      const { ref, compared } = checkWindows(q, id, path, [0, 0.31, 0.5, 0.77, 0.97], 20_000);
      assertEquals(ref.filter((s) => s.kind === "wait").length, 0, "the trace has no lock waits");
      assert(compared > 0, "holds were compared");
      for (const f of [0.1, 0.6]) {
        const d = q.detail(id);
        const t0 = d.tFirst + (d.simNs - d.tFirst) * f;
        const tl = q.timeline(id, t0, t0 + 20_000, 2000);
        assertEquals(tl.spans.filter((s: LockSpan) => s.kind === "wait"), [], "no wait spans anywhere");
      }
    });

    await t.step("lock-abba: no waits for uncontended acquires; the deadlocked waits shown, also from mid-wait", () => {
      const { id, path } = rec("lock-abba");
      const { spans: ref, events } = foldLocks(path);
      const r = TraceReader.open(path);
      const acquires = [...r.events()].filter((e) => e.kind === KIND.lockAcquire);
      r.close();
      assert(acquires.every((e) => e.fields[3] === 0), "every acquire in lock-abba is uncontended");
      const waits = ref.filter((s) => s.kind === "wait");
      assertEquals(waits.length, 2, "two threads wait for each other");
      assert(waits.every((w) => w.t1 === Infinity), "the deadlocked waits never end");
      const d = q.detail(id);
      const whole = q.timeline(id, d.tFirst, d.simNs, 2000);
      const shown = whole.spans.filter((s) => s.kind === "wait");
      assertEquals(shown.map(key).sort(), waits.map(key).sort(), "exactly the two lock-wait waits");
      assert(shown.every((s) => s.open && events[s.ev].kind === KIND.lockWait));
      // A window that starts after both waits began still shows them, from their true start.
      const late = Math.max(...waits.map((w) => w.t0)) + 1;
      const tl = q.timeline(id, late, d.simNs, 2000);
      assertEquals(tl.spans.filter((s) => s.kind === "wait").map(key).sort(), waits.map(key).sort());
      assertFoldMatchesState(path, ref, events.length);
    });

    await t.step("splice-refrace: spans equal the fold in windows across the run", () => {
      const { id, path } = rec("splice-refrace");
      const { compared } = checkWindows(q, id, path, [0, 0.2, 0.45, 0.7, 0.9], 50_000);
      assert(compared > 0);
    });

    await t.step("mutex-storm: waits spanning a chunk boundary start from the rebuilt state", () => {
      const { id, path } = rec("mutex-storm", { "sim.eventsMax": "60000" });
      const { ref, compared } = checkWindows(q, id, path, [0.13, 0.38, 0.52, 0.66, 0.81], 3_000);
      assert(ref.filter((s) => s.kind === "wait").length > 100, "a contended run");
      assert(compared > 20);
    });

    await t.step("summary figures equal the CLI's", () => {
      const { id, summary } = rec("mutex-storm", { "sim.eventsMax": "60000" });
      const m = summary.metrics as Record<string, unknown>;
      const s = q.detail(id).summary;
      assertEquals(s.contextSwitches, m.contextSwitches);
      assertEquals(s.wakeups, m.wakeups);
      assertEquals(s.crossCpuWakeups, m.crossCpuWakeups);
      assertEquals(s.lockContention, m.lockContention);
      const busy = Object.values(m.cpuBusyPct as Record<string, number>);
      // cpuBusyPct counts charged work: equal here because the run ends by event limit, not mid-work.
      assertEquals(s.cpuBusy.map((b) => Math.round(b * 1000) / 10), busy, "cpu busy, to the CLI's 0.1 %");
    });
  } finally {
    q.close();
    Deno.removeSync(dir, { recursive: true });
  }
});
