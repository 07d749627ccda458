/**
 * Link duplication and reordering of UDP datagrams (drivers/faults.ts): the
 * relay delivers and forwards them as the link made them, conservation
 * counts the duplicated bytes, and the stream detector accepts a repeat or
 * an overtake only when a recorded fault decision on that datagram explains
 * it, so a model bug that duplicates or reorders is still found, with or
 * without faults.
 * @module
 */
import { assert, assertEquals } from "./_assert.ts";
import { COST_KEYS, MACHINE_KEYS, resolveConfig } from "../core/config.ts";
import { EXCUSE, installDetectors, streamCheckDatagram, streamExcuse, streamLossy } from "../core/detect/mod.ts";
import { Machine } from "../core/machine.ts";
import type { KCode } from "../core/objects.ts";
import type { Packet } from "../core/net/packet.ts";
import type { Socket } from "../core/net/socket.ts";
import { findScenario, runScenario } from "../drivers/mod.ts";
import { recordRun } from "../cli/run.ts";
import { checkTrace, replayFile } from "../replay/mod.ts";
import type { TraceHeader } from "../format/format.ts";
import { relayOf } from "../drivers/splice_scenarios.ts";
import { FAULT, KIND } from "../core/schema.ts";

function bare(): Machine {
  const m = new Machine({ config: resolveConfig([MACHINE_KEYS, COST_KEYS], { cpus: "1" }), seed: 1 });
  installDetectors(m);
  return m;
}

function dg(sid: number, off: number, len: number, dupFault = 0, reorderFault = 0) {
  return { sid, off, len, dupFault, reorderFault };
}

Deno.test("stream: a datagram's repeat or overtake is excused only by its own recorded fault decision", () => {
  const m = bare();
  const msgs = () => m.violations.map((v) => v.message);
  // Flow 1: dup decision d on datagram @100; the copy arrives first, then the original: one extra copy, silent.
  streamLossy(m, 1);
  const d = streamExcuse(m, EXCUSE.dup, 7, 100);
  assert(d > 0);
  streamCheckDatagram(m, 1, dg(7, 0, 100));
  streamCheckDatagram(m, 1, dg(7, 100, 100, d));
  streamCheckDatagram(m, 1, dg(7, 100, 100));
  assertEquals(msgs(), []);
  // A third copy carrying the same decision (a bug copying the tagged datagram): duplicated.
  streamCheckDatagram(m, 1, dg(7, 100, 100, d));
  assertEquals(msgs(), ["stream flow 1: 100 bytes at offset 100 delivered twice"]);
  // Flow 2: the decision names @100, not @0: a repeat of @0 tagged with it is not excused.
  streamLossy(m, 2);
  streamCheckDatagram(m, 2, dg(7, 0, 100));
  streamCheckDatagram(m, 2, { ...dg(7, 0, 100), dupFault: d });
  assertEquals(msgs().length, 2);
  assert(msgs()[1].startsWith("stream flow 2: 100 bytes at offset 0 delivered twice"));
  // Flow 3: a reorder decision on @100 lets it be overtaken by @200; an untagged overtaken @300 is reported.
  streamLossy(m, 3);
  const r = streamExcuse(m, EXCUSE.reorder, 7, 100);
  streamCheckDatagram(m, 3, dg(7, 0, 100));
  streamCheckDatagram(m, 3, dg(7, 200, 100));
  streamCheckDatagram(m, 3, dg(7, 100, 100, 0, r));
  assertEquals(msgs().length, 2);
  streamCheckDatagram(m, 3, dg(7, 400, 100));
  streamCheckDatagram(m, 3, dg(7, 300, 100, 0, d)); // a dup decision does not excuse an overtake
  assertEquals(msgs()[2], "stream flow 3: 100 bytes at offset 300 delivered after bytes up to 500");
  // A reorder tag of another stream id: reported.
  streamLossy(m, 4);
  streamCheckDatagram(m, 4, dg(8, 200, 100));
  streamCheckDatagram(m, 4, dg(8, 100, 100, 0, r));
  assertEquals(msgs()[3], "stream flow 4: 100 bytes at offset 100 delivered after bytes up to 300");
});

/** Runs splice-udp (or the given scenario) with overrides; `bug` patches the relay's stack after setup. */
function udpRun(overrides: Record<string, string>, bug?: (m: Machine) => void, scenario = "splice-udp", seed = 5) {
  const faults = [0, 0];
  let machine: Machine | null = null;
  const out = runScenario({
    scenario,
    seed,
    overrides: { "sim.durationNs": "2000000", ...overrides },
    onSetup: (m: Machine) => {
      machine = m;
      bug?.(m);
    },
    sinks: [{
      onEvent(e) {
        if (e.kind !== KIND.fault) return;
        if (e.fields[0] === FAULT.linkDup) faults[0]++;
        if (e.fields[0] === FAULT.linkReorder) faults[1]++;
      },
    }],
  });
  const w = relayOf(machine as unknown as Machine)!;
  const dupBytes = w.st.acct.dupBySid.reduce((a, b) => a + (b ?? 0), 0);
  return { out, faults, dupBytes, w, v: out.result.violations.map((x) => `${x.kind}: ${x.message}`) };
}

const DUP_REORDER = { "fault.linkDupPpm": "50000", "fault.linkReorderPpm": "50000", "fault.reorderNs": "30000" };

/** The relay's udp_output wrapped: `send` decides what the broken model transmits for each datagram. */
function breakUdpOutput(m: Machine, send: (p: Packet, out: (q: Packet) => KCode) => KCode): void {
  const st = relayOf(m)!.st;
  const orig = st.udpOutput.bind(st);
  st.udpOutput = function* (so: Socket, p: Packet): KCode {
    yield* send(p, (q) => orig(so, q));
  };
}

/** A copy of `p` with every field, its fault decisions included (the worst case for the detector). */
function clone(m: Machine, p: Packet): Packet {
  const st = relayOf(m)!.st;
  const c = st.pool.get(p.proto, p.flow, p.len);
  Object.assign(c, { ...p, id: c.id });
  st.acct.wireBytes += p.len;
  return c;
}

Deno.test("UDP datagrams duplicated and reordered on the links reach the sockets and the sinks, accounted", () => {
  const r = udpRun(DUP_REORDER);
  assert(r.faults[0] > 10 && r.faults[1] > 10, `dup and reorder faults injected: ${r.faults}`);
  assert(r.dupBytes > 0, "duplicated bytes are counted for conservation");
  assertEquals(r.v, []);
  // The sinks received more than the sources sent (the copies), and the conservation check balanced it.
  const sent = r.w.flows.reduce((a, f) => a + f.usrc!.sentBytes, 0);
  const got = r.w.flows.reduce((a, f) => a + f.usink!.receivedBytes, 0);
  assert(got > sent - r.w.st.acct.dropBytes - 200_000, "the relay forwarded what it received");
  // The userland-copy relay (read/write) and the refcount scenario's UDP flows survive them too.
  assertEquals(udpRun({ ...DUP_REORDER, "relay.userCopy": "true" }).v, []);
  assertEquals(udpRun({ ...DUP_REORDER, "splice.mode": "netstack-queue" }).v, []);
  assertEquals(udpRun({ ...DUP_REORDER, "splice.mode": "thread" }).v, []);
});

Deno.test("a model bug duplicating datagrams is found without faults and under dup/reorder faults", () => {
  let n = 0;
  const dupBug = (m: Machine) =>
    breakUdpOutput(m, function* (p, out) {
      const again = ++n % 50 === 0 ? clone(m, p) : null;
      yield* out(p);
      if (again !== null) yield* out(again);
    });
  for (const o of [{}, DUP_REORDER]) {
    n = 0;
    const r = udpRun(o, dupBug);
    assert(r.v.some((s) => s.startsWith("stream: ") && s.endsWith("delivered twice")), `flagged: ${r.v}`);
  }
  // The bug copies only datagrams the wire already duplicated, decision and all: still one copy too many.
  const tagged = (m: Machine) =>
    breakUdpOutput(m, function* (p, out) {
      const again = p.dupFault > 0 ? clone(m, p) : null;
      yield* out(p);
      if (again !== null) yield* out(again);
    });
  const r = udpRun(DUP_REORDER, tagged);
  assert(r.v.some((s) => s.startsWith("stream: ") && s.endsWith("delivered twice")), `flagged: ${r.v}`);
});

Deno.test("a model bug reordering datagrams is found without faults and under dup/reorder faults", () => {
  // The splice's planted reorder (fault.spliceReorderAt swaps two so_rcv records) ...
  for (const o of [{}, DUP_REORDER]) {
    const r = udpRun({ ...o, "fault.spliceReorderAt": "200" });
    assert(r.v.some((s) => s.startsWith("stream: ") && s.includes("delivered after")), `flagged: ${r.v}`);
  }
  // ... and a relay that sends every 40th datagram after the next one.
  let held: Packet | null = null, n = 0;
  const swap = (_m: Machine) =>
    breakUdpOutput(_m, function* (p, out) {
      if (held === null && ++n % 40 === 0) return void (held = p);
      yield* out(p);
      if (held !== null) {
        const h = held;
        held = null;
        yield* out(h);
      }
    });
  for (const o of [{}, DUP_REORDER]) {
    held = null;
    n = 0;
    const r = udpRun(o, swap);
    assert(r.v.some((s) => s.startsWith("stream: ") && s.includes("delivered after")), `flagged: ${r.v}`);
  }
});

Deno.test("a UDP run with dup/reorder faults replays identically, digests and re-execution", () => {
  const dir = Deno.makeTempDirSync({ prefix: "lockstep-faults-udp-" });
  const out = `${dir}/udp.lstrace`;
  recordRun({ scenario: "splice-udp", seed: 11, overrides: { "sim.durationNs": "1000000", ...DUP_REORDER }, out });
  const r = replayFile(out, { resolve: (h: TraceHeader) => findScenario(h.scenario) });
  assertEquals(r.digestMismatch, null);
  assertEquals(r.rerun, "identical");
  assertEquals(checkTrace(out).violations, []);
  Deno.removeSync(dir, { recursive: true });
});
