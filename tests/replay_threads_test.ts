/**
 * Full replay with the read-ahead worker (replay/_read_ahead.ts): a worker
 * decodes and folds blocks ahead while this thread re-executes and compares.
 * These tests hold it to the one-thread pass: the same fold result and
 * divergence on every golden trace and on edited recordings, the same
 * TraceError for damage in a block the worker reached ahead of the
 * comparison, and one plain error when the worker itself fails.
 */
import { seen } from "./_read.ts";
import { assert, assertEquals } from "./_assert.ts";
import { tempDir } from "./_tmp.ts";
import { recordRun } from "../cli/run.ts";
import { foldAndRerun, rerunTrace, TraceError, TraceReader } from "../replay/mod.ts";
import { findScenario, runScenario } from "../drivers/mod.ts";
import { TraceWriter } from "../recorder/mod.ts";
import { EventRecord } from "../core/event.ts";
import { KIND } from "../core/schema.ts";
import type { TraceHeader } from "../format/format.ts";
import { damageBlock } from "./_damage.ts";

const resolve = (h: TraceHeader) => findScenario(h.scenario);
const dir = tempDir("lockstep-threads-");
const golden = new URL("./golden/", import.meta.url).pathname;

/** What `fn` throws, as a comparable record (a TraceError's code and place, or another error's class and message). */
function thrown(fn: () => unknown): Record<string, unknown> {
  try {
    fn();
  } catch (e) {
    if (e instanceof TraceError) {
      return {
        trace: true,
        code: e.code,
        message: e.message,
        block: e.block,
        offset: e.offset,
        recovered: e.recovered,
      };
    }
    if (e instanceof Error) return { trace: false, name: e.name, message: e.message };
    throw e;
  }
  throw new Error("nothing thrown");
}

Deno.test("threads: every golden trace folds and re-executes the same with and without the worker", () => {
  const files = [...Deno.readDirSync(golden)].map((e) => e.name).filter((n) => n.endsWith(".lstrace")).sort();
  assert(files.length >= 10, `${files.length} golden traces`);
  for (const name of files) {
    const f = golden + name;
    const one = foldAndRerun(f, resolve, { force: false });
    const two = foldAndRerun(f, resolve, { force: true });
    assertEquals(seen(two.check), seen(one.check), `${name}: the worker's fold`);
    assertEquals(two.divergence, one.divergence, `${name}: the comparison`);
    assertEquals(
      rerunTrace(f, { resolve, readAhead: { force: true } }),
      rerunTrace(f, { resolve, readAhead: { force: false } }),
      `${name}: rerunTrace`,
    );
  }
});

Deno.test("threads: a divergence mid-trace is placed and reported the same, and the fold still covers every event", () => {
  // A checkpoint well past the first blocks gets another digest: the fold records the
  // mismatch, the re-execution diverges there, and the worker has read ahead of it.
  const f = `${dir}/edited.lstrace`;
  const overrides = { "sim.durationNs": "40000000" };
  const h = TraceReader.open(record("mutex-storm", 3, overrides)).header;
  const w = TraceWriter.create(f, { ...h, inputs: [] });
  const e = new EventRecord();
  let edited = -1;
  runScenario({
    scenario: h.scenario,
    seed: h.seed,
    overrides,
    sinks: [{
      onEvent: (p) => {
        e.copyFrom(p);
        if (edited < 0 && e.index > 100_000 && e.kind === KIND.checkpoint) {
          e.fields[0] += 1;
          edited = e.index;
        }
        w.onEvent(e);
      },
    }],
  });
  w.close();
  assert(edited > 0, "a checkpoint was edited");
  assert(TraceReader.open(f).blockCount >= 3, "several blocks: the worker is ahead of the comparison");
  const one = foldAndRerun(f, resolve, { force: false });
  const two = foldAndRerun(f, resolve, { force: true });
  assertEquals(one.divergence?.event, edited);
  assertEquals(one.check.mismatch?.event, edited);
  assertEquals(two.divergence, one.divergence);
  assertEquals(seen(two.check), seen(one.check));
  // A scenario that fails: its own error, after the worker folded the whole trace.
  const other = (h: TraceHeader) => findScenario(h.scenario === "mutex-storm" ? "taskq-demo" : h.scenario);
  const want = thrown(() => foldAndRerun(f, other, { force: false }));
  assertEquals(want.trace, false);
  assertEquals(thrown(() => foldAndRerun(f, other, { force: true })), want);
});

function record(scenario: string, seed: number, overrides: Record<string, string>): string {
  const out = `${dir}/${scenario}-${seed}.lstrace`;
  recordRun({ scenario, seed, overrides, out });
  return out;
}

Deno.test("threads: damage in a block the worker reads ahead is the one-thread pass's TraceError, at the same point", () => {
  const f = `${dir}/damaged.lstrace`;
  recordRun({ scenario: "mutex-storm", seed: 1, overrides: { "sim.durationNs": "80000000" }, out: f });
  const blocks = TraceReader.open(f).blockCount;
  assert(blocks >= 5, `${blocks} blocks`);
  // Block 2: the worker reaches it while this thread still compares block 0 or 1.
  damageBlock(f, 2);
  const want = thrown(() => foldAndRerun(f, resolve, { force: false }));
  assertEquals([want.trace, want.code, want.block], [true, "checksum", 2]);
  assertEquals(thrown(() => foldAndRerun(f, resolve, { force: true })), want);
  assertEquals(thrown(() => rerunTrace(f, { resolve, readAhead: { force: true } })), want);
  // Past a divergence, and before a resolver's error: as on one thread.
  const other = (h: TraceHeader) => findScenario(h.scenario === "mutex-storm" ? "taskq-demo" : h.scenario);
  assertEquals(
    thrown(() => foldAndRerun(f, other, { force: true })),
    thrown(() => foldAndRerun(f, other, { force: false })),
  );
  const fails = () => {
    throw new RangeError("no such scenario");
  };
  assertEquals(thrown(() => foldAndRerun(f, fails, { force: true })), want);
  // A trace without a footer (a killed writer), damaged: the scan meets the damage in the worker.
  const bytes = Deno.readFileSync(f);
  const cut = `${dir}/cut.lstrace`;
  Deno.writeFileSync(cut, bytes.subarray(0, bytes.length - 64));
  const wantCut = thrown(() => foldAndRerun(cut, resolve, { force: false }));
  assertEquals(wantCut.trace, true);
  assertEquals(thrown(() => foldAndRerun(cut, resolve, { force: true })), wantCut);
});

Deno.test("threads: a failure of the worker itself is one plain error, and the next replay reads ahead again", () => {
  const f = `${dir}/fails.lstrace`;
  recordRun({ scenario: "mutex-storm", seed: 2, overrides: { "sim.durationNs": "40000000" }, out: f });
  for (const at of [0, 1]) {
    const e = thrown(() => foldAndRerun(f, resolve, { force: true, failAtBlock: at }));
    assertEquals(e.trace, false);
    assert(
      String(e.message).startsWith("replay: the read-ahead worker failed: Error: test failure"),
      String(e.message),
    );
  }
  // Also when the scenario fails first: the worker's failure, once.
  const fails = () => {
    throw new RangeError("no such scenario");
  };
  const e = thrown(() => foldAndRerun(f, fails, { force: true, failAtBlock: 1 }));
  assert(String(e.message).startsWith("replay: the read-ahead worker failed"), String(e.message));
  const ok = foldAndRerun(f, resolve, { force: true });
  assertEquals(seen(ok.check), seen(foldAndRerun(f, resolve, { force: false }).check));
  assertEquals(ok.divergence, null);
});
