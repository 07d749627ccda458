import { assert, assertEquals } from "./_assert.ts";
import { tempDir } from "./_tmp.ts";
import { recordRun } from "../cli/run.ts";
import {
  checkTrace,
  replayFile,
  rerunTrace,
  SEEK_SUFFIX,
  SNAPSHOT_EVERY,
  stateAt,
  TraceReader,
} from "../replay/mod.ts";
import { findScenario } from "../drivers/mod.ts";
import type { TraceHeader } from "../format/format.ts";

const resolve = (h: TraceHeader) => findScenario(h.scenario);
import { runScenario } from "../drivers/mod.ts";
import { RebuiltState } from "../replay/state.ts";
import { KIND } from "../core/schema.ts";
import { getU32, getU64 } from "../format/format.ts";
import { resolveScenarioConfig } from "../core/run.ts";
import { Machine } from "../core/machine.ts";
import { Log } from "./_util.ts";
import { TraceWriter } from "../recorder/mod.ts";
import { EventRecord } from "../core/event.ts";
import { SCENARIOS } from "../drivers/mod.ts";

const dir = tempDir("lockstep-replay-");

function record(scenario: string, seed: number, overrides: Record<string, string> = {}): string {
  const out = `${dir}/${scenario}-${seed}-${Object.values(overrides).join("_")}.lstrace`;
  recordRun({ scenario, seed, overrides: { "sim.durationNs": "3000000", ...overrides }, out });
  return out;
}

Deno.test("rebuilt state equals live state at every checkpoint, for every scenario", () => {
  for (const s of SCENARIOS) {
    const overrides = { "sim.durationNs": "1000000", "checkpoint.every": "97" };
    // As a reader does from the header: CPUs idle before the first checkpoint still count.
    const live = new RebuiltState(Number(resolveScenarioConfig(s, overrides)["cpus"]));
    let checked = 0;
    runScenario({
      scenario: s.name,
      seed: 5,
      overrides,
      sinks: [{
        onEvent(e) {
          if (e.kind === KIND.checkpoint) {
            checked++;
            assertEquals(live.digest(), Array.from(e.fields.slice(0, 5)), `${s.name} at event ${e.index}`);
          }
          live.apply(e);
        },
      }],
    });
    assert(checked >= 1, `${s.name}: checkpoints seen`);
  }
});

Deno.test("replay of a recorded trace: digests agree and the re-execution is identical", () => {
  const f = record("taskq-demo", 3, { "checkpoint.every": "512" });
  const r = replayFile(f, { resolve });
  assert(r.digestsChecked > 10, `${r.digestsChecked}`);
  assertEquals(r.digestMismatch, null);
  assertEquals(r.rerun, "identical");
});

Deno.test("a perturbed run re-executes identically by following its recorded decisions", () => {
  const f = record("mutex-storm", 9, { "sched.strategy": "random", "sched.perturbPpm": "20000" });
  const c = checkTrace(f);
  assert(c.decisions.seq.length > 10, "perturbation decisions were recorded");
  assertEquals(rerunTrace(f, { resolve }), null);
});

Deno.test("a deliberate change of kernel behaviour is reported at the first affected event", () => {
  const f = record("taskq-demo", 4);
  // The change: wakeup() now costs one nanosecond more. Find, independently,
  // the first event where a run with the change differs from the recording.
  const proto = Machine.prototype as unknown as { wakeupOne: (c: unknown) => number };
  const orig = proto.wakeupOne;
  const patched = function (this: Machine, c: unknown): number {
    const n = orig.call(this, c);
    this.curCpu.nowNs += 1;
    return n;
  };
  const base = new Log(), changed = new Log();
  runScenario({ scenario: "taskq-demo", seed: 4, overrides: { "sim.durationNs": "3000000" }, sinks: [base] });
  proto.wakeupOne = patched;
  try {
    runScenario({ scenario: "taskq-demo", seed: 4, overrides: { "sim.durationNs": "3000000" }, sinks: [changed] });
    let first = 0;
    while (JSON.stringify(base.events[first]) === JSON.stringify(changed.events[first])) first++;
    const d = rerunTrace(f, { resolve });
    assert(d !== null, "divergence reported");
    assertEquals(d.event, first);
    assert(d.recorded !== null && d.produced !== null, "both events shown");
    assert(d.before.length > 0, "context before the divergence");
  } finally {
    proto.wakeupOne = orig;
  }
  assertEquals(rerunTrace(f, { resolve }), null, "unpatched code replays identically again");
});

Deno.test("stateAt rebuilds the state at any event and agrees with a full fold", () => {
  const f = record("taskq-demo", 6);
  const c = checkTrace(f);
  for (const at of [0, 1, 777, Math.floor(c.events / 2), c.events]) {
    const s = stateAt(f, at);
    assertEquals(s.index, at);
  }
  const end = stateAt(f, c.events);
  assertEquals(end, c.state.toJSON());
});

Deno.test("packets in flight: queued between the NIC and ip_input, none left once every flow has finished", () => {
  const busy = record("splice-udp", 1, { "sim.durationNs": "2000000" });
  const c = checkTrace(busy);
  const mid = stateAt(busy, Math.floor(c.events / 2));
  assert(mid.packets.rx + mid.packets.tx > 0, "a loaded relay has packets in flight");
  assert(mid.packets.listed.length <= 64 && mid.packets.listed.every((p) => p.stage === "rx" || p.stage === "tx"));
  const done = record("splice-tcp", 1, { "relay.bytes": "200000", "relay.fin": "true", "sim.durationNs": "50000000" });
  const end = stateAt(done, checkTrace(done).events);
  assertEquals([end.packets.rx, end.packets.tx], [0, 0]);
});

/**
 * The state after `at` events, by `replay --at N --json FILE` in a new process (so only the persisted snapshots
 * carry over). `--at N` is the state after event N (events 0..N applied), so N = at - 1.
 */
async function atInNewProcess(file: string, at: number): Promise<unknown> {
  const main = new URL("../cli/main.ts", import.meta.url).pathname;
  const o = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-read",
      "--allow-write",
      "--allow-env",
      main,
      "replay",
      "--at",
      String(at - 1),
      "--json",
      file,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(o.code, 0, new TextDecoder().decode(o.stderr));
  const { at: n, ...state } = JSON.parse(new TextDecoder().decode(o.stdout));
  assertEquals(n, at - 1);
  return state;
}

/** The state after `at` events by a plain fold from event 0. */
function foldTo(file: string, at: number): unknown {
  const r = TraceReader.open(file);
  const s = new RebuiltState(r.header.cpus);
  for (const e of r.events()) {
    if (e.index >= at) break;
    s.apply(e);
  }
  r.close();
  return JSON.parse(JSON.stringify(s.toJSON()));
}

Deno.test("seek snapshots persist next to the trace, are rebuilt when it changes and ignored when damaged", async () => {
  const f = `${dir}/seek.lstrace`;
  const seek = f + SEEK_SUFFIX;
  recordRun({ scenario: "mutex-storm", seed: 1, overrides: { "sim.durationNs": "60000000" }, out: f });
  const events = checkTrace(f).events;
  assert(events > 2 * SNAPSHOT_EVERY + 10, `${events} events: enough for two snapshots`);
  const at = SNAPSHOT_EVERY + 1234;
  const want = foldTo(f, at);
  assertEquals(await atInNewProcess(f, at), want, "first seek: folds once and writes the snapshots");
  const good = Deno.readFileSync(seek);
  assertEquals(await atInNewProcess(f, at), want, "second seek, another process: from the sidecar");
  assertEquals(await atInNewProcess(f, 2 * SNAPSHOT_EVERY), foldTo(f, 2 * SNAPSHOT_EVERY), "exactly at a snapshot");

  // Damage inside the snapshot the seek reads: ignored, the answer stays right, the sidecar is rebuilt.
  const bad = good.slice();
  const entry = 28 + 2 * 24; // snapshot 2's table entry: index u64, offset u64, length u32, CRC u32
  bad[getU64(good, entry + 8) + (getU32(good, entry + 16) >> 1)] ^= 0x10; // inside the snapshot the seek reads
  Deno.writeFileSync(seek, bad);
  assertEquals(await atInNewProcess(f, 2 * SNAPSHOT_EVERY + 5), foldTo(f, 2 * SNAPSHOT_EVERY + 5));
  assertEquals(Deno.readFileSync(seek), good, "rebuilt byte for byte");
  Deno.writeFileSync(seek, good.slice(0, 40)); // cut short
  assertEquals(await atInNewProcess(f, at), want);
  assertEquals(Deno.readFileSync(seek), good);

  // Another trace at the same path: the old sidecar is stale (another content key) and is replaced.
  recordRun({ scenario: "mutex-storm", seed: 2, overrides: { "sim.durationNs": "60000000" }, out: f });
  assertEquals(await atInNewProcess(f, at), foldTo(f, at));
  assert(Deno.readFileSync(seek).some((b, i) => b !== good[i]), "a new sidecar for the new content");
  // In process too: stateAt agrees with the plain fold after the change.
  assertEquals(JSON.parse(JSON.stringify(stateAt(f, at))), foldTo(f, at));
});

Deno.test("a recording that ends early or runs on is a divergence at its first missing or extra event", () => {
  const h = TraceReader.open(record("taskq-demo", 4));
  const header = h.header;
  h.close();
  /** Records the run into `out`, keeping only its first `keep` events, then `extra` more after its end. */
  const write = (out: string, keep: number, extra: string[]): number => {
    const { tool, scenario, seed, cpus, config } = header;
    const w = TraceWriter.create(out, { tool, scenario, seed, cpus, config, inputs: [] });
    let last = new EventRecord();
    const m = runScenario({
      scenario: header.scenario,
      seed: header.seed,
      overrides: { "sim.durationNs": "3000000" },
      sinks: [{
        onEvent: (e) => {
          if (e.index < keep) w.onEvent(e);
          last.copyFrom(e);
        },
      }],
    });
    assertEquals(last.kind, KIND.runEnd, "the run ends with run-end");
    for (const text of extra) {
      const e = new EventRecord();
      e.copyFrom(last);
      e.index = last.index + 1;
      e.kind = KIND.strDef;
      e.fields.fill(0);
      e.fields[0] = 10_000 + e.index;
      e.text = text;
      w.onEvent(e);
      last = e;
    }
    w.close();
    return m.result.events;
  };
  const cut = `${dir}/cut.lstrace`, keep = 1000;
  write(cut, keep, []);
  const early = rerunTrace(cut, { resolve });
  assert(early !== null, "a recording that ends first diverges");
  assertEquals(early.event, keep);
  assertEquals(early.recorded, null);
  assertEquals(early.produced?.kind !== undefined, true, "the produced event is shown");
  assertEquals(early.before.length, 5);
  const on = `${dir}/on.lstrace`;
  const events = write(on, Infinity, ["after the end"]);
  const late = rerunTrace(on, { resolve });
  assert(late !== null, "a recording with more events diverges");
  assertEquals(late.event, events);
  assertEquals(late.produced, null);
  assertEquals(late.recorded?.kind, "str-def");
  assertEquals(late.before.length, 5);
});
