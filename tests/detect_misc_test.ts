/**
 * Deadlock messages, lost wakeups, starvation and stream integrity.
 * @module
 */
import assert from "node:assert/strict";
import { COST_KEYS, MACHINE_KEYS, resolveConfig } from "../core/config.ts";
import { expectWakeup, installDetectors, streamCheck, streamEnd } from "../core/detect/mod.ts";
import { Machine } from "../core/machine.ts";
import { runScenario } from "../drivers/mod.ts";

function bare(): Machine {
  const m = new Machine({ config: resolveConfig([MACHINE_KEYS, COST_KEYS], { cpus: "1" }), seed: 1 });
  installDetectors(m);
  return m;
}

Deno.test("taskq-barrier-self: 1.27 deadlocks with the barrier waiting for the queue's only worker; 1.36 does not", () => {
  const old = runScenario({ scenario: "taskq-barrier-self", seed: 1, overrides: { "taskq.barrier": "1.27" } });
  assert.deepEqual(old.result.violations.map((v) => v.kind), ["deadlock"]);
  assert.equal(
    old.result.violations[0].message,
    "drmtq holding drmtq (taskq) waits in a barrier on drmtq:tqbar for the queue's workers: drmtq; cycle: drmtq -> drmtq",
  );
  const now = runScenario({ scenario: "taskq-barrier-self", seed: 1, overrides: { "taskq.barrier": "1.36" } });
  assert.deepEqual(now.result.violations, []);
  assert.equal(now.metrics.barrierReturned, 1);
});

Deno.test("lock-abba: the deadlock names each thread, what it holds and whom it waits for", () => {
  const out = runScenario({ scenario: "lock-abba", seed: 1 });
  const d = out.result.violations.find((v) => v.kind === "deadlock");
  assert.ok(d !== undefined);
  assert.match(d.message, /thread_ab holding lock_A \(adaptive\) waits for lock lock_B \(owned by thread_ba\)/);
  assert.match(d.message, /thread_ba holding lock_B \(adaptive\) waits for lock lock_A \(owned by thread_ab\)/);
});

Deno.test("lost-wakeup: reported instead of a deadlock; with the interlock the reader consumes", () => {
  const out = runScenario({ scenario: "lost-wakeup", seed: 1 });
  assert.deepEqual(out.result.violations.map((v) => v.kind), ["lost-wakeup"]);
  assert.match(
    out.result.violations[0].message,
    /^lost wakeup: reader sleeps on rcv_wait since \d+ ns although its wait condition holds/,
  );
  const ok = runScenario({ scenario: "lost-wakeup", seed: 1, overrides: { "lw.interlock": "true" } });
  assert.deepEqual(ok.result.violations, []);
  assert.equal(ok.metrics.consumed, 1);
  // The wakeup comes after the sleep: no violation either.
  const late = runScenario({ scenario: "lost-wakeup", seed: 1, overrides: { "lw.produceAtNs": "50000" } });
  assert.deepEqual(late.result.violations, []);
});

Deno.test("lost wakeup: a sleeper whose condition does not hold is a deadlock, not a lost wakeup", () => {
  const m = bare();
  const chan = m.chan("never");
  m.spawn("waiter", function* () {
    expectWakeup(m, () => false);
    yield m.sleep(chan);
  });
  m.run();
  assert.deepEqual(m.violations.map((v) => v.kind), ["deadlock"]);
});

Deno.test("softint-starve: the clock level and its timeout are reported; without the storm nothing is", () => {
  const out = runScenario({ scenario: "softint-starve", seed: 1 });
  const msgs = out.result.violations.map((v) => `${v.kind}: ${v.message}`);
  assert.equal(msgs.length, 2, msgs.join("\n"));
  assert.match(
    msgs[0],
    /^starvation: starvation: soft interrupt softclock \(level clock\) on cpu0 ran after \d+ ns pending/,
  );
  assert.match(msgs[1], /^starvation: starvation: timeout tcp_timer_rexmt fired \d+ ns after its deadline/);
  const calm = runScenario({ scenario: "softint-starve", seed: 1, overrides: { "st.stormNs": "0" } });
  assert.deepEqual(calm.result.violations, []);
  assert.equal(calm.metrics.timersFired, 1);
  // Still pending at the end of the run: reported at the end.
  const cut = runScenario({ scenario: "softint-starve", seed: 1, overrides: { "sim.durationNs": "5000000" } });
  assert.ok(
    cut.result.violations.some((v) => /still pending after/.test(v.message)),
    JSON.stringify(cut.result.violations),
  );
  assert.ok(cut.result.violations.some((v) => /still not fired/.test(v.message)));
});

Deno.test("stream: in order is silent; gaps, duplicates and reordering are reported once per sort and flow", () => {
  const m = bare();
  const msgs = () => m.violations.map((v) => v.message);
  streamCheck(m, 1, 0, 100);
  streamCheck(m, 1, 100, 50);
  streamEnd(m, 1, 150);
  assert.deepEqual(msgs(), []);
  streamCheck(m, 2, 0, 10);
  streamCheck(m, 2, 20, 10); // hole [10, 20)
  streamCheck(m, 2, 10, 10); // fills it: reordered
  assert.deepEqual(msgs(), ["stream flow 2: 10 bytes at offset 10 delivered after bytes up to 30"]);
  streamCheck(m, 2, 25, 10); // 5 bytes seen again
  assert.equal(msgs()[1], "stream flow 2: 5 bytes at offset 25 delivered twice");
  streamCheck(m, 2, 0, 5); // a second duplicate: not reported again
  assert.equal(msgs().length, 2);
  streamCheck(m, 3, 0, 10);
  streamCheck(m, 3, 50, 10);
  streamEnd(m, 3, 80);
  assert.equal(msgs()[2], "stream flow 3: 40 bytes lost at offset 10");
  assert.equal(msgs().length, 3, "one lost report per flow");
  assert.throws(() => streamCheck(m, 4, -1, 1), /offset must be a non-negative integer/);
  assert.deepEqual(m.violations.map((v) => v.kind), ["stream", "stream", "stream"]);
});

Deno.test("stream: a hole still open at the end of the run is lost bytes", () => {
  const m = bare();
  m.spawn("rx", function* () {
    streamCheck(m, 7, 0, 1000);
    yield m.spend(100);
    streamCheck(m, 7, 1460, 1000);
  });
  m.run();
  assert.deepEqual(m.violations.map((v) => v.message), ["stream flow 7: 460 bytes lost at offset 1000"]);
});
