/**
 * Replay's one pass (issue 15): `replayFile` folds each block and compares it
 * with the re-execution from one decode, and the re-execution pulls its
 * recorded decisions from the block being compared. These tests hold it to
 * what the separate fold (`checkTrace`) and the comparison with a collected
 * decision feed (`rerunTrace` with `decisions`) report.
 */
import { seen } from "./_read.ts";
import { assert, assertEquals } from "./_assert.ts";
import { tempDir } from "./_tmp.ts";
import { recordRun } from "../cli/run.ts";
import { checkTrace, foldAndRerun, replayFile, rerunTrace, TraceError, TraceReader } from "../replay/mod.ts";
import { findScenario, runScenario } from "../drivers/mod.ts";
import type { TraceHeader } from "../format/format.ts";
import { TraceWriter } from "../recorder/mod.ts";
import { EventRecord } from "../core/event.ts";
import { KIND } from "../core/schema.ts";
import { damageBlock } from "./_damage.ts";

const resolve = (h: TraceHeader) => findScenario(h.scenario);
const dir = tempDir("lockstep-onepass-");

function record(scenario: string, seed: number, overrides: Record<string, string>): string {
  const out = `${dir}/${scenario}-${seed}-${Object.values(overrides).join("_")}.lstrace`;
  recordRun({ scenario, seed, overrides, out });
  return out;
}

Deno.test("one pass: the fold and the re-execution with pulled decisions agree with the separate passes", () => {
  const runs: [string, number, Record<string, string>][] = [
    ["mutex-storm", 9, { "sim.durationNs": "3000000", "sched.strategy": "random", "sched.perturbPpm": "20000" }],
    ["taskq-demo", 2, { "sim.durationNs": "3000000", "sched.strategy": "pct" }],
    ["splice-udp", 1, { "sim.durationNs": "2000000", "sched.strategy": "random", "sched.perturbPpm": "50000" }],
    ["lost-wakeup", 3, { "sched.strategy": "random" }],
  ];
  for (const [scenario, seed, overrides] of runs) {
    const f = record(scenario, seed, overrides);
    const alone = checkTrace(f);
    assert(alone.decisions.seq.length > 0, `${scenario}: the run made non-default decisions`);
    const one = foldAndRerun(f, resolve);
    assertEquals(seen(one.check), seen(alone), `${scenario}: the fold inside the re-execution`);
    assertEquals(one.divergence, null, `${scenario}: the recording's own decisions, pulled as compared`);
    assertEquals(rerunTrace(f, { resolve }), null, `${scenario}: rerunTrace pulls them too`);
    assertEquals(rerunTrace(f, { resolve, decisions: alone.decisions }), null, `${scenario}: a collected feed`);
    const r = replayFile(f, { resolve });
    assertEquals([r.rerun, r.events, r.digestsChecked], ["identical", alone.events, alone.digestsChecked]);
  }
});

/**
 * Records taskq-demo seed 4 again into `out`, passing each event through
 * `edit` (which may change it; the writer takes it as it is), and returns the
 * number of events the live run had.
 */
function rewrite(out: string, edit: (e: EventRecord) => void): number {
  const { tool, scenario, seed, cpus, config } =
    TraceReader.open(record("taskq-demo", 4, { "sim.durationNs": "3000000" })).header;
  const w = TraceWriter.create(out, { tool, scenario, seed, cpus, config, inputs: [] });
  const e = new EventRecord();
  const m = runScenario({
    scenario,
    seed,
    overrides: { "sim.durationNs": "3000000" },
    sinks: [{
      onEvent: (p) => {
        e.copyFrom(p);
        edit(e);
        w.onEvent(e);
      },
    }],
  });
  w.close();
  return m.result.events;
}

Deno.test("one pass: a divergence at the first and at the last event; the fold still covers every event", () => {
  // Event 0 announces a string: another text is an event the fold accepts and the re-execution does not produce.
  const first = `${dir}/first.lstrace`;
  let kind0 = -1;
  const events = rewrite(first, (e) => {
    if (e.index === 0) {
      kind0 = e.kind;
      if (e.kind === KIND.strDef) e.text += "!";
    }
  });
  assertEquals(kind0, KIND.strDef, "the run starts by interning a name");
  const a = foldAndRerun(first, resolve);
  assert(a.divergence !== null, "diverges at event 0");
  assertEquals([a.divergence.event, a.divergence.before.length], [0, 0]);
  assertEquals(a.check.events, events, "folded to the end after the divergence");
  assertEquals(seen(a.check), seen(checkTrace(first)));

  // The last event is run-end: another reason.
  const last = `${dir}/last.lstrace`;
  rewrite(last, (e) => {
    if (e.index === events - 1) {
      assertEquals(e.kind, KIND.runEnd);
      e.fields[0] = e.fields[0] === 0 ? 1 : 0;
    }
  });
  const b = foldAndRerun(last, resolve);
  assert(b.divergence !== null, "diverges at the last event");
  assertEquals([b.divergence.event, b.divergence.before.length], [events - 1, 5]);
  assertEquals(b.divergence.recorded?.kind, "run-end");
  assertEquals(seen(b.check), seen(checkTrace(last)));
  assert(b.check.endReason !== checkTrace(first).endReason, "the fold read the edited reason");
});

Deno.test("one pass: a recording that ends early or runs on diverges there and is folded whole", () => {
  const cut = `${dir}/cut.lstrace`, keep = 1500;
  const h = TraceReader.open(record("taskq-demo", 4, { "sim.durationNs": "3000000" })).header;
  {
    const w = TraceWriter.create(cut, { ...h, inputs: [] });
    runScenario({
      scenario: h.scenario,
      seed: h.seed,
      overrides: { "sim.durationNs": "3000000" },
      sinks: [{ onEvent: (e) => void (e.index < keep && w.onEvent(e)) }],
    });
    w.close();
  }
  const early = foldAndRerun(cut, resolve);
  assert(early.divergence !== null);
  assertEquals([early.divergence.event, early.divergence.recorded], [keep, null]);
  assertEquals(early.check.events, keep);
  assertEquals(seen(early.check), seen(checkTrace(cut)));

  const on = `${dir}/on.lstrace`;
  let lastIndex = -1;
  const w = TraceWriter.create(on, { ...h, inputs: [] });
  const last = new EventRecord();
  runScenario({
    scenario: h.scenario,
    seed: h.seed,
    overrides: { "sim.durationNs": "3000000" },
    sinks: [{ onEvent: (e) => void (w.onEvent(e), last.copyFrom(e), lastIndex = e.index) }],
  });
  const extra = new EventRecord();
  extra.copyFrom(last);
  extra.index = lastIndex + 1;
  extra.kind = KIND.strDef;
  extra.fields.fill(0);
  extra.fields[0] = 99_999;
  extra.text = "after the end";
  w.onEvent(extra);
  w.close();
  const late = foldAndRerun(on, resolve);
  assert(late.divergence !== null);
  assertEquals([late.divergence.event, late.divergence.produced], [lastIndex + 1, null]);
  assertEquals(late.check.events, lastIndex + 2, "the extra event is folded too");
});

Deno.test("one pass: a damaged block throws the fold's TraceError, also past a divergence", () => {
  const f = record("mutex-storm", 1, { "sim.durationNs": "80000000" });
  const blocks = TraceReader.open(f).blockCount;
  assert(blocks >= 4, `${blocks} blocks`);
  damageBlock(f, blocks - 2);
  const want = traceError(() => checkTrace(f));
  assertEquals(want.code, "checksum");
  const err = traceError(() => replayFile(f, { resolve }));
  assertEquals([err.code, err.block, err.message], [want.code, want.block, want.message]);

  // A scenario that diverges at once: the fold still reaches the damage and reports it.
  const other = (h: TraceHeader) => findScenario(h.scenario === "mutex-storm" ? "taskq-demo" : h.scenario);
  const err2 = traceError(() => foldAndRerun(f, other));
  assertEquals(err2.block, want.block);
  // And a resolver that fails: the damage comes first, as when the fold ran alone before.
  const err3 = traceError(() =>
    foldAndRerun(f, () => {
      throw new RangeError("no such scenario");
    })
  );
  assertEquals(err3.block, want.block);
});

/** The TraceError `fn` throws (anything else fails the test). */
function traceError(fn: () => unknown): TraceError {
  try {
    fn();
  } catch (e) {
    if (e instanceof TraceError) return e;
    throw e;
  }
  throw new Error("no TraceError thrown");
}
