import assert from "node:assert/strict";
import type { EventRecord } from "../core/event.ts";
import { TCPS } from "../core/net/socket.ts";
import { KIND } from "../core/schema.ts";
import { type RunOptions, type RunOutcome, runScenario as runScenarioOf } from "../drivers/mod.ts";
import { relayOf, type RelayWorld } from "../drivers/splice_scenarios.ts";

/** The relay of the last run started through {@link runScenario} below. */
let lastRelay: RelayWorld | null = null;

/** runScenario, keeping the run's relay in `lastRelay` from setup on (sinks read it during the run). */
function runScenario(opts: RunOptions): RunOutcome {
  return runScenarioOf({ ...opts, onSetup: (m) => lastRelay = relayOf(m) ?? null });
}

/** Counts events of some kinds and checks that each sink sees its bytes in sequence. */
function observer() {
  const counts = new Map<number, number>();
  const sinkTotal = new Map<number, number>();
  let outOfSequence = 0;
  return {
    counts,
    get outOfSequence() {
      return outOfSequence;
    },
    onEvent(e: EventRecord) {
      counts.set(e.kind, (counts.get(e.kind) ?? 0) + 1);
      if (e.kind === KIND.sinkRx) {
        const [flow, bytes, total] = e.fields;
        const before = sinkTotal.get(flow) ?? 0;
        if (before + bytes !== total) outOfSequence++;
        sinkTotal.set(flow, total);
      }
    },
  };
}

const BYTES = 300_000;
const base = {
  "relay.flows": "2",
  "relay.bytes": String(BYTES),
  "net.tcpRtoNs": "400000",
  "clock.hz": "10000",
  "sim.durationNs": "40000000",
};

Deno.test("tcp: every byte arrives in order over a lossless link, FIN closes both connections", () => {
  const obs = observer();
  const out = runScenario({ scenario: "splice-tcp", seed: 3, overrides: base, sinks: [obs] });
  assert.deepEqual(out.result.violations, []);
  const w = lastRelay!;
  for (const f of w.flows) {
    assert.equal(f.tsink!.receivedBytes, BYTES);
    assert.equal(f.tsink!.outOfOrder, 0);
    assert.equal(f.tsink!.finRcvd, true);
    assert.equal(f.tsrc!.dataAcked, BYTES);
    assert.equal(f.tsrc!.finAcked, true);
    assert.equal(f.inSo.tcp!.state, TCPS.CLOSED);
    assert.equal(f.outSo.tcp!.state, TCPS.CLOSED);
    assert.equal(f.inSo.obj.freed && f.outSo.obj.freed, true, "sockets freed after close");
  }
  assert.equal(obs.outOfSequence, 0);
  assert.equal(obs.counts.get(KIND.tcpRexmt) ?? 0, 0, "no retransmission without loss");
});

Deno.test("tcp: a lossy link loses segments and retransmission by timeout recovers every byte", () => {
  const obs = observer();
  const out = runScenario({
    scenario: "splice-tcp",
    seed: 3,
    overrides: { ...base, "link.lossPpm": "20000" },
    sinks: [obs],
  });
  assert.deepEqual(out.result.violations, []);
  const w = lastRelay!;
  const lost = (out.metrics.dropsByReason as Record<string, number>).lossyLink ?? 0;
  assert.ok(lost > 10, `expected losses, got ${lost}`);
  assert.ok((obs.counts.get(KIND.tcpRexmt) ?? 0) > 0, "relay retransmitted");
  for (const f of w.flows) {
    assert.equal(f.tsink!.receivedBytes, BYTES, `flow ${f.idx}`);
    assert.ok(f.tsink!.finRcvd);
    assert.equal(f.tsrc!.dataAcked, BYTES);
  }
  assert.equal(obs.outOfSequence, 0);
});

Deno.test("tcp: sequence and ack numbers advance by the payload and the receive window is honoured", () => {
  let maxInFlight = 0, seqErrors = 0;
  const last = new Map<number, number>();
  const w0 = 16384;
  const sink = {
    onEvent(e: EventRecord) {
      if (e.kind !== KIND.tcpOut) return;
      const [so, seq, , len, flags] = e.fields;
      const prev = last.get(so);
      if (prev !== undefined && seq > prev) seqErrors++; // never skips bytes
      last.set(so, seq + len + (flags & 1));
      const w = lastRelay;
      const s = w?.flows.find((f) => f.outSo.id === so);
      if (s && len > 0) maxInFlight = Math.max(maxInFlight, seq + len - s.outSo.tcp!.sndUna);
    },
  };
  const out = runScenario({
    scenario: "splice-tcp",
    seed: 5,
    overrides: { ...base, "sink.wnd": String(w0) },
    sinks: [sink],
  });
  assert.deepEqual(out.result.violations, []);
  assert.equal(seqErrors, 0);
  assert.ok(maxInFlight > 0 && maxInFlight <= w0, `in flight ${maxInFlight} within window ${w0}`);
  for (const f of lastRelay!.flows) assert.equal(f.tsink!.receivedBytes, BYTES);
});

Deno.test("tcp: a segment for a closed connection is answered with RST", () => {
  const obs = observer();
  // The relay closes both sockets early while the sources keep sending.
  const out = runScenario({
    scenario: "splice-tcp",
    seed: 2,
    overrides: { "relay.flows": "1", "relay.closeAtNs": "300000", "sim.durationNs": "3000000" },
    sinks: [obs],
  });
  const f = lastRelay!.flows[0];
  assert.ok(f.closed);
  assert.ok(f.tsrc!.reset, "the source saw an RST");
  assert.deepEqual(out.result.violations, []);
});
