/**
 * Faults in the Linux scenarios (drivers/linux_faults.ts): each fault takes
 * its error path and is recorded; TCP (and the ring with the in-flight
 * check) still delivers every byte in order; a faulted run replays
 * identically; swarm picks only the faults a Linux scenario declares.
 * @module
 */
import { assert, assertEquals } from "./_assert.ts";
import { recordRun } from "../cli/run.ts";
import { swarmChoice } from "../cli/_explore_swarm.ts";
import { findScenario, resolveScenarioConfig, runScenario } from "../drivers/mod.ts";
import { LINUX_FAULT_KEYS } from "../drivers/linux_faults.ts";
import { SKB_SITE } from "../core/linux/types.ts";
import { ENUMS, FAULT, KIND } from "../core/schema.ts";
import { checkTrace, replayFile } from "../replay/mod.ts";
import type { TraceHeader } from "../format/format.ts";

const dir = Deno.makeTempDirSync({ prefix: "lockstep-linux-faults-" });

/** A TCP-only stream of `race.bytes` through linux-splice-race (splice off), counting fault events. */
function stream(overrides: Record<string, string>, seed = 2) {
  const faults = new Array(ENUMS.fault.length).fill(0);
  const sites = [0, 0];
  const out = runScenario({
    scenario: "linux-splice-race",
    seed,
    overrides: { "linux.splice": "off", "race.bytes": "3000000", ...overrides },
    sinks: [{
      onEvent(e) {
        if (e.kind !== KIND.fault) return;
        faults[e.fields[0]]++;
        if (e.fields[0] === FAULT.mbufFail) sites[e.fields[1]]++;
      },
    }],
  });
  return { out, faults, sites, f: out.metrics.faults as Record<string, number> };
}

function clean(r: ReturnType<typeof stream>, what: string): void {
  assertEquals(r.out.result.violations.map((v) => `${v.kind}: ${v.message}`), [], what);
  assertEquals(r.out.metrics.received, r.out.metrics.sent, `${what}: every byte delivered`);
}

Deno.test("skb allocation failure: tcp_sendmsg waits vm_wait and retries, tcp_send_ack leaves the ACK to the timer", () => {
  let sendmsg = 0, ack = 0;
  for (let seed = 1; seed <= 6 && (sendmsg === 0 || ack === 0); seed++) {
    const r = stream({ "fault.mbufFailPpm": "20000" }, seed);
    assertEquals(r.sites[SKB_SITE.tcpSendmsg], r.f.skbFailSendmsg, "one fault event per tcp_sendmsg failure");
    assertEquals(r.sites[SKB_SITE.tcpSendAck], r.f.skbFailSendAck, "one fault event per tcp_send_ack failure");
    clean(r, `seed ${seed}`);
    sendmsg += r.f.skbFailSendmsg;
    ack += r.f.skbFailSendAck;
    // vm_wait is 2..201 jiffies: a failed tcp_sendmsg stalls the stream for milliseconds.
    if (r.f.skbFailSendmsg > 0) assert(r.out.result.simNs > 2_000_000, `${r.out.result.simNs} ns`);
  }
  assert(sendmsg > 0 && ack > 0, `tcp_sendmsg ${sendmsg}, tcp_send_ack ${ack} failures`);
});

Deno.test("delayed softirq: NET_RX left to ksoftirqd; segments overtake across the two backlogs and TCP reorders them", () => {
  const stream1k = (extra: Record<string, string>) =>
    runScenario({
      scenario: "linux-netperf",
      seed: 1,
      overrides: { "netperf.test": "TCP_STREAM", "stream.msgSize": "1024", ...extra },
    });
  const out = stream1k({ "fault.softirqDeferPpm": "20000" });
  const f = out.metrics.faults as Record<string, number>;
  assert(f.softirqDeferred > 0);
  const s = out.metrics.softirq as Record<string, number>;
  assert(s.ksoftirqdHandoffs >= f.softirqDeferred, "each deferral is a ksoftirqd hand-off");
  assert((out.metrics.outOfOrder as number) > 0, "tcp_data_queue_ofo held segments until the hole filled");
  assertEquals(out.result.violations, [], "delivered in order all the same");
  assertEquals(stream1k({}).metrics.outOfOrder, 0, "without the fault every segment arrives in order");
  // The whole stream arrives: every fault at once on a 3 MB TCP transfer.
  const r = stream(
    { "fault.softirqDeferPpm": "100000", "fault.mbufFailPpm": "3000", "fault.cpuSlowAtNs": "200000" },
    3,
  );
  assertEquals(r.faults[FAULT.softirqDefer], r.f.softirqDeferred);
  assert((r.out.metrics.outOfOrder as number) > 0);
  clean(r, "TCP under deferred softirqs");
});

Deno.test("slow CPU: the window is recorded and the run it falls in is slower", () => {
  const seen: string[] = [];
  const out = runScenario({
    scenario: "linux-netperf",
    seed: 1,
    overrides: { "fault.cpuSlowAtNs": "2000000", "fault.cpuSlowNs": "2000000", "fault.cpuSlowX": "3" },
    sinks: [{ onEvent: (e) => void (e.kind === KIND.fault && seen.push(ENUMS.fault[e.fields[0]])) }],
  });
  assertEquals(seen, ["cpu-slow", "cpu-normal"]);
  assertEquals(out.result.violations, []);
  const runs = out.metrics.transPerSecRuns as Record<string, number>;
  assert(runs.run1 < 0.95 * runs.run2, `run1 ${runs.run1} (slow CPU 0 for 2 ms) vs run2 ${runs.run2}`);
});

Deno.test("the ring under faults: the in-flight check keeps every byte in order; the series' check does not", () => {
  const all = { "fault.mbufFailPpm": "3000", "fault.softirqDeferPpm": "100000", "fault.cpuSlowAtNs": "200000" };
  for (let seed = 1; seed <= 3; seed++) {
    const r = stream({ ...all, "linux.splice": "on", "linux.sendCheck": "inflight" }, seed);
    clean(r, `splice, in-flight check, seed ${seed}`);
  }
  // 64 KB TCP_STREAM: TCP bytes waiting in a deferred backlog are not in sk_receive_queue yet, so the series'
  // check lets the ring overtake them (without the fault this size is clean); the in-flight check does not.
  const big = (extra: Record<string, string>) =>
    runScenario({
      scenario: "linux-netperf",
      seed: 1,
      overrides: { "netperf.test": "TCP_STREAM", "stream.msgSize": "65536", "linux.splice": "on", ...extra },
    });
  assertEquals(big({}).result.violations, []);
  const series = big({ "fault.softirqDeferPpm": "20000" });
  assert(series.result.violations.some((v) => v.kind === "stream" && /delivered after/.test(v.message)));
  assertEquals(big({ "fault.softirqDeferPpm": "20000", "linux.sendCheck": "inflight" }).result.violations, []);
});

Deno.test("a faulted Linux run replays identically, and the same seed injects the same faults", () => {
  const overrides = {
    "linux.splice": "off",
    "race.bytes": "2000000",
    "fault.mbufFailPpm": "5000",
    "fault.softirqDeferPpm": "100000",
    "fault.cpuSlowAtNs": "100000",
  };
  const out = `${dir}/linux-faulted.lstrace`;
  recordRun({ scenario: "linux-splice-race", seed: 4, overrides, out });
  const r = replayFile(out, { resolve: (h: TraceHeader) => findScenario(h.scenario) });
  assertEquals(r.digestMismatch, null);
  assertEquals(r.rerun, "identical");
  assertEquals(checkTrace(out).violations, []);
  const a = stream(overrides, 4), b = stream(overrides, 4);
  assertEquals(a.faults, b.faults);
  assert(a.faults[FAULT.softirqDefer] > 0 && a.faults[FAULT.cpuSlow] === 1, `${a.faults}`);
});

Deno.test("swarm on a Linux scenario picks only the faults it declares", () => {
  const base = resolveScenarioConfig(findScenario("linux-netperf"), { "sched.strategy": "random" });
  const keys = new Set<string>();
  for (let seed = 1; seed <= 40; seed++) {
    for (const k of Object.keys(swarmChoice(base, seed))) if (k.startsWith("fault.")) keys.add(k);
  }
  for (const k of keys) assert(k in LINUX_FAULT_KEYS, `${k} is not a Linux fault`);
  assert(keys.has("fault.softirqDeferPpm") && keys.has("fault.mbufFailPpm"), [...keys].join(" "));
});
