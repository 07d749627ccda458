/**
 * Lock order (WITNESS) and soft interrupt safety (lockdep) detectors.
 * @module
 */
import assert from "node:assert/strict";
import { COST_KEYS, MACHINE_KEYS, resolveConfig } from "../core/config.ts";
import { installDetectors, LockOrderGraph } from "../core/detect/mod.ts";
import { Machine } from "../core/machine.ts";
import type { KCode, Lock } from "../core/objects.ts";
import { taskAdd, taskqBarrier, taskqCreate, taskSet } from "../core/taskq.ts";
import { runScenario } from "../drivers/mod.ts";

function bare(graph?: LockOrderGraph, seed = 1): Machine {
  const config = resolveConfig([MACHINE_KEYS, COST_KEYS], { cpus: "2" });
  const m = new Machine({ config, seed });
  installDetectors(m, { lockGraph: graph });
  return m;
}

/** A thread taking `locks` nested in that order. */
function nested(m: Machine, name: string, locks: Lock[], startNs = 0): void {
  m.spawn(name, function* (): KCode {
    yield m.spend(startNs + 1);
    for (const l of locks) yield m.lock(l);
    for (const l of locks.slice().reverse()) m.unlock(l);
  });
}

const kinds = (m: Machine) => m.violations.map((v) => v.kind);

Deno.test("barrier-netlock: a WITNESS-style reversal between netlock and the softnet0 taskq, once per pair", () => {
  for (let seed = 1; seed <= 30; seed++) {
    const out = runScenario({ scenario: "barrier-netlock", seed });
    const lor = out.result.violations.filter((v) => v.kind === "lock-order");
    assert.equal(lor.length, 1, `seed ${seed}: ${JSON.stringify(out.result.violations)}`);
    const lines = lor[0].message.split("\n");
    assert.equal(lines[0], "witness: lock order reversal:");
    assert.ok(/^ 1st (netlock \(rwlock\)|softnet0 \(taskq\))$/.test(lines[1]), lines[1]);
    assert.ok(/^ 2nd (netlock \(rwlock\)|softnet0 \(taskq\))$/.test(lines[2]), lines[2]);
    assert.notEqual(lines[1].slice(5), lines[2].slice(5));
    assert.ok(/established at event \d+ by (softnet0|ifconfig)$/.test(lines[lines.length - 1]), lor[0].message);
  }
});

Deno.test("barrier-netlock: some schedules deadlock, naming both threads, the lock, the barrier and the workers", () => {
  let deadlocks = 0;
  for (let seed = 1; seed <= 30; seed++) {
    const out = runScenario({ scenario: "barrier-netlock", seed });
    const d = out.result.violations.find((v) => v.kind === "deadlock");
    if (d === undefined) continue;
    deadlocks++;
    assert.match(
      d.message,
      /ifconfig holding netlock \(rwlock excl\) waits in a barrier on softnet0:tqbar for the queue's workers: softnet0/,
    );
    assert.match(d.message, /softnet0 holding softnet0 \(taskq\) waits for lock netlock \(owned by ifconfig\)/);
    assert.match(d.message, /cycle: (ifconfig -> softnet0 -> ifconfig|softnet0 -> ifconfig -> softnet0)/);
  }
  assert.ok(deadlocks > 0 && deadlocks < 30, `deadlocks in ${deadlocks} of 30 seeds`);
});

Deno.test("barrier-netlock with NET_UNLOCK before the barrier: no reversal, no deadlock", () => {
  for (let seed = 1; seed <= 30; seed++) {
    const out = runScenario({ scenario: "barrier-netlock", seed, overrides: { "bnl.fix": "unlock" } });
    assert.deepEqual(out.result.violations, [], `seed ${seed}`);
    assert.equal(out.metrics.detached, 1);
  }
});

Deno.test("lock order: a three-class cycle reports a 3rd lock and each order's first sighting", () => {
  const m = bare();
  const a = m.newLock("A", "adaptive"), b = m.newLock("B", "adaptive"), c = m.newLock("C", "rwlock");
  nested(m, "t_ab", [a, b], 0);
  nested(m, "t_bc", [b, c], 10_000);
  nested(m, "t_ca", [c, a], 20_000);
  m.run();
  assert.deepEqual(kinds(m), ["lock-order"]);
  const lines = m.violations[0].message.split("\n");
  assert.deepEqual(lines.slice(0, 3), ["witness: lock order reversal:", " 1st C (rwlock)", " 2nd A (sleep mutex)"]);
  assert.ok(lines.includes(" 3rd B (sleep mutex)"), m.violations[0].message);
  assert.ok(
    lines.some((l) => /^lock order "A"\(sleep mutex\) -> "B"\(sleep mutex\) established at event \d+ by t_ab$/.test(l)),
  );
  assert.ok(
    lines.some((l) => /^lock order "B"\(sleep mutex\) -> "C"\(rwlock\) established at event \d+ by t_bc$/.test(l)),
  );
});

Deno.test("lock order: consistent nesting is silent; the same reversal twice is reported once", () => {
  const m = bare();
  const a = m.newLock("A", "adaptive"), b = m.newLock("B", "adaptive");
  for (let i = 0; i < 3; i++) nested(m, `ok${i}`, [a, b], i * 1000);
  m.run();
  assert.deepEqual(kinds(m), []);
  const m2 = bare();
  const a2 = m2.newLock("A", "adaptive"), b2 = m2.newLock("B", "adaptive");
  nested(m2, "ab", [a2, b2], 0);
  nested(m2, "ba1", [b2, a2], 10_000);
  nested(m2, "ba2", [b2, a2], 20_000);
  m2.run();
  assert.deepEqual(kinds(m2), ["lock-order"]);
});

Deno.test("lock order graph shared across runs: an order from an earlier run is reversed in a later one", () => {
  const g = new LockOrderGraph();
  g.run = "seed 1";
  const m1 = bare(g, 1);
  nested(m1, "first", [m1.newLock("A", "adaptive"), m1.newLock("B", "adaptive")]);
  m1.run();
  assert.deepEqual(kinds(m1), []);
  g.run = "seed 2";
  const m2 = bare(g, 2);
  const a = m2.newLock("A", "adaptive"), b = m2.newLock("B", "adaptive");
  nested(m2, "second", [b, a]);
  m2.run();
  assert.deepEqual(kinds(m2), ["lock-order"]);
  assert.match(m2.violations[0].message, /established at event \d+ by first \(seed 1\)/);
  // A fresh graph does not know the earlier order.
  const m3 = bare(undefined, 2);
  nested(m3, "second", [m3.newLock("B", "adaptive"), m3.newLock("A", "adaptive")]);
  m3.run();
  assert.deepEqual(kinds(m3), []);
});

Deno.test("taskq pseudo-lock: holding L across taskq_barrier while a task takes L is a reversal; a self-barrier is not", () => {
  const m = bare();
  const l = m.newLock("sc_lock", "adaptive");
  const tq = taskqCreate(m, "systq", 1);
  const t = taskSet(m, "uses_lock", function* (): KCode {
    yield m.lock(l);
    m.unlock(l);
  });
  m.spawn("adder", function* (): KCode {
    yield* taskAdd(m, tq, t);
    yield m.spend(50_000);
    yield m.lock(l);
    yield* taskqBarrier(m, tq);
    m.unlock(l);
  });
  m.run();
  assert.deepEqual(kinds(m), ["lock-order"]);
  assert.match(
    m.violations[0].message,
    /^witness: lock order reversal:\n 1st sc_lock \(sleep mutex\)\n 2nd systq \(taskq\)/,
  );

  const self = runScenario({ scenario: "taskq-barrier-self", seed: 1 });
  assert.deepEqual(self.result.violations, []);
});

Deno.test("softint-unsafe: lockdep inconsistent {IN-SOFTIRQ-W} vs {SOFTIRQ-ON-W} usage, once; a spin mutex is consistent", () => {
  const out = runScenario({ scenario: "softint-unsafe", seed: 1 });
  const v = out.result.violations.filter((x) => x.kind === "softint-safety");
  assert.equal(v.length, 1, JSON.stringify(out.result.violations));
  assert.match(
    v[0].message,
    /inconsistent \{(IN-SOFTIRQ-W\} -> \{SOFTIRQ-ON-W|SOFTIRQ-ON-W\} -> \{IN-SOFTIRQ-W)\} usage\./,
  );
  assert.match(v[0].message, /\(pf_state_mtx\)\{\?\.\}/);
  assert.match(v[0].message, /state was registered at event \d+ by (softnet\/\d|pfctl)/);
  const fixed = runScenario({ scenario: "softint-unsafe", seed: 1, overrides: { "siu.type": "spin" } });
  assert.deepEqual(fixed.result.violations, []);
  assert.equal(fixed.metrics.handled, 20);
});

Deno.test("softint safety: read in softirq and read with softirqs on is fine; a write either side is not", () => {
  for (const [softMode, threadMode, bad] of [[1, 1, false], [1, 0, true], [0, 1, true]] as const) {
    const m = bare();
    const rw = m.newLock("rt_lock", "rwlock");
    const si = m.softintEstablish("net", "rtintr", function* (): KCode {
      yield m.lock(rw, softMode);
      m.unlock(rw);
    }, null);
    m.spawn("route", function* (): KCode {
      yield m.lock(rw, threadMode);
      m.unlock(rw);
      m.softintSchedule(si);
      yield m.spend(10_000);
    });
    m.run();
    assert.equal(kinds(m).includes("softint-safety"), bad, `soft ${softMode} thread ${threadMode}`);
  }
});
