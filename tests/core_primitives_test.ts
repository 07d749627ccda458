import { assert, assertEquals } from "./_assert.ts";
import { Log, machine } from "./_util.ts";
import { type KCode, MODE, PRIO } from "../core/objects.ts";
import { taskAdd, taskqBarrier, taskqCreate, taskSet } from "../core/taskq.ts";
import { Timeouts } from "../core/timeout.ts";
import { msleep } from "../core/sync.ts";

Deno.test("task_add returns 1, then 0 while the task is still queued", () => {
  const m = machine();
  const tq = taskqCreate(m, "tq", 1, { pin: [1] });
  const t = taskSet(m, "t", function* () {
    yield m.spend(100);
  });
  const results: number[] = [];
  // The adder holds the CPU the worker needs, so the task stays queued.
  m.spawn("adder", function* (): KCode {
    results.push(yield* taskAdd(m, tq, t));
    results.push(yield* taskAdd(m, tq, t));
  }, { pin: 1, prio: PRIO.kthread + 1 });
  m.run();
  assertEquals(results, [1, 0]);
});

Deno.test("a task re-added while it runs is queued again and runs again", () => {
  const log = new Log();
  const m = machine({}, 1, [log]);
  const tq = taskqCreate(m, "tq", 1, { pin: [0] });
  let runs = 0;
  const t = taskSet(m, "t", function* () {
    runs++;
    yield m.spend(10_000);
  });
  const adds: number[] = [];
  m.spawn("adder", function* (): KCode {
    adds.push(yield* taskAdd(m, tq, t));
    yield m.spend(5_000); // the worker on cpu0 is now running the task
    adds.push(yield* taskAdd(m, tq, t));
  }, { pin: 1 });
  m.run();
  assertEquals(adds, [1, 1], "the queued mark is cleared before the task runs");
  assertEquals(runs, 2);
  assertEquals(log.of("task-run").length, 2);
});

Deno.test("taskq_barrier (1.36) waits for the task that is running", () => {
  const m = machine();
  const tq = taskqCreate(m, "tq", 1, { pin: [0] });
  let finishedAt = -1, barrierAt = -1;
  const t = taskSet(m, "slow", function* () {
    yield m.spend(50_000);
    finishedAt = m.nowNs;
  });
  m.spawn("caller", function* (): KCode {
    yield* taskAdd(m, tq, t);
    yield m.spend(10_000);
    yield* taskqBarrier(m, tq);
    barrierAt = m.nowNs;
  }, { pin: 1 });
  const r = m.run();
  assert(finishedAt > 0 && barrierAt > 0, `both happened: ${finishedAt} ${barrierAt}`);
  assert(barrierAt >= finishedAt, `barrier returned at ${barrierAt} before the task finished at ${finishedAt}`);
  assertEquals(r.violations.length, 0);
});

Deno.test("a waiting writer blocks new readers (OpenBSD rwlock)", () => {
  const m = machine({ cpus: "3" });
  const rw = m.newLock("netlock", "rwlock");
  const order: string[] = [];
  m.spawn("reader1", function* (): KCode {
    yield m.lock(rw, MODE.shared);
    yield m.spend(10_000);
    m.unlock(rw);
  }, { pin: 0 });
  m.spawn("writer", function* (): KCode {
    yield m.spend(1_000);
    yield m.lock(rw, MODE.excl);
    order.push("writer");
    yield m.spend(1_000);
    m.unlock(rw);
  }, { pin: 1 });
  m.spawn("reader2", function* (): KCode {
    yield m.spend(3_000); // arrives while reader1 holds it and the writer waits
    yield m.lock(rw, MODE.shared);
    order.push("reader2");
    m.unlock(rw);
  }, { pin: 2 });
  m.run();
  assertEquals(order, ["writer", "reader2"]);
});

Deno.test("sleeping while holding a spin mutex is reported", () => {
  const m = machine();
  const spin = m.newLock("sb_mtx", "spin");
  const chan = m.chan("somewhere");
  m.spawn("bad", function* (): KCode {
    yield m.lock(spin);
    yield* msleep(m, chan, null, 1_000);
    m.unlock(spin);
  });
  const r = m.run();
  const v = r.violations.find((x) => x.kind === "sleep-with-spin");
  assert(v !== undefined, "reported");
  assert(v.message.includes("sb_mtx"), v.message);
});

Deno.test("a spin mutex spins (CPU busy) and an adaptive mutex sleeps (CPU free)", () => {
  for (const type of ["spin", "adaptive"] as const) {
    const m = machine({ cpus: "2" });
    const l = m.newLock("l", type);
    m.spawn("holder", function* (): KCode {
      yield m.lock(l);
      yield m.spend(100_000);
      m.unlock(l);
    }, { pin: 0 });
    m.spawn("waiter", function* (): KCode {
      yield m.spend(1_000);
      yield m.lock(l);
      m.unlock(l);
    }, { pin: 1 });
    m.run();
    const busy = m.cpus[1].busyNs;
    if (type === "spin") assert(busy > 90_000, `spinning counts as busy: ${busy}`);
    else assert(busy < 20_000, `sleeping frees the CPU: ${busy}`);
  }
});

Deno.test("a lower soft interrupt never preempts a higher one; a higher one preempts a lower", () => {
  const log = new Log();
  const m = machine({ cpus: "1" }, 1, [log]);
  const seen: string[] = [];
  // order: serial > net > bio > clock (NetBSD default)
  const clock = m.softintEstablish("clock", "clk", function* () {
    seen.push("clock-start");
    m.softintSchedule(net); // higher: must run before clock resumes
    yield m.spend(1_000);
    seen.push("clock-end");
  }, null);
  const net = m.softintEstablish("net", "net", function* () {
    seen.push("net-start");
    m.softintSchedule(bio); // lower: must wait until net returns
    yield m.spend(5_000);
    seen.push("net-end");
  }, null);
  const bio = m.softintEstablish("bio", "bio", function* () {
    seen.push("bio");
    yield m.spend(100);
  }, null);
  m.spawn("t", function* (): KCode {
    m.softintSchedule(clock);
    yield m.spend(100);
  });
  m.run();
  assertEquals(seen, ["clock-start", "net-start", "net-end", "bio", "clock-end"]);
});

Deno.test("softint_schedule of a pending handler is a no-op", () => {
  const m = machine({ cpus: "1" });
  let runs = 0;
  const si = m.softintEstablish("net", "x", function* () {
    runs++;
    yield m.spend(10);
  }, null);
  const res: boolean[] = [];
  m.spawn("t", function* (): KCode {
    // softint_schedule runs with preemption disabled: two calls in a row.
    res.push(m.softintSchedule(si));
    res.push(m.softintSchedule(si));
    yield m.spend(10);
  }, { prio: PRIO.intr + 10 });
  m.run();
  assertEquals(res, [true, false]);
  assertEquals(runs, 1);
});

/** A timeout due while a net softint storm occupies CPU 0. */
function timeoutLateness(order: string, storm: boolean): number {
  const m = machine({ cpus: "1", "softint.order": order, "clock.hz": "1000" });
  const tos = new Timeouts(m);
  let firedAt = -1;
  const to = tos.set("t", function* () {
    firedAt = m.nowNs;
    yield m.spend(10);
  });
  const net = m.softintEstablish("net", "netstorm", function* () {
    yield m.spend(20_000);
    if (m.nowNs < 10_000_000) m.softintSchedule(net); // reschedules itself: livelocks its level
  }, null);
  m.spawn("t", function* (): KCode {
    tos.add(to, 1_000_000);
    if (storm) m.softintSchedule(net);
    yield m.spend(10);
  });
  m.run();
  assert(firedAt > 0, "fired");
  return firedAt - 1_000_000;
}

Deno.test("a timeout is late exactly when the clock soft interrupt is starved", () => {
  const tickNs = 1_000_000;
  // Timeouts fire on the first tick at or after their deadline: up to one tick late is on time.
  const onTimeNs = tickNs + 50_000;
  const quiet = timeoutLateness("serial>net>bio>clock", false);
  assert(quiet < onTimeNs, `no storm: on time (${quiet} ns late)`);
  const clockFirst = timeoutLateness("clock>net=serial>bio", true);
  assert(clockFirst < onTimeNs, `clock above net: on time despite the storm (${clockFirst} ns late)`);
  const starved = timeoutLateness("serial>net>bio>clock", true);
  assert(starved > 5 * tickNs, `clock below net: starved (${starved} ns late)`);
});

Deno.test("timeout_del removes a pending timeout; timeout_add reports a reschedule", () => {
  const m = machine({ cpus: "1", "clock.hz": "1000" });
  const tos = new Timeouts(m);
  let fired = 0;
  const to = tos.set("t", function* () {
    fired++;
    yield m.spend(1);
  });
  const r: number[] = [];
  m.spawn("t", function* (): KCode {
    r.push(tos.add(to, 2_000_000), tos.add(to, 3_000_000), tos.del(to), tos.del(to));
    yield m.spend(10);
  });
  m.run();
  assertEquals(r, [1, 0, 1, 0]);
  assertEquals(fired, 0);
});

Deno.test("wakeup_one wakes one sleeper, wakeup wakes all, a timed sleep returns EWOULDBLOCK", () => {
  const m = machine({ cpus: "2" });
  const chan = m.chan("c");
  const got: number[] = [];
  for (let i = 0; i < 3; i++) {
    m.spawn(`s${i}`, function* (): KCode {
      got.push(yield* msleep(m, chan, null, 50_000));
    });
  }
  const woke: number[] = [];
  m.spawn("waker", function* (): KCode {
    yield m.spend(5_000);
    woke.push(m.wakeupOne(chan));
    yield m.spend(5_000);
    woke.push(m.wakeup(chan));
  });
  m.run();
  assertEquals(woke, [1, 2]);
  assertEquals(got, [0, 0, 0]);
  const m2 = machine();
  let r = -1;
  m2.spawn("s", function* (): KCode {
    r = yield* msleep(m2, m2.chan("never"), null, 10_000);
  });
  m2.run();
  assertEquals(r, 35);
});

Deno.test("a hard interrupt preempts a thread but not one holding a spin mutex at high IPL", () => {
  for (const ipl of ["none", "high"] as const) {
    const m = machine({ cpus: "1" });
    const l = m.newLock("l", "spin", ipl);
    let intrAt = -1, releasedAt = -1;
    m.spawn("t", function* (): KCode {
      yield m.lock(l);
      for (let i = 0; i < 10; i++) yield m.spend(1_000);
      releasedAt = m.nowNs;
      m.unlock(l);
      yield m.spend(1_000);
    });
    m.at(2_500, () =>
      m.postInterrupt(0, m.chan("irq"), function* () {
        intrAt = m.nowNs;
        yield m.spend(10);
      }, null));
    m.run();
    if (ipl === "none") assert(intrAt < releasedAt, `interrupt ran inside (${intrAt} < ${releasedAt})`);
    else assert(intrAt >= releasedAt, `interrupt deferred (${intrAt} >= ${releasedAt})`);
  }
});

Deno.test("refcount: free at zero and use after free are reported", () => {
  const m = machine();
  m.spawn("t", function* (): KCode {
    const o = m.alloc("socket", 1);
    m.ref(o);
    m.rele(o);
    m.rele(o); // frees
    m.ref(o); // use after free
    yield m.spend(10);
  });
  const r = m.run();
  assertEquals(r.violations.map((v) => v.kind), ["use-after-free"]);
  assert(r.violations[0].message.includes("socket"), r.violations[0].message);
});

Deno.test("refcount: a rele of an object holding no reference is an underflow, and the count stays 0", () => {
  const m = machine();
  let left = -1;
  m.spawn("t", function* (): KCode {
    const o = m.alloc("mbuf", 0); // allocated without a reference (not freed: no rele brought it to 0)
    assertEquals(m.rele(o), false);
    left = o.refs;
    yield m.spend(10);
  });
  const r = m.run();
  assertEquals(r.violations.map((v) => v.kind), ["refcount-underflow"]);
  assert(r.violations[0].message.includes("mbuf"), r.violations[0].message);
  assertEquals(left, 0);
});

Deno.test("after an interrupt, a spin mutex holder resumes before the soft interrupt it scheduled", () => {
  const m = machine({ cpus: "1" });
  const l = m.newLock("tq_mtx", "spin");
  const order: string[] = [];
  const si = m.softintEstablish("clock", "softclock", function* () {
    yield m.lock(l); // would spin forever if it ran inside the holder's critical section
    order.push("softint");
    m.unlock(l);
  }, null);
  m.spawn("holder", function* (): KCode {
    yield m.lock(l);
    for (let i = 0; i < 5; i++) yield m.spend(1_000);
    order.push("holder-release");
    m.unlock(l);
    yield m.spend(1_000);
  });
  m.at(2_500, () =>
    m.postInterrupt(0, m.chan("irq"), function* () {
      m.softintSchedule(si);
      yield m.spend(10);
    }, null));
  const r = m.run();
  assertEquals(order, ["holder-release", "softint"]);
  assertEquals(r.violations, []);
});

Deno.test("an interrupt spinning on a mutex its preempted CPU holds is a deadlock (the mutex's IPL is too low)", () => {
  const m = machine({ cpus: "2" });
  const l = m.newLock("tq_mtx", "spin"); // IPL "none": the interrupt may come in while it is held
  m.spawn("holder", function* (): KCode {
    yield m.lock(l);
    for (let i = 0; i < 5; i++) yield m.spend(1_000);
    m.unlock(l);
  }, { cpu: 0 });
  m.spawn("other", function* (): KCode {
    for (let i = 0; i < 50; i++) yield m.spend(1_000); // keeps cpu1 busy: no idle CPU to rescue anything
  }, { pin: 1 });
  m.at(2_500, () =>
    m.postInterrupt(0, m.chan("irq"), function* () {
      yield m.lock(l);
      m.unlock(l);
    }, null));
  const r = m.run();
  const v = r.violations.find((x) => x.kind === "deadlock");
  assert(v !== undefined, JSON.stringify(r.violations));
  assert(v.message.includes("holder") && v.message.includes("intr/0"), v.message);
  // With the mutex at IPL "high" the interrupt waits until the release: no deadlock.
  const m2 = machine({ cpus: "2" });
  const l2 = m2.newLock("tq_mtx", "spin", "high");
  m2.spawn("holder", function* (): KCode {
    yield m2.lock(l2);
    for (let i = 0; i < 5; i++) yield m2.spend(1_000);
    m2.unlock(l2);
  }, { cpu: 0 });
  m2.at(2_500, () =>
    m2.postInterrupt(0, m2.chan("irq"), function* () {
      yield m2.lock(l2);
      m2.unlock(l2);
    }, null));
  assertEquals(m2.run().violations, []);
});
