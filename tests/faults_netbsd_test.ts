/**
 * Faults in the NetBSD scenarios (drivers/fault_draws.ts): netbsd-tcp and
 * netbsd-softint-starve drop segments at the NIC (rx ring full, the driver's
 * refill failing) and TCP recovers (reassembly, retransmission, cumulative
 * ACKs); rx-livelock's interrupt path drops frames. Each error path is
 * reached and recorded, every byte or datagram is accounted for, the correct
 * variants stay clean, the wrong lock order is still found, and a faulted
 * run replays identically.
 * @module
 */
import { assert, assertEquals } from "./_assert.ts";
import { findScenario, runScenario } from "../drivers/mod.ts";
import { recordRun } from "../cli/run.ts";
import { checkTrace, replayFile } from "../replay/mod.ts";
import type { TraceHeader } from "../format/format.ts";
import { ENUMS, FAULT, KIND } from "../core/schema.ts";
import { COST_KEYS, MACHINE_KEYS, resolveConfig } from "../core/config.ts";
import { Machine } from "../core/machine.ts";
import { NbTcp, SEG } from "../core/netbsd/mod.ts";

const RX_FAULTS = {
  "fault.mbufFailPpm": "20000",
  "fault.rxRingPpm": "20000",
  "fault.intrDelayPpm": "50000",
  "fault.cpuSlowAtNs": "2000000",
};

function faulted(scenario: string, overrides: Record<string, string>, seed = 3) {
  const faults = new Array(ENUMS.fault.length).fill(0);
  const out = runScenario({
    scenario,
    seed,
    overrides,
    sinks: [{ onEvent: (e) => void (e.kind === KIND.fault && faults[e.fields[0]]++) }],
  });
  const v = out.result.violations.map((x) => `${x.kind}: ${x.message}`);
  return { out, faults, v, metrics: out.metrics as Record<string, unknown> };
}

Deno.test("scenarios declare only the faults whose error path they have", () => {
  for (const name of ["netbsd-tcp", "netbsd-softint-starve", "rx-livelock"]) {
    const keys = Object.keys(findScenario(name)!.params).filter((k) => k.startsWith("fault."));
    assert(keys.includes("fault.mbufFailPpm") && keys.includes("fault.rxRingPpm"), name);
    assert(keys.includes("fault.intrDelayPpm") && keys.includes("fault.cpuSlowAtNs"), name);
    // No wire between the peers and the NIC is modelled, nor OpenBSD socket buffers: no link or sb faults.
    assert(!keys.includes("fault.linkLossPpm") && !keys.includes("fault.sbLimitAtNs"), name);
  }
});

Deno.test("netbsd-tcp: dropped SYNs, data and ACKs are recovered or accounted; the hierarchy stays clean", () => {
  const r = faulted("netbsd-tcp", { ...RX_FAULTS, "nbtcp.bulkDir": "receive", "sim.durationNs": "8000000" });
  for (const f of [FAULT.mbufFail, FAULT.rxRing, FAULT.intrDelay, FAULT.cpuSlow, FAULT.cpuNormal]) {
    assert(r.faults[f] > 0, `fault ${ENUMS.fault[f]} injected: ${r.faults}`);
  }
  const drops = r.metrics.nicDrops as Record<string, number>;
  assertEquals(
    Object.values(drops).reduce((a, b) => a + b, 0),
    r.faults[FAULT.mbufFail] + r.faults[FAULT.rxRing],
    "every fault hit drops one segment",
  );
  assert(drops.data > 0, "data segments dropped");
  assert((r.metrics.reassSegments as number) > 0, "later segments waited in the reassembly queue");
  assertEquals(r.v, []);
  const clean = faulted("netbsd-tcp", { "nbtcp.bulkDir": "receive", "sim.durationNs": "2000000" });
  assert(clean.metrics.nicDrops === undefined, "no fault, no fault metrics");
  // Bulk senders: the peers' ACKs are dropped and the next one covers them (the linger close still drains).
  const snd = faulted("netbsd-tcp", { ...RX_FAULTS, "nbtcp.rstAtNs": "0", "sim.durationNs": "8000000" }, 4);
  assert((snd.metrics.nicDrops as Record<string, number>).ack > 0, "ACKs dropped");
  assertEquals(snd.v, []);
  assert((snd.metrics.throughputMbps as number) > 1000, "the senders keep going on the ACKs that arrive");
});

Deno.test("netbsd-tcp's conservation check names a byte the accounting lost", () => {
  const m = new Machine({ config: resolveConfig([MACHINE_KEYS, COST_KEYS], { cpus: "1" }), seed: 1 });
  const costs = { inputNs: 1, outputNs: 1, copyNsPerKb: 1, intrNs: 1, syscallNs: 1 };
  const tcp = new NbTcp(m, {
    variant: "hierarchy",
    costs,
    intrCpu: 0,
    rttNs: 1000,
    linkMbps: 1000,
    mssBytes: 1448,
    windowBytes: 65536,
    sbBytes: 65536,
  });
  const so = tcp.socket("c0", 0);
  tcp.fromPeer(SEG.data, so, 1448, 10);
  assertEquals(tcp.conservation(), []); // on its way
  so.inFlightIn -= 1448; // a path that takes the segment off the wire and puts it nowhere
  assertEquals(tcp.conservation(), [
    "c0: peer sent 1448 != read 0 + so_rcv 0 + reassembly 0 + in flight 0 + discarded 0",
  ]);
  so.inflight = 10; // sent, and no ACK on its way for it
  assertEquals(tcp.conservation()[1], "c0: unacknowledged 10 != ACKs in flight 0 + ACKs dropped 0 (so_snd 0)");
});

Deno.test("netbsd-tcp: a SYN dropped before listen() is sent again by the client, not a hang", () => {
  // Seed 255 with these stalls starts the acceptor after the first SYNs arrive (found by explore --swarm).
  const r = faulted("netbsd-tcp", {
    "sched.strategy": "random",
    "sched.perturbPpm": "50000",
    "sched.stallNs": "10000",
  }, 255);
  assertEquals(r.v, []);
  assertEquals(r.out.result.reason, "time-limit");
});

Deno.test("netbsd-tcp: the wrong lock order is still found with faults on", () => {
  const r = faulted("netbsd-tcp", { ...RX_FAULTS, "netbsd.locking": "wrong-order" });
  assert(r.faults[FAULT.mbufFail] > 0);
  assert(r.v.length > 0 && r.v.every((s) => !s.startsWith("conservation")), `found: ${r.v.slice(0, 2)}`);
});

Deno.test("netbsd-softint-starve: dropped ACKs are covered by the next, no violation", () => {
  const r = faulted("netbsd-softint-starve", { ...RX_FAULTS, "sim.durationNs": "20000000" });
  assert(r.faults[FAULT.rxRing] > 0 && r.faults[FAULT.mbufFail] > 0);
  assert((r.metrics.nicDrops as Record<string, number>).ack > 0);
  assertEquals(r.v, []);
});

Deno.test("rx-livelock: refill failures drop in the interrupt path only, every datagram accounted", () => {
  for (const mode of ["intr", "moderation", "poll"]) {
    const r = faulted("rx-livelock", { ...RX_FAULTS, "lv.mode": mode, "sim.durationNs": "20000000" });
    const drops = r.metrics.drops as Record<string, number>;
    assertEquals(drops.mbuf, r.faults[FAULT.mbufFail], mode);
    if (mode === "poll") assertEquals(drops.mbuf, 0, "the poll path allocates nothing");
    else assert(drops.mbuf > 0, mode);
    assert(drops.ring >= r.faults[FAULT.rxRing] && r.faults[FAULT.rxRing] > 0, mode);
    assert(r.faults[FAULT.intrDelay] > 0, mode);
    assertEquals(r.v, [], mode);
  }
});

Deno.test("faulted NetBSD runs replay identically", () => {
  const dir = Deno.makeTempDirSync({ prefix: "lockstep-faults-nb-" });
  for (
    const [scenario, o] of [
      ["netbsd-tcp", { ...RX_FAULTS, "sim.durationNs": "5000000", "nbtcp.bulkDir": "receive" }],
      ["rx-livelock", { ...RX_FAULTS, "sim.durationNs": "5000000" }],
    ] as const
  ) {
    const out = `${dir}/${scenario}.lstrace`;
    recordRun({ scenario, seed: 7, overrides: o, out });
    const r = replayFile(out, { resolve: (h: TraceHeader) => findScenario(h.scenario) });
    assertEquals([r.digestMismatch, r.rerun], [null, "identical"], scenario);
    assertEquals(checkTrace(out).violations, [], scenario);
  }
  Deno.removeSync(dir, { recursive: true });
});
