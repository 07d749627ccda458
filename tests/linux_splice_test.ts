import assert from "node:assert/strict";
import {
  createLinuxNet,
  FALLBACK,
  isSpliced,
  LINUX_DEFAULTS,
  type LinuxNet,
  type LinuxOptions,
  sendDecision,
  SHUT,
  sockAbort,
  sockClose,
  socketPair,
  sockShutdownWr,
  spliceRecvmsgDispatch,
  spliceSendmsg,
} from "../core/linux/mod.ts";
import { Skb } from "../core/linux/types.ts";
import type { Machine } from "../core/machine.ts";
import { PRIO } from "../core/objects.ts";
import { installDetectors } from "../core/run.ts";
import { runScenario } from "../drivers/mod.ts";
import { LINUX_MACHINE } from "../drivers/linux_scenarios.ts";
import { machine } from "./_util.ts";

function linuxMachine(extra: Record<string, string> = {}): Machine {
  const o: Record<string, string> = {};
  for (const [k, v] of Object.entries(LINUX_MACHINE)) o[k] = String(v);
  const m = machine({ ...o, "sim.durationNs": "5000000", ...extra });
  installDetectors(m);
  return m;
}

function net(m: Machine, opt: Partial<LinuxOptions> = {}): LinuxNet {
  return createLinuxNet(m, { ...LINUX_DEFAULTS, splice: true, ...opt });
}

Deno.test("splice fallback decisions: ring when clear; TCP for a queued peer, a full ring, an error, a dead ref", () => {
  const m = linuxMachine();
  const n = net(m, { ringBytes: 1024 });
  const [a, b] = socketPair(n, "a", "b");
  assert.ok(isSpliced(a) && isSpliced(b));
  let d = sendDecision(n, a);
  assert.equal(d.reason, FALLBACK.none);
  assert.equal(d.space, 1023);
  // the peer's receive queue holds TCP bytes: ordering forces TCP
  const skb = new Skb();
  skb.len = 10;
  b.rcvQueue.push(skb);
  assert.equal(sendDecision(n, a).reason, FALLBACK.peerRcvq);
  b.rcvQueue.shift();
  // a full ring: back-pressure into TCP
  b.splice!.ring.write(1023, 0);
  assert.equal(sendDecision(n, a).reason, FALLBACK.ringFull);
  b.splice!.ring.read(1023);
  d = sendDecision(n, a);
  assert.equal(d.reason, FALLBACK.none, "space() refreshed its cached tail");
  assert.equal(b.splice!.ring.tailRefreshes, 2);
  // own error or SEND_SHUTDOWN
  a.shutdown |= SHUT.send;
  assert.equal(sendDecision(n, a).reason, FALLBACK.error);
  a.shutdown = 0;
  // the peer's ring ref killed (percpu_ref_kill in tcp_bpf_splice_destroy after close)
  b.splice!.refKilled = true;
  assert.equal(sendDecision(n, a).reason, FALLBACK.refDead);
});

Deno.test("splice fallback decisions: the broken variant ignores the peer queue; inflight also waits for our TCP bytes", () => {
  for (const [check, queued, inflight] of [["none", FALLBACK.none, FALLBACK.none], ["inflight", 3, 6]] as const) {
    const m = linuxMachine();
    const n = net(m, { sendCheck: check });
    const [a, b] = socketPair(n, "a", "b");
    const skb = new Skb();
    skb.len = 10;
    b.rcvQueue.push(skb);
    assert.equal(sendDecision(n, a).reason, queued, `${check}: peer queue non-empty`);
    b.rcvQueue.shift();
    a.sndNxt = 100; // TCP bytes sent, not yet received by the peer (b.rcvNxt is 0)
    assert.equal(sendDecision(n, a).reason, inflight, `${check}: TCP bytes in flight`);
  }
});

/** Runs a paired sender/receiver on two CPUs; returns what the receiver got. */
function exchange(
  opt: Partial<LinuxOptions>,
  sender: (n: LinuxNet, a: ReturnType<typeof socketPair>[0], m: Machine) => Generator<number, void, number>,
  receiver: (
    n: LinuxNet,
    b: ReturnType<typeof socketPair>[1],
    m: Machine,
    got: number[],
  ) => Generator<number, void, number>,
  extra: Record<string, string> = {},
) {
  const m = linuxMachine(extra);
  const n = net(m, opt);
  const [a, b] = socketPair(n, "a", "b");
  const got: number[] = [];
  m.spawn("sender", () => sender(n, a, m), { pin: 1, prio: PRIO.user });
  m.spawn("receiver", () => receiver(n, b, m, got), { pin: 0, prio: PRIO.user });
  const r = m.run();
  return { m, n, a, b, got, r };
}

Deno.test("unpair on close: the parked receiver wakes, sees the pair gone, gets EOF through TCP", () => {
  const x = exchange({}, function* (n, a, m) {
    const r = yield* spliceSendmsg(n, a, 100);
    assert.equal(r, 100);
    yield m.spend(50_000);
    yield* sockClose(n, a);
  }, function* (n, b, _m, got) {
    for (;;) {
      const r = yield* spliceRecvmsgDispatch(n, b, 1000);
      got.push(r);
      if (r <= 0) return;
    }
  });
  assert.deepEqual(x.got, [100, 0], "100 ring bytes, then EOF");
  assert.equal(x.a.splice!.peer, null);
  assert.equal(x.b.splice!.peer, null);
  assert.equal(x.a.ringBytesOut, 100);
  assert.equal(x.a.splice!.refKilled, true);
  assert.deepEqual(x.r.violations, []);
});

Deno.test("unpair on RST: the peer's tcp_reset sets ECONNRESET and unpairs; its sends fail", () => {
  const x = exchange({}, function* (n, a, m) {
    yield m.spend(20_000);
    yield* sockAbort(n, a);
  }, function* (n, b, m, got) {
    const r = yield* spliceRecvmsgDispatch(n, b, 1000);
    got.push(r);
    yield m.spend(30_000);
    got.push(yield* spliceSendmsg(n, b, 10));
  });
  assert.deepEqual(x.got, [-104, -104], "recv and send see ECONNRESET");
  assert.equal(x.b.splice!.peer, null);
  assert.equal(x.b.err, 104);
  assert.deepEqual(x.r.violations, []);
});

Deno.test("shutdown(SHUT_WR): ring bytes already written are drained, then EOF; no ring write after", () => {
  const x = exchange({}, function* (n, a, m) {
    yield* spliceSendmsg(n, a, 500);
    yield* sockShutdownWr(n, a);
    assert.equal(sendDecision(n, a).reason, FALLBACK.error);
    const r = yield* spliceSendmsg(n, a, 10);
    assert.equal(r, -32, "EPIPE");
    yield m.spend(1000);
  }, function* (n, b, m, got) {
    yield m.spend(20_000); // read after the FIN arrived: ring bytes first, then EOF
    for (;;) {
      const r = yield* spliceRecvmsgDispatch(n, b, 1000);
      got.push(r);
      if (r <= 0) return;
    }
  });
  assert.deepEqual(x.got, [500, 0]);
  assert.equal(x.a.ringBytesOut, 500);
  assert.deepEqual(x.r.violations, []);
});

Deno.test("busy poll: the budget expires and the reader parks; the send then wakes it", () => {
  let parkedAtSend = false;
  const x = exchange({ busyPollUs: 5 }, function* (n, a, m) {
    yield m.spend(100_000);
    parkedAtSend = m.hasSleepers(n.socks[1].wq);
    yield* spliceSendmsg(n, a, 64);
  }, function* (n, b, _m, got) {
    got.push(yield* spliceRecvmsgDispatch(n, b, 1000));
  });
  assert.deepEqual(x.got, [64]);
  assert.equal(x.b.busyPollExpired, 1, "one busy-poll round ran out of budget");
  assert.equal(x.b.busyPollHits, 0);
  assert.ok(parkedAtSend, "the reader slept on its wait queue when the sender came");
});

Deno.test("busy poll: data within the budget is found by spinning, no sleep", () => {
  const x = exchange({ busyPollUs: 50 }, function* (n, a, m) {
    yield m.spend(10_000);
    yield* spliceSendmsg(n, a, 64);
  }, function* (n, b, _m, got) {
    got.push(yield* spliceRecvmsgDispatch(n, b, 1000));
  });
  assert.deepEqual(x.got, [64]);
  assert.equal(x.b.busyPollHits, 1);
  assert.equal(x.b.busyPollExpired, 0);
});

Deno.test("percpu_ref: a close racing a ring copy frees the ring only after the copy; without the ref it is a use after free", () => {
  for (const ringRef of [true, false]) {
    const x = exchange({ ringRef }, function* (n, a) {
      yield* spliceSendmsg(n, a, 16_000); // a ~47 us copy into b's ring (copies made slow)
    }, function* (n, b, m) {
      yield m.spend(5000);
      yield* sockClose(n, b); // unpair + destroy during the copy (no grace period)
    }, { "cost.lxRcuGp": "0", "cost.lxCopyPerKb": "3000" });
    const uaf = x.r.violations.filter((v) => v.kind === "use-after-free");
    if (ringRef) {
      assert.deepEqual(x.r.violations, []);
      assert.ok(x.b.splice!.ringRef.freed, "freed by the sender's percpu_ref_put");
    } else assert.equal(uaf.length, 1, "the copy touched a freed ring");
  }
});

Deno.test("ordering: ring bytes never overtake TCP bytes with the in-flight check, under random schedules", () => {
  for (let seed = 1; seed <= 6; seed++) {
    const out = runScenario({
      scenario: "linux-splice-race",
      seed,
      overrides: { "linux.sendCheck": "inflight", "sched.strategy": "random", "race.bytes": "100000" },
    });
    assert.deepEqual(out.result.violations.map((v) => v.message), [], `seed ${seed}`);
    assert.equal(out.metrics.received, 100000);
    assert.ok((out.metrics.fallbacks as number) > 0, "the ring filled and bytes went through TCP");
    assert.ok((out.metrics.ringBytes as number) > 0);
  }
});

Deno.test("ordering: without the peer-queue check a ring write overtakes queued TCP bytes (stream reorder)", () => {
  const out = runScenario({ scenario: "linux-splice-broken", seed: 1, overrides: {} });
  assert.ok(out.result.violations.some((v) => v.kind === "stream" && /delivered after/.test(v.message)));
});

Deno.test("ordering: the series' check misses TCP bytes still in the peer's socket backlog (finding)", () => {
  // No schedule perturbation: the workload's sizes come from the seed; seeds 1 and 6 of 1-8 reorder (which ones
  // depends on the costs: the writer's ring_head transfer moved them from 2-4).
  let reordered = 0;
  for (let seed = 1; seed <= 8; seed++) {
    const out = runScenario({ scenario: "linux-splice-race", seed, overrides: {} });
    if (out.result.violations.some((x) => x.kind === "stream" && /delivered after/.test(x.message))) reordered++;
    assert.ok((out.metrics.sockBacklogged as number) > 0);
  }
  assert.ok(reordered >= 1, `${reordered} of 8 seeds reordered`);
});
