// The trusted writer (TraceWriterOptions.trusted) skips the per-event checks
// for records the machine built: it must write the very same bytes, and still
// refuse what its one remaining test covers.
import { assert, assertEquals, assertThrows } from "./_assert.ts";
import { EventRecord } from "../core/event.ts";
import { KIND } from "../core/schema.ts";
import { runScenario, SCENARIOS } from "../drivers/mod.ts";
import { TraceWriter } from "../recorder/writer.ts";

const header = (scenario: string) => ({ tool: "t", scenario, seed: 3, cpus: 4, config: {}, inputs: [] });

Deno.test("trusted and checking writers write identical bytes for every shipped scenario", () => {
  for (const s of SCENARIOS) {
    const checked = TraceWriter.memory(header(s.name), { blockPayloadBytes: 8192 });
    const trusted = TraceWriter.memory(header(s.name), { blockPayloadBytes: 8192, trusted: true });
    runScenario({ scenario: s.name, seed: 3, overrides: { "sim.durationNs": "2000000" }, sinks: [checked, trusted] });
    checked.close();
    trusted.close();
    assert(checked.events > 0, s.name);
    assertEquals(trusted.events, checked.events, s.name);
    const a = checked.bytes(), b = trusted.bytes();
    assertEquals(b.length, a.length, `${s.name}: size`);
    assert(a.every((x, i) => x === b[i]), `${s.name}: bytes differ`);
  }
});

Deno.test("a trusted writer still refuses events after close and a string defined twice", () => {
  const w = TraceWriter.memory(header("x"), { trusted: true });
  const e = new EventRecord();
  e.kind = KIND.strDef;
  e.fields[0] = 1;
  e.text = "a";
  w.onEvent(e);
  e.index = 1;
  assertThrows(() => w.onEvent(e), /defined twice/);
  // The refusal breaks the writer: every later event is refused too.
  const ok = new EventRecord();
  ok.index = 1;
  ok.kind = KIND.runEnd;
  assertThrows(() => w.onEvent(ok), /earlier event failed/);

  const w2 = TraceWriter.memory(header("x"), { trusted: true });
  ok.index = 0;
  w2.onEvent(ok);
  w2.close();
  ok.index = 1;
  assertThrows(() => w2.onEvent(ok), /writer is closed/);
});

Deno.test("a checking writer refuses a field out of its type's range; a trusted one does not look", () => {
  const e = new EventRecord();
  e.kind = KIND.runEnd;
  e.fields[0] = 99; // enum:runEnd has 5 labels
  const checked = TraceWriter.memory(header("x"));
  assertThrows(() => checked.onEvent(e), /field reason \(enum:runEnd\) = 99/);
  const trusted = TraceWriter.memory(header("x"), { trusted: true });
  trusted.onEvent(e);
  assertEquals(trusted.events, 1);
});
