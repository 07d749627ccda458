import { assert, assertEquals, assertThrows } from "./_assert.ts";
import { Log, machine } from "./_util.ts";
import { type KCode, MODE, PRIO } from "../core/objects.ts";
import { ENUMS, LOCK_TYPE } from "../core/schema.ts";

Deno.test("locks: a contended adaptive mutex is handed over FIFO; waiters block and report their wait", () => {
  const log = new Log();
  const m = machine({ cpus: "4" }, 1, [log]);
  const mtx = m.newLock("mtx", "adaptive");
  const order: string[] = [];
  for (let i = 0; i < 3; i++) {
    m.spawn(`t${i}`, function* (): KCode {
      yield m.spend(1 + 100 * i); // t0 takes it first, then t1, t2 queue in that order
      yield m.lock(mtx);
      order.push(`t${i}`);
      yield m.spend(10_000);
      m.unlock(mtx);
    }, { pin: i });
  }
  m.run();
  assertEquals(order, ["t0", "t1", "t2"]);
  assertEquals(log.of("lock-wait").length, 2);
  const blocks = log.of("block").filter((e) => ENUMS.blockWhy[e.f[1]] === "lock");
  assertEquals(blocks.length, 2, "an adaptive mutex waiter sleeps");
  const acq = log.of("lock-acquire");
  assert(acq[1].f[3] > 9_000 && acq[2].f[3] > acq[1].f[3], "wait times grow along the queue");
  assertEquals(mtx.acquisitions, 3);
  assertEquals(mtx.contended, 2);
  assertEquals(m.stats.lockWaits, 2);
});

Deno.test("locks: rwlock readers share; a writer waits for the last reader", () => {
  const log = new Log();
  const m = machine({ cpus: "4" }, 1, [log]);
  const rw = m.newLock("rw", "rwlock");
  const got: string[] = [];
  for (let i = 0; i < 2; i++) {
    m.spawn(`r${i}`, function* (): KCode {
      yield m.lock(rw, MODE.shared);
      got.push(`r${i}`);
      yield m.spend(5_000 * (i + 1));
      m.unlock(rw);
    }, { pin: i });
  }
  m.spawn("w", function* (): KCode {
    yield m.spend(1_000);
    yield m.lock(rw, MODE.excl);
    got.push("w");
    assertEquals(rw.readers, 0);
    yield m.spend(5_000);
    m.unlock(rw);
  }, { pin: 2 });
  m.run();
  assertEquals(got, ["r0", "r1", "w"]);
  const wAcq = log.of("lock-acquire").find((e) => e.f[2] === 3)!;
  assert(wAcq.t >= 10_000, `the writer got it after the last reader left (t=${wAcq.t})`);
});

Deno.test("locks: a spin mutex spins (no block), raises the IPL, and a wakeup preempts only at release", () => {
  const log = new Log();
  const m = machine({ cpus: "1" }, 1, [log]);
  const spin = m.newLock("spin", "spin");
  assertEquals(spin.type, LOCK_TYPE.spin);
  const chan = m.chan("c");
  const ran: string[] = [];
  m.spawn("hi", function* (): KCode {
    yield m.sleep(chan);
    ran.push("hi");
  }, { prio: PRIO.kthread + 10 });
  m.spawn("holder", function* (th): KCode {
    yield m.spend(100);
    yield m.lock(spin);
    assert(th.spinHeld === 1 && th.iplPrio > PRIO.kthread, "holding a spin mutex raises the IPL");
    m.wakeup(chan);
    yield m.spend(1_000);
    yield m.spend(1_000);
    ran.push("critical section done");
    m.unlock(spin);
    assertEquals(th.iplPrio, 0);
    yield m.spend(1_000);
    ran.push("after");
  });
  m.run();
  // The wakeup sets needResched, but the holder is not preemptible until it unlocks.
  assertEquals(ran, ["critical section done", "hi", "after"]);
  assertEquals(log.of("lock-wait").length, 0);
});

Deno.test("locks: recursion is reported; unlocking a lock one does not hold is an error", () => {
  const m = machine();
  const l = m.newLock("l", "adaptive");
  m.spawn("r", function* (): KCode {
    yield m.lock(l);
    yield m.lock(l); // locking against myself
  });
  m.run();
  assert(m.violations.some((v) => v.kind === "lock-recursion" && v.message.includes("locking against myself")));
  const m2 = machine();
  const l2 = m2.newLock("l2", "adaptive");
  m2.spawn("u", function* (): KCode {
    yield m2.spend(1);
    m2.unlock(l2);
  });
  assertThrows(() => m2.run(), /not locked by u/);
});

Deno.test("locks: an AB-BA wait closes a cycle reported once, naming holders, waits and the cycle", () => {
  const m = machine({ cpus: "2" });
  const a = m.newLock("A", "adaptive"), b = m.newLock("B", "adaptive");
  m.spawn("t1", function* (): KCode {
    yield m.lock(a);
    yield m.spend(1_000);
    yield m.lock(b);
  }, { pin: 0 });
  m.spawn("t2", function* (): KCode {
    yield m.lock(b);
    yield m.spend(1_000);
    yield m.lock(a);
  }, { pin: 1 });
  const r = m.run();
  assertEquals(r.reason, "deadlock");
  const d = m.violations.filter((v) => v.kind === "deadlock");
  assertEquals(d.length, 1, "the cycle is reported once (not again at quiescence)");
  assert(d[0].message.includes("holding A (adaptive)"), d[0].message);
  assert(d[0].message.includes("waits for lock B (owned by t2)"), d[0].message);
  assert(/cycle: t\d -> t\d -> t\d/.test(d[0].message), d[0].message);
});
