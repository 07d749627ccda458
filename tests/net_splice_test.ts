import assert from "node:assert/strict";
import type { EventRecord } from "../core/event.ts";
import { ERR } from "../core/net/socket.ts";
import { UNSPLICE } from "../core/net/splice.ts";
import { KIND } from "../core/schema.ts";
import { type RunOptions, type RunOutcome, runScenario as runScenarioOf } from "../drivers/mod.ts";
import { relayConservation, relayOf, type RelayWorld } from "../drivers/splice_scenarios.ts";

/** The relay of the last run started through {@link runScenario} below. */
let lastRelay: RelayWorld | null = null;

/** runScenario, keeping the run's relay in `lastRelay` from setup on (sinks read it during the run). */
function runScenario(opts: RunOptions): RunOutcome {
  return runScenarioOf({ ...opts, onSetup: (m) => lastRelay = relayOf(m) ?? null });
}

/** Collects unsplice events: [so, sosp, reason, len]. */
function unsplices() {
  const list: number[][] = [];
  return {
    list,
    onEvent: (e: EventRecord) => void (e.kind === KIND.unsplice && list.push(Array.from(e.fields.slice(0, 4)))),
  };
}

for (const mode of ["thread", "netstack-queue", "flowid-taskq"]) {
  Deno.test(`splice (${mode}): TCP moves exactly its maximum, then EFBIG and unsplice`, () => {
    const u = unsplices();
    const max = 100_000;
    const out = runScenario({
      scenario: "splice-tcp",
      seed: 4,
      overrides: { "splice.mode": mode, "relay.flows": "2", "splice.max": String(max), "sim.durationNs": "3000000" },
      sinks: [u],
    });
    assert.deepEqual(out.result.violations, []);
    for (const f of lastRelay!.flows) {
      assert.equal(f.tsink!.receivedBytes, max, `flow ${f.idx} sink got the maximum`);
      assert.equal(f.endError, ERR.EFBIG);
      assert.ok(f.tsrc!.dataSent > max, "the source offered more than the maximum");
    }
    const efbig = u.list.filter((x) => x[2] === UNSPLICE.efbig);
    assert.equal(efbig.length, 2);
    for (const x of efbig) assert.equal(x[3], max);
  });
}

Deno.test("splice: UDP moves whole datagrams up to the maximum, then EFBIG", () => {
  const u = unsplices();
  const out = runScenario({
    scenario: "splice-udp",
    seed: 4,
    overrides: { "relay.flows": "1", "relay.msgBytes": "1000", "splice.max": "10000", "sim.durationNs": "2000000" },
    sinks: [u],
  });
  assert.deepEqual(out.result.violations, []);
  const f = lastRelay!.flows[0];
  assert.equal(f.usink!.receivedBytes, 10000);
  assert.equal(f.endError, ERR.EFBIG);
  assert.deepEqual(u.list.map((x) => x[2]), [UNSPLICE.efbig]);
});

Deno.test("splice: a datagram that would cross the maximum is not split (PR_ATOMIC); the splice ends without EFBIG", () => {
  const u = unsplices();
  runScenario({
    scenario: "splice-udp",
    seed: 4,
    overrides: { "relay.flows": "1", "relay.msgBytes": "1000", "splice.max": "10500", "sim.durationNs": "2000000" },
    sinks: [u],
  });
  const f = lastRelay!.flows[0];
  assert.equal(f.usink!.receivedBytes, 10000, "ten whole datagrams; the eleventh does not fit");
  // uipc_socket.c 1.385 somove: PR_ATOMIC "if (len < m->m_pkthdr.len) goto release" with
  // maxreached set unsplices; EFBIG only when so_splicemax == so_splicelen.
  assert.deepEqual(u.list.map((x) => [x[2], x[3]]), [[UNSPLICE.efbig, 10000]]);
  assert.equal(f.endError, 0);
  assert.ok(!f.inSo.isSpliced());
});

Deno.test("splice: the idle timeout unsplices with ETIMEDOUT when the source goes quiet", () => {
  const u = unsplices();
  let lastSinkNs = 0, unspliceNs = 0;
  const obs = {
    onEvent(e: EventRecord) {
      u.onEvent(e);
      if (e.kind === KIND.sinkRx) lastSinkNs = e.tNs;
      if (e.kind === KIND.unsplice) unspliceNs = e.tNs;
    },
  };
  const idle = 1_000_000;
  const out = runScenario({
    scenario: "splice-tcp",
    seed: 6,
    overrides: {
      "relay.flows": "1",
      "relay.bytes": "50000",
      "relay.fin": "false",
      "splice.idleNs": String(idle),
      "clock.hz": "10000",
      "sim.durationNs": "6000000",
    },
    sinks: [obs],
  });
  assert.deepEqual(out.result.violations, []);
  const f = lastRelay!.flows[0];
  assert.equal(f.tsink!.receivedBytes, 50000);
  assert.equal(f.endError, ERR.ETIMEDOUT);
  assert.deepEqual(u.list.map((x) => x[2]), [UNSPLICE.idle]);
  assert.ok(unspliceNs - lastSinkNs >= idle - 200_000, `unspliced ${unspliceNs - lastSinkNs} ns after the last data`);
});

Deno.test("splice: without an idle timeout a quiet source stays spliced", () => {
  const u = unsplices();
  runScenario({
    scenario: "splice-tcp",
    seed: 6,
    overrides: { "relay.flows": "1", "relay.bytes": "50000", "relay.fin": "false", "sim.durationNs": "6000000" },
    sinks: [u],
  });
  assert.deepEqual(u.list, []);
  assert.ok(lastRelay!.flows[0].inSo.isSpliced());
});

Deno.test("splice: EOF unsplices; closing while data is in flight loses nothing that was acknowledged", () => {
  let sndCcAtClose = -1;
  const obs = {
    onEvent(e: EventRecord) {
      const f = lastRelay?.flows[0];
      if (e.kind === KIND.soClose && f && e.fields[0] === f.outSo.id) sndCcAtClose = f.outSo.snd.cc;
    },
  };
  const bytes = 400_000;
  const out = runScenario({
    scenario: "splice-tcp",
    seed: 7,
    // A long sink link keeps data unacknowledged in so_snd when the relay closes.
    overrides: {
      "relay.flows": "1",
      "relay.bytes": String(bytes),
      "link.delayNs": "100000",
      "sim.durationNs": "30000000",
    },
    sinks: [obs],
  });
  assert.deepEqual(out.result.violations, []);
  const f = lastRelay!.flows[0];
  assert.ok(sndCcAtClose > 0, `data still in so_snd at close (${sndCcAtClose})`);
  assert.equal(f.tsrc!.dataAcked, bytes, "the relay acknowledged everything");
  assert.equal(f.tsink!.receivedBytes, bytes, "and the sink got all of it");
  assert.ok(f.tsink!.finRcvd);
});

Deno.test("splice: SO_SPLICE errors (EBUSY for a second splice of the same source)", async () => {
  const { createNetStack } = await import("../core/net/mod.ts");
  const { sosplice } = await import("../core/net/splice.ts");
  const { Machine } = await import("../core/machine.ts");
  const { COST_KEYS, MACHINE_KEYS, resolveConfig } = await import("../core/config.ts");
  const { NET_KEYS } = await import("../core/net/config.ts");
  const m = new Machine({ config: resolveConfig([MACHINE_KEYS, NET_KEYS, COST_KEYS], {}), seed: 1 });
  const st = createNetStack(m, m.config);
  st.attachIf("lo0", 4, 1, () => {}, true);
  const a = st.socket(1, 1, 1000, 2000, 4, 0),
    b = st.socket(1, 2, 1001, 2001, 4, 0),
    c = st.socket(1, 3, 1002, 2002, 4, 0);
  const t = st.socket(0, 4, 1003, 2003, 4, 0);
  const errs: number[] = [];
  m.spawn("user", function* () {
    errs.push(yield* sosplice(st, a, b, 0, 0));
    errs.push(yield* sosplice(st, a, c, 0, 0)); // a already spliced
    errs.push(yield* sosplice(st, c, b, 0, 0)); // b already a drain
    errs.push(yield* sosplice(st, c, t, 0, 0)); // udp into tcp
    errs.push(yield* sosplice(st, c, a, -1, 0));
  });
  m.run();
  assert.deepEqual(errs, [0, ERR.EBUSY, ERR.EBUSY, ERR.EPROTONOSUPPORT, ERR.EINVAL]);
});

Deno.test("splice: the conservation check fails when bytes go missing", () => {
  const out = runScenario({
    scenario: "splice-tcp",
    seed: 1,
    overrides: { "relay.flows": "2", "sim.durationNs": "1000000" },
  });
  assert.deepEqual(out.result.violations, []);
  const w = lastRelay!;
  assert.deepEqual(relayConservation(out.machine, w), []);
  w.flows[1].inSo.n.accepted += 1448; // as if so_rcv lost a segment
  const bad = relayConservation(out.machine, w);
  assert.equal(bad.length, 1);
  assert.match(bad[0], /tcp flow 1/);
  assert.equal(out.machine.violations.at(-1)?.kind, "conservation");
});

Deno.test("usrreq: the userland-copy TCP relay (read/write, no splice) delivers every byte and closes at EOF", () => {
  const bytes = 200_000;
  const out = runScenario({
    scenario: "splice-tcp",
    seed: 8,
    overrides: {
      "relay.userCopy": "true",
      "relay.flows": "2",
      "relay.bytes": String(bytes),
      "sim.durationNs": "20000000",
    },
  });
  assert.deepEqual(out.result.violations, []);
  assert.equal(out.metrics.somoveCalls, 0);
  for (const f of lastRelay!.flows) {
    assert.equal(f.tsink!.receivedBytes, bytes, `flow ${f.idx}`);
    assert.ok(f.closed && f.tsink!.finRcvd, "EOF read, both sockets closed, FIN forwarded");
  }
});

Deno.test("usrreq: the userland-copy UDP relay forwards datagrams and conserves bytes", () => {
  const out = runScenario({
    scenario: "splice-udp",
    seed: 8,
    overrides: { "relay.userCopy": "true", "relay.flows": "2", "relay.rateMbps": "500", "sim.durationNs": "2000000" },
  });
  assert.deepEqual(out.result.violations, []); // includes conservation
  for (const f of lastRelay!.flows) {
    assert.ok(f.usink!.receivedBytes > 0.8 * f.usrc!.sentBytes, `flow ${f.idx} forwarded most of what was sent`);
  }
});
