import assert from "node:assert/strict";
import { createLinuxNet, LINUX_DEFAULTS, socketPair } from "../core/linux/mod.ts";
import { localBhEnable, MAX_SOFTIRQ_RESTART, netifRx, skbAlloc } from "../core/linux/netdev.ts";
import { TH } from "../core/linux/types.ts";
import { PRIO } from "../core/objects.ts";
import { installDetectors } from "../core/run.ts";
import { runScenario } from "../drivers/mod.ts";
import { machine } from "./_util.ts";

Deno.test("NET_RX: the NAPI budget squeezes, __do_softirq restarts, then ksoftirqd takes the backlog", () => {
  const m = machine({ "sim.durationNs": "5000000" });
  installDetectors(m);
  const net = createLinuxNet(m, { ...LINUX_DEFAULTS, netdevBudget: 10, devWeight: 4 });
  const [a, b] = socketPair(net, "a", "b");
  const n = 400;
  m.spawn("flood", function* () {
    for (let i = 0; i < n; i++) {
      const skb = skbAlloc(net);
      skb.dst = b;
      skb.flags = TH.ack; // pure ACKs: tcp_rcv_established frees them
      netifRx(net, skb);
    }
    yield* localBhEnable(net, net.rcv!); // netif_rx's own local_bh_enable: do_softirq on this task
    yield m.spend(1);
  }, { pin: 0, prio: PRIO.user });
  const r = m.run();
  assert.deepEqual(r.violations, []);
  const sd = net.softnet[0];
  assert.equal(sd.processed, n, "every skb of the backlog was processed");
  assert.equal(b.segsIn, n);
  // the budget is checked after each dev_weight poll: a round takes 12 skbs (3 polls of 4) before it squeezes
  assert.equal(sd.timeSqueeze, Math.ceil(n / 12) - 1, `time_squeeze ${sd.timeSqueeze}: one per round but the last`);
  assert.ok(sd.handoffs >= 1, "after MAX_SOFTIRQ_RESTART restarts the work went to ksoftirqd");
  assert.ok(sd.timeSqueeze > MAX_SOFTIRQ_RESTART);
  assert.equal(sd.input.qlen, 0);
  assert.equal(sd.inlineRuns, 1, "raised in process context: run at local_bh_enable on the task");
  assert.equal(sd.threadRuns, 0);
  assert.equal(a.segsIn, 0);
});

Deno.test("netperf TCP_STREAM: Mbit/s over loopback; TCP segments coalesce (Nagle) and ACKs flow back", () => {
  const out = runScenario({
    scenario: "linux-netperf",
    seed: 1,
    overrides: { "netperf.test": "TCP_STREAM", "stream.msgSize": "1024" },
  });
  assert.deepEqual(out.result.violations, []);
  const mb = out.metrics.mbitPerSec as number;
  assert.ok(mb > 5000 && mb < 100000, `${mb} Mbit/s`);
  const segs = out.metrics.segments as number, tcpBytes = out.metrics.tcpBytes as number;
  assert.ok(tcpBytes / segs > 4096, "many 1 KB sends per segment");
  assert.ok((out.metrics.pureAcks as number) > 0);
  // segments that found the reader inside tcp_recvmsg (socket owned) went to sk_backlog, run by release_sock
  assert.ok((out.metrics.sockBacklogged as number) > 0);
});

Deno.test("container transport: every skb crosses the bridge once, on two backlog passes", () => {
  const out = runScenario({
    scenario: "linux-netperf",
    seed: 1,
    overrides: { "linux.transport": "container", "rr.size": "4096" },
  });
  assert.deepEqual(out.result.violations, []);
  const c = out.metrics.container as Record<string, number>;
  // data segments, pure ACKs, and the two FINs that close each of netperf's three connections
  const skbs = (out.metrics.segments as number) + (out.metrics.pureAcks as number) + 2 * 3;
  assert.equal(c.bridgeForwards, skbs, `${c.bridgeForwards} of ${skbs}`);
  assert.ok(c.gsoSegmentsCarried >= 3 * (out.metrics.segments as number), "4 KB GSO skbs carry 3 MSS of 1448");
  const lo = runScenario({ scenario: "linux-netperf", seed: 1, overrides: { "rr.size": "4096" } });
  assert.ok((lo.metrics.transPerSec as number) > (out.metrics.transPerSec as number), "veth + bridge costs more");
});

Deno.test("netperf TCP_STREAM with splice: the series' check lets ring bytes overtake TCP bytes; the in-flight check does not", () => {
  const base = { "netperf.test": "TCP_STREAM", "stream.msgSize": "4096", "linux.splice": "on" };
  const series = runScenario({ scenario: "linux-netperf", seed: 1, overrides: base });
  assert.ok(series.result.violations.some((v) => v.kind === "stream" && /delivered after/.test(v.message)));
  const fixed = runScenario({
    scenario: "linux-netperf",
    seed: 1,
    overrides: { ...base, "linux.sendCheck": "inflight" },
  });
  assert.deepEqual(fixed.result.violations, []);
  assert.ok((fixed.metrics.ringBytes as number) > 0);
});
