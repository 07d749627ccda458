/**
 * Viewer queries: text search (next and previous, over decoded names such as
 * thread and lock names), filtered paging that skips chunks without the
 * wanted kinds (a filter with no match ends in one request); the index's
 * pass over blocks from mid-trace sees each event once, in order.
 */
import { assert, assertEquals } from "./_assert.ts";
import { recordRun } from "../cli/run.ts";
import { kindId, RunQueries } from "../replay/query.ts";
import { TraceReader } from "../replay/reader.ts";
import { stateAt } from "../replay/seek.ts";
import { KIND } from "../core/schema.ts";
import { forEachBlock } from "../replay/_query_index.ts";

Deno.test("viewer queries: search and filtered paging", async (t) => {
  const dir = Deno.makeTempDirSync({ prefix: "lockstep-query-" });
  const path = `${dir}/storm.lstrace`;
  recordRun({ scenario: "mutex-storm", seed: 1, overrides: { "sim.eventsMax": "60000" }, out: path });
  const q = new RunQueries(dir);
  try {
    const r = TraceReader.open(path);
    const all: { index: number; kind: number; lock: number; text: string }[] = [];
    for (const e of r.events()) all.push({ index: e.index, kind: e.kind, lock: e.fields[0], text: e.text });
    r.close();
    const spin0 = q.detail("storm").locks.find((l) => l.cls === "storm_spin0")!;
    const mentions = all.filter((e) =>
      (e.kind === KIND.strDef && e.text === "storm_spin0") ||
      (e.kind === KIND.lockAcquire || e.kind === KIND.lockRelease || e.kind === KIND.lockWait ||
          e.kind === KIND.lockInit) && e.lock === spin0.id
    ).map((e) => e.index);

    await t.step("search next and prev walk the events naming a lock class", () => {
      const found: number[] = [];
      let from = -1;
      for (let i = 0; i < 5; i++) {
        const s = q.search("storm", "STORM_SPIN0", from, "next");
        assert(s.index !== null);
        found.push(s.index);
        from = s.index;
      }
      assertEquals(found, mentions.slice(0, 5), "next finds each event on the lock, case-insensitive");
      const back = q.search("storm", "storm_spin0", found[4], "prev");
      assertEquals(back.index, found[3]);
      const none = q.search("storm", "no-such-text-anywhere", -1, "next");
      assertEquals(none.index, null);
      assertEquals(none.resume, null, "the whole trace was scanned");
    });

    await t.step("a kind filter with no match answers 'no more' in one request", () => {
      const p = q.events("storm", 0, 50, { kinds: new Set([kindId("violation")!]) });
      assertEquals(p.events, []);
      assertEquals(p.next, null);
      const acq = q.events("storm", 30_000, 10, { kinds: new Set([KIND.threadCreate]) });
      assertEquals(acq.events, [], "thread-create only occurs at the start");
      assertEquals(acq.next, null);
      assert(acq.scanned < 5000, `skipped chunks are not scanned (${acq.scanned})`);
      const releases = q.events("storm", 100, 20, { kinds: new Set([KIND.lockRelease]) });
      const want = all.filter((e) => e.index >= 100 && e.kind === KIND.lockRelease).slice(0, 20).map((e) => e.index);
      assertEquals(releases.events.map((e) => e.index), want);
    });
    await t.step("counter tracks start from the rebuilt state; wakeups end where the wakee runs", () => {
      const d = q.detail("storm");
      for (const f of [0.3, 0.7]) {
        const t0 = Math.floor(d.tFirst + (d.simNs - d.tFirst) * f);
        const tl = q.timeline("storm", t0, t0 + 5000, 1000);
        const st = stateAt(path, q.indexAtTime("storm", tl.t0));
        for (const c of st.cpus) {
          const track = tl.counters.find((k) => k.name === `run queue cpu${c.id}`)!;
          assertEquals(track.points.slice(0, 2), [tl.t0, c.runQueue.length], `run queue cpu${c.id} at ${tl.t0}`);
        }
        for (const th of st.threads.filter((x) => x.state === "blocked" || x.state === "runnable")) {
          const first = tl.threadStates.find((ts) => ts.thread === th.id)?.spans[0];
          assert(first !== undefined, `thread ${th.name} is ${th.state} at the window's start`);
          assertEquals([first.t0, first.state], [tl.t0, th.state]);
          if (th.state === "blocked") assertEquals(first.on, th.waitName, `what ${th.name} waits on`);
        }
        assert(tl.wakeups.length > 0);
        for (const w of tl.wakeups) {
          const ev = all[w.ev];
          assertEquals(ev.kind, KIND.wake);
          if (w.t1 >= 0) assert(w.t1 >= w.t0, "the wakee runs after its wakeup");
        }
      }
    });
    await t.step("softint pending tracks start from a count of the events before the window", () => {
      const sp = `${dir}/softint.lstrace`;
      recordRun({ scenario: "softint-starve", seed: 1, overrides: {}, out: sp });
      const r2 = TraceReader.open(sp);
      const evs: { kind: number; cpu: number; f1: number; f2: number; tNs: number }[] = [];
      for (const e of r2.events()) evs.push({ kind: e.kind, cpu: e.cpu, f1: e.fields[1], f2: e.fields[2], tNs: e.tNs });
      r2.close();
      const d = q.detail("softint");
      let checked = 0;
      for (const f of [0.25, 0.5, 0.75]) {
        const t0 = Math.floor(d.tFirst + (d.simNs - d.tFirst) * f);
        const tl = q.timeline("softint", t0, t0 + 20_000, 1000);
        if (!tl.detail) continue;
        const n = q.indexAtTime("softint", tl.t0);
        const pending = new Array(d.header.cpus).fill(0);
        for (const e of evs.slice(0, n)) {
          if (e.kind === KIND.softintSchedule && e.f2 === 1) pending[e.f1]++;
          else if (e.kind === KIND.softintRun) pending[e.cpu] = Math.max(0, pending[e.cpu] - 1);
        }
        for (const track of tl.counters.filter((c) => c.name.startsWith("softint pending cpu"))) {
          const c = Number(track.name.slice("softint pending cpu".length));
          assertEquals(track.points.slice(0, 2), [tl.t0, pending[c]], `${track.name} at ${tl.t0}`);
          checked++;
        }
      }
      assert(checked > 0, "softint tracks were shown");
    });
  } finally {
    q.close();
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("viewer index: a pass over blocks from mid-trace starts there, then at each block's first event", () => {
  const dir = Deno.makeTempDirSync({ prefix: "lockstep-blocks-" });
  const path = `${dir}/storm.lstrace`;
  recordRun({ scenario: "mutex-storm", seed: 1, overrides: { "sim.eventsMax": "150000" }, out: path });
  const r = TraceReader.open(path);
  try {
    assert(r.blockCount >= 3, `several blocks (${r.blockCount})`);
    const from = 1234;
    const seen: number[] = [];
    let starts = 0;
    forEachBlock(r, from, (d, start) => {
      starts++;
      assert(start >= 0 && start < d.count, `start ${start} inside block of ${d.count}`);
      for (let i = start; i < d.count; i++) seen.push(d.firstIndex + i);
      return true;
    });
    assert(starts >= 3);
    assertEquals(seen.length, r.eventCount! - from, "every event from `from` on, once");
    assert(seen.every((ix, k) => ix === from + k), "in order, none skipped or repeated");
    // The reader's own pass (TraceReader.forEachBlock) gives the same starts.
    const seen2: number[] = [];
    r.forEachBlock((d, start) => {
      assert(start >= 0 && start < d.count, `reader: start ${start} inside block of ${d.count}`);
      for (let i = start; i < d.count; i++) seen2.push(d.firstIndex + i);
    }, from);
    assertEquals(seen2, seen);
  } finally {
    r.close();
    Deno.removeSync(dir, { recursive: true });
  }
});
