import { assert, assertEquals } from "./_assert.ts";
import { machine } from "./_util.ts";
import { expectWakeup, installDetectors } from "../core/detect/mod.ts";
import { Hook } from "../core/hooks.ts";
import type { KCode, Lock } from "../core/objects.ts";

Deno.test("hooks: two end subscribers are both called, in subscription order; unsubscribing stops one", () => {
  const m = machine();
  const calls: string[] = [];
  m.hooks.end.add(() => calls.push("first"));
  const off = m.hooks.end.add(() => calls.push("second"));
  m.hooks.end.add(() => calls.push("third"));
  off();
  m.spawn("k", function* (): KCode {
    yield m.spend(10);
  });
  m.run();
  assertEquals(calls, ["first", "third"]);
});

Deno.test("hooks: the detectors and another subscriber both see every lock attempt", () => {
  const m = machine({ cpus: "2" });
  installDetectors(m);
  const seen: string[] = [];
  m.hooks.lockEnter.add((th, l: Lock) => seen.push(`${th.name}:${l.cls}`));
  const a = m.newLock("A", "adaptive"), b = m.newLock("B", "adaptive");
  m.spawn("t1", function* (): KCode {
    yield m.lock(a);
    yield m.lock(b);
    m.unlock(b);
    m.unlock(a);
    yield m.lock(b);
    yield m.lock(a); // B then A: a lock order reversal for WITNESS
    m.unlock(a);
    m.unlock(b);
  });
  m.run();
  assertEquals(seen, ["t1:A", "t1:B", "t1:B", "t1:A"]);
  assert(m.violations.some((v) => v.kind === "lock-order"), "WITNESS still subscribed");
});

Deno.test("hooks: a runner's end subscriber no longer replaces the detectors' end checks", () => {
  // Before subscriptions, a second `m.onEnd = ...` silently dropped the
  // detectors' end-of-run checks unless the runner remembered to chain them.
  const m = machine({ "sim.durationNs": "100000000" });
  installDetectors(m);
  const calls: string[] = [];
  m.hooks.end.add(() => calls.push(`runner at ${m.violations.length} violations`));
  const chan = m.chan("never-woken");
  m.spawn("sleeper", function* (): KCode {
    expectWakeup(m, () => true); // its condition holds: someone should have woken it
    yield m.sleep(chan);
  });
  m.spawn("ticker", function* (): KCode {
    for (;;) yield m.spend(1_000_000);
  });
  const r = m.run();
  assertEquals(r.reason, "time-limit");
  assertEquals(m.violations.map((v) => v.kind), ["lost-wakeup"], "the detectors' end check ran");
  assertEquals(calls, ["runner at 1 violations"], "and the runner's, after it");
});

Deno.test("hooks: at quiescence subscribers' explanations add up; a deadlock is reported only when unexplained", () => {
  const run = (explain: number[]) => {
    const m = machine();
    for (const n of explain) m.hooks.quiescentBlocked.add(() => n);
    for (const name of ["s1", "s2"]) {
      m.spawn(name, function* (): KCode {
        yield m.sleep(m.chan(`${name}-chan`));
      });
    }
    m.run();
    return m.violations.filter((v) => v.kind === "deadlock").length;
  };
  assertEquals(run([]), 1);
  assertEquals(run([1]), 1, "one of two explained");
  assertEquals(run([1, 1]), 0, "two subscribers explained one each");
});

Deno.test("hooks: a Hook refuses an unbounded number of subscribers", () => {
  const h = new Hook<() => void>();
  let threw = false;
  try {
    for (let i = 0; i < 1000; i++) h.add(() => {});
  } catch {
    threw = true;
  }
  assert(threw && h.list.length === 64, `bounded at 64 (${h.list.length})`);
});
