/**
 * Issue 10 (items 3-8): splicing as uipc_socket.c 1.385 and the seeds have
 * it. Each test fails on the behaviour before the change.
 */
import assert from "node:assert/strict";
import type { EventRecord } from "../core/event.ts";
import { ERR } from "../core/net/socket.ts";
import { UNSPLICE } from "../core/net/splice.ts";
import { KIND } from "../core/schema.ts";
import { LockOrderGraph } from "../core/detect/mod.ts";
import { type RunOptions, type RunOutcome, runScenario as runScenarioOf } from "../drivers/mod.ts";
import { relayOf, type RelayWorld } from "../drivers/splice_scenarios.ts";

/** The relay of the last run started through {@link runScenario} below. */
let lastRelay: RelayWorld | null = null;

/** runScenario, keeping the run's relay in `lastRelay` from setup on. */
function runScenario(opts: RunOptions): RunOutcome {
  return runScenarioOf({ ...opts, onSetup: (m) => lastRelay = relayOf(m) ?? null });
}

Deno.test("splice: a drain's ETIMEDOUT does not end the other direction of a bidirectional relay", () => {
  const unspliced: { so: number; reason: number; tNs: number }[] = [];
  let lastFwdSinkNs = 0;
  const obs = {
    onEvent(e: EventRecord) {
      if (e.kind === KIND.unsplice) unspliced.push({ so: e.fields[0], reason: e.fields[2], tNs: e.tNs });
      if (e.kind === KIND.sinkRx && e.fields[0] === 2) lastFwdSinkNs = e.tNs; // forward sink of flow 0
    },
  };
  const out = runScenario({
    scenario: "splice-udp",
    seed: 3,
    overrides: {
      "relay.flows": "1",
      "relay.rateMbps": "500",
      "relay.respRateMbps": "100",
      "relay.respBytes": "14000", // ten responses, then the reverse direction goes quiet
      "splice.idleNs": "300000",
      "clock.hz": "10000",
      "sim.durationNs": "2000000",
    },
    sinks: [obs],
  });
  assert.deepEqual(out.result.violations, []);
  const f = lastRelay!.flows[0];
  assert.equal(f.rsink!.receivedBytes, 14000, "every response crossed the relay");
  // The reverse splice (outSo -> inSo) idled out: ETIMEDOUT is in the drain-to-be's so_error...
  assert.deepEqual(unspliced.map((u) => [u.so, u.reason]), [[f.outSo.id, UNSPLICE.idle]]);
  assert.equal(f.outSo.error, ERR.ETIMEDOUT);
  // ...and somove of the forward direction ignores it (uipc_socket.c 1.385), so it keeps going.
  assert.ok(f.inSo.isSpliced(), "the forward splice survives");
  assert.equal(f.inSo.error, 0);
  assert.ok(lastFwdSinkNs > unspliced[0].tNs + 500_000, "data kept flowing well after the reverse unsplice");
});

Deno.test("ifq: below if_txmit queued packets the driver start runs from the ifq_bundle task on the softnet", () => {
  let bundleRuns = 0, txInBundle = 0, tx = 0;
  const running = new Map<number, string>(); // cpu -> name of the task running there
  const strs = new Map<number, string>(), names = new Map<number, string>();
  const obs = {
    onEvent(e: EventRecord) {
      if (e.kind === KIND.strDef) strs.set(e.fields[0], e.text);
      if (e.kind === KIND.taskInit) names.set(e.fields[0], strs.get(e.fields[1]) ?? "");
      if (e.kind === KIND.taskRun) running.set(e.cpu, names.get(e.fields[1]) ?? "");
      if (e.kind === KIND.taskDone) running.delete(e.cpu);
      if (e.kind === KIND.pktTx) {
        tx++;
        if (running.get(e.cpu)?.startsWith("ifq_bundle:") === true) txInBundle++;
      }
    },
  };
  const out = runScenario({
    scenario: "splice-udp",
    seed: 2,
    overrides: { "relay.flows": "4", "relay.rateMbps": "300", "sim.durationNs": "1000000" },
    sinks: [obs],
  });
  assert.deepEqual(out.result.violations, []);
  for (const ifq of lastRelay!.nicOut.iface.ifqs) bundleRuns += ifq.bundleRuns;
  assert.ok(tx > 100, `${tx} packets sent`);
  assert.ok(bundleRuns > 0, "the bundle task ran");
  // At this light load the send queue never holds 16 packets: every start is deferred to a task.
  assert.equal(txInBundle, tx, "every transmit ran inside a task (the ifq_bundle task), none inline");
});

Deno.test("witness: sorwakeup/sowwakeup task_add under the sockbuf mutex records sbrcv -> tq_mtx and sbsnd -> tq_mtx", () => {
  const graph = new LockOrderGraph();
  const out = runScenario({
    scenario: "splice-tcp",
    seed: 1,
    overrides: { "relay.flows": "2", "sim.durationNs": "1000000" },
    lockGraph: graph,
  });
  assert.deepEqual(out.result.violations, []);
  const edges = graph.edges().map(([a, , b]) => `${a} -> ${b}`);
  assert.ok(edges.includes("sbrcv -> tq_mtx"), edges.join(", "));
  assert.ok(edges.includes("sbsnd -> tq_mtx"), edges.join(", "));
  // sotask holds sblock(so_rcv) while somove takes the mutex pair and then solock_shared.
  assert.ok(edges.includes("sbufrcv -> sbrcv"), edges.join(", "));
  assert.ok(edges.includes("sbrcv -> sbsnd"), edges.join(", "));
  assert.ok(edges.includes("sbufrcv -> netlock"), edges.join(", "));
});

for (const scenario of ["splice-udp", "splice-tcp"]) {
  Deno.test(`${scenario}: two records reordered inside splicing make the run fail (stream detector)`, () => {
    const base = { "relay.flows": "2", "sim.durationNs": "800000" };
    const ok = runScenario({ scenario, seed: 5, overrides: base });
    assert.deepEqual(ok.result.violations, [], "clean without the fault");
    const out = runScenario({ scenario, seed: 5, overrides: { ...base, "fault.spliceReorderAt": "40" } });
    const v = out.result.violations.filter((x) => x.kind === "stream");
    assert.ok(v.length > 0, JSON.stringify(out.result.violations));
    assert.match(v[0].message, /delivered after bytes up to/);
  });
}

Deno.test("splice-udp: a sink that loses one datagram uncounted makes the run fail (conservation, both directions)", () => {
  const base = { "relay.flows": "2", "relay.respRateMbps": "200", "sim.durationNs": "800000" };
  const ok = runScenario({ scenario: "splice-udp", seed: 5, overrides: base });
  assert.deepEqual(ok.result.violations, []);
  const out = runScenario({ scenario: "splice-udp", seed: 5, overrides: { ...base, "fault.sinkDropAt": "7" } });
  const v = out.result.violations.filter((x) => x.kind === "conservation");
  // Each of the two forward and two reverse sinks lost its 7th datagram.
  assert.equal(v.length, 4, v.map((x) => x.message).join("\n"));
  assert.match(v[0].message, /udp flow 0: source sent \d+ != sink \d+/);
  assert.ok(v.some((x) => /reverse/.test(x.message)));
});

Deno.test("splice-udp: the stream detector is fed in every run (a sink sees each datagram's source offset)", () => {
  const out = runScenario({
    scenario: "splice-udp",
    seed: 4,
    overrides: { "relay.flows": "1", "fault.spliceReorderAt": "0", "sim.durationNs": "500000" },
  });
  assert.deepEqual(out.result.violations, []);
  const f = lastRelay!.flows[0];
  assert.equal(f.usink!.bySid[f.usrc!.o.flow], f.usink!.receivedBytes, "every datagram carried its stream id");
});
