// The threaded writer (recorder/threaded.ts) must write the very bytes of the
// one-thread TraceWriter, on its worker and on its own thread, and hand a
// worker's failure back to the simulation thread as the same error.
import { assert, assertEquals, assertThrows } from "./_assert.ts";
import { EventRecord, type EventSink } from "../core/event.ts";
import { KIND } from "../core/schema.ts";
import { runScenario } from "../drivers/mod.ts";
import { TraceWriter } from "../recorder/writer.ts";
import { ThreadedTraceWriter, type ThreadedTraceWriterOptions } from "../recorder/threaded.ts";
import { Ring } from "../recorder/_ring.ts";
import { TraceReader } from "../replay/reader.ts";

const dir = Deno.makeTempDirSync({ prefix: "lockstep-threaded-" });
const header = (scenario: string) => ({ tool: "t", scenario, seed: 1, cpus: 4, config: {}, inputs: [] });

function sameBytes(a: Uint8Array, b: Uint8Array, what: string): void {
  assertEquals(a.length, b.length, `${what}: size`);
  const at = a.findIndex((x, i) => x !== b[i]);
  assertEquals(at, -1, `${what}: first differing byte`);
}

/** Records `scenario` with both writers at once; returns whether the threaded one used its worker. */
function recordBoth(scenario: string, ns: number, opts: ThreadedTraceWriterOptions): boolean {
  const path = `${dir}/${scenario}.lstrace`;
  const threaded = ThreadedTraceWriter.create(path, header(scenario), opts);
  const { handOffEvents: _, ...writerOpts } = opts;
  const plain = TraceWriter.memory(header(scenario), writerOpts);
  runScenario({ scenario, seed: 1, overrides: { "sim.durationNs": String(ns) }, sinks: [threaded, plain] });
  threaded.close();
  plain.close();
  assertEquals(threaded.events, plain.events, `${scenario}: events`);
  assertEquals(threaded.bytesWritten, plain.bytes().length, `${scenario}: bytesWritten`);
  sameBytes(Deno.readFileSync(path), plain.bytes(), scenario);
  return threaded.threaded;
}

Deno.test("long runs (handed to a worker) and short runs (this thread) write the one-thread writer's bytes", () => {
  // Several rings' worth of events: the worker path, with back-pressure and chunk reuse. Hand-overs
  // at different points: mid-block, right after the header, after many blocks.
  assert(recordBoth("splice-tcp", 30_000_000, { trusted: true }), "splice-tcp used a worker");
  assert(recordBoth("mutex-storm", 40_000_000, { blockPayloadBytes: 8192, handOffEvents: 1 }), "worker, checking");
  assert(recordBoth("taskq-demo", 60_000_000, { compression: "none", handOffEvents: 77_777 }), "worker, raw");
  // A run shorter than the hand-over never starts a worker.
  assert(!recordBoth("taskq-demo", 2_000_000, { trusted: true }), "short run stayed on this thread");
});

Deno.test("with LOCKSTEP_WRITER_THREADS=0 a long run is written on this thread, same bytes", () => {
  Deno.env.set("LOCKSTEP_WRITER_THREADS", "0");
  try {
    assert(!recordBoth("mutex-storm", 20_000_000, { trusted: true, handOffEvents: 1000 }), "no worker");
  } finally {
    Deno.env.delete("LOCKSTEP_WRITER_THREADS");
  }
});

/** Feeds the same events to both writers; returns the threaded writer's file bytes and the plain writer's. */
function feedBoth(events: (e: EventRecord, sink: EventSink) => void): [Uint8Array, Uint8Array, boolean] {
  const path = `${dir}/synthetic.lstrace`;
  const threaded = ThreadedTraceWriter.create(path, header("synthetic"), { handOffEvents: 1000 });
  const plain = TraceWriter.memory(header("synthetic"));
  const both: EventSink = {
    onEvent(e) {
      threaded.onEvent(e);
      plain.onEvent(e);
    },
  };
  events(new EventRecord(), both);
  threaded.close();
  plain.close();
  return [Deno.readFileSync(path), plain.bytes(), threaded.threaded];
}

Deno.test("str-def texts that overflow a chunk's text area move to the next chunk, in order", () => {
  // 4000-unit texts: four fill a chunk's text area, so chunks are handed over early, many times.
  const [a, b, threaded] = feedBoth((e, sink) => {
    let index = 0;
    for (let id = 1; id <= 300; id++) {
      e.index = index++;
      e.tNs = id;
      e.kind = KIND.strDef;
      e.fields[0] = id;
      e.text = `${id}:` + String.fromCharCode(0x41 + id % 26).repeat(3990) + (id % 7 === 0 ? "é€" : "");
      sink.onEvent(e);
      e.text = "";
      e.fields[0] = 0;
      for (let k = 0; k < 200; k++) {
        e.index = index++;
        e.kind = KIND.runEnd;
        e.fields[0] = 0;
        sink.onEvent(e);
      }
    }
  });
  assert(threaded, "long enough for a worker");
  sameBytes(a, b, "str-def heavy");
  const r = TraceReader.open(`${dir}/synthetic.lstrace`);
  assertEquals(r.eventCount, 300 * 201);
  r.close();
});

Deno.test("a refusal on the worker is thrown on this thread, once, with the writer's message", () => {
  const path = `${dir}/refused.lstrace`;
  const w = ThreadedTraceWriter.create(path, header("mutex-storm"), { trusted: false, handOffEvents: 50_000 });
  let seen = 0;
  const bad: EventSink = {
    onEvent(e) {
      // Far into the run, after the worker started: a thread id the format refuses.
      if (e.index === 200_000) e.thread = -1;
      seen++;
      w.onEvent(e);
    },
  };
  assertThrows(
    () => runScenario({ scenario: "mutex-storm", seed: 1, overrides: { "sim.durationNs": "80000000" }, sinks: [bad] }),
    /event 200000 .*thread -1 is not a non-negative safe integer/,
  );
  assert(w.threaded, "the worker refused it");
  assert(seen > 200_000, "thrown at a later hand-off, not at the event");
  w.close(); // after the thrown failure: quiet
  assertThrows(() => w.onEvent(new EventRecord()), /closed/);
  // The file has the header and whole blocks, no footer: recovery reads them.
  const r = TraceReader.open(path, { recover: true });
  assert(!r.hasFooter, "no footer after a refusal");
  assert(r.scan() > 0, "whole blocks before the refusal");
  r.close();
});

Deno.test("a failure crosses the thread as the same error class, message and code", () => {
  const ring = new Ring();
  const err = new Deno.errors.PermissionDenied("Permission denied (os error 13): open '/x'");
  (err as { code?: string }).code = "EACCES";
  ring.putError(err);
  const back = ring.takeError();
  assert(back instanceof Deno.errors.PermissionDenied, back.name);
  assertEquals(back.message, err.message);
  assertEquals((back as { code?: string }).code, "EACCES");
  const plain = new Error("No space left on device (os error 28)");
  (plain as { code?: string }).code = "ENOSPC";
  ring.putError(plain);
  const b2 = ring.takeError();
  assertEquals([b2.name, b2.message, (b2 as { code?: string }).code], ["Error", plain.message, "ENOSPC"]);
  ring.putError(new RangeError("trace writer: more than 1 blocks"));
  assert(ring.takeError() instanceof RangeError);
});

Deno.test("a header or option the format refuses is refused at create, on this thread", () => {
  assertThrows(
    () => ThreadedTraceWriter.create(`${dir}/bad.lstrace`, header("x"), { blockPayloadBytes: 10 }),
    /blockPayloadBytes/,
  );
  assertThrows(
    () => ThreadedTraceWriter.create(`${dir}/no/such/dir/x.lstrace`, header("x")),
    /No such file|not found/i,
  );
});

Deno.test({
  name: "kill -9 while the worker writes: every whole block reads back, the cut is only at the end",
  sanitizeResources: false,
}, async () => {
  const path = `${dir}/killed.lstrace`;
  const code = `
    import { ThreadedTraceWriter } from ${JSON.stringify(new URL("../recorder/threaded.ts", import.meta.url).href)};
    import { runScenario } from ${JSON.stringify(new URL("../drivers/mod.ts", import.meta.url).href)};
    const w = ThreadedTraceWriter.create(${JSON.stringify(path)},
      { tool: "t", scenario: "taskq-demo", seed: 1, cpus: 4, config: {}, inputs: [] }, { handOffEvents: 1000 });
    runScenario({ scenario: "taskq-demo", seed: 1, overrides: { "sim.durationNs": "60000000000" }, sinks: [w] });
    w.close();
  `;
  const child = new Deno.Command(Deno.execPath(), { args: ["eval", code], stdout: "null", stderr: "piped" }).spawn();
  // Kill once the worker has written a few blocks (the run would last minutes).
  const deadline = Date.now() + 60_000;
  let size = 0;
  while (size < 400_000 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    size = (() => {
      try {
        return Deno.statSync(path).size;
      } catch {
        return 0;
      }
    })();
  }
  child.kill("SIGKILL");
  await child.status;
  await child.stderr.cancel();
  assert(size >= 400_000, `the worker wrote ${size} bytes within a minute`);
  const r = TraceReader.open(path, { recover: true });
  assert(!r.hasFooter, "killed: no footer");
  const whole = r.scan();
  assert(whole > 1000, `whole events ${whole}`);
  const damage = r.damage;
  r.close();
  assert(damage !== undefined && damage.code === "truncated", `only a cut at the end: ${damage?.message}`);
});
