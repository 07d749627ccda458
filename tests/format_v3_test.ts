/**
 * Format version 3 (issue 15, trace size): every shipped scenario's events
 * round-trip field for field through the keyed field modes and the
 * thread-relative time deltas, over many small blocks (so every block's
 * field-mode table is chosen from the one before), and a seek resumes from the
 * decoder's state mid-block (keyed tables, thread times) after a trip through
 * JSON, as the seek sidecar keeps it.
 */
import { assert, assertEquals } from "./_assert.ts";
import type { EventRecord, EventSink } from "../core/event.ts";
import { KIND } from "../core/schema.ts";
import { runScenario, SCENARIOS } from "../drivers/mod.ts";
import type { DecoderState } from "../format/decode.ts";
import { FORMAT_VERSION } from "../format/format.ts";
import { TraceWriter } from "../recorder/writer.ts";
import { TraceReader } from "../replay/reader.ts";

const header = (scenario: string) => ({ tool: "t", scenario, seed: 5, cpus: 4, config: {}, inputs: [] });

function key(e: EventRecord): string {
  return `${e.index} ${e.tNs} ${e.cpu} ${e.thread} ${e.kind} ${e.fields.join(",")} ${e.text}`;
}

/** Records `scenario` into a v3 trace with 8 KiB blocks, and the events as the machine emitted them. */
function record(scenario: string, ns: string): { bytes: Uint8Array; events: string[] } {
  const events: string[] = [];
  const collect: EventSink = { onEvent: (e) => void events.push(key(e)), onEnd() {} } as EventSink;
  const w = TraceWriter.memory(header(scenario), { blockPayloadBytes: 8192 });
  runScenario({ scenario, seed: 5, overrides: { "sim.durationNs": ns }, sinks: [collect, w] });
  w.close();
  return { bytes: w.bytes(), events };
}

Deno.test("format v3: every shipped scenario's events read back field for field", () => {
  for (const s of SCENARIOS) {
    const { bytes, events } = record(s.name, "2000000");
    assertEquals(bytes[8] | (bytes[9] << 8), FORMAT_VERSION);
    assertEquals(FORMAT_VERSION, 3);
    const got: string[] = [];
    TraceReader.fromBytes(bytes).forEach((e) => void got.push(key(e)));
    assertEquals(got.length, events.length, `${s.name}: event count`);
    for (let i = 0; i < events.length; i++) assertEquals(got[i], events[i], `${s.name}: event ${i}`);
  }
});

Deno.test("format v3: a seek resumes mid-block from the decoder's keyed and thread-time state, kept as JSON", () => {
  const { bytes, events } = record("splice-tcp", "1000000");
  const reader = TraceReader.fromBytes(bytes);
  const marks: { index: number; state: DecoderState | null }[] = [];
  reader.forEachMarked(997, (index, state) => void marks.push({ index, state }), () => {});
  const mid = marks.filter((m) => m.state !== null);
  assert(mid.length > 10, "marks inside blocks");
  assert(mid.some((m) => m.state!.keyed.length > 0), "some block uses keyed modes (pkt-tcp seq by flow, ...)");
  assert(mid.every((m) => m.state!.threadT.length > 0), "thread times carried");
  for (const m of mid) {
    const state = JSON.parse(JSON.stringify(m.state)) as DecoderState;
    const out: string[] = [];
    const to = Math.min(events.length, m.index + 400);
    reader.forEachBetween(m.index, to, (e) => void out.push(key(e)), state);
    assertEquals(out, events.slice(m.index, to), `resumed at ${m.index}`);
  }
  // The pkt-tcp headers really are there to be predicted.
  let pktTcp = 0;
  reader.forEach((e) => void (pktTcp += e.kind === KIND.pktTcp && e.fields[1] > 0 ? 1 : 0));
  assert(pktTcp > 1000, `pkt-tcp events: ${pktTcp}`);
});
