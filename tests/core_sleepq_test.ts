import { assert, assertEquals } from "./_assert.ts";
import { Log, machine } from "./_util.ts";
import { EWOULDBLOCK } from "../core/machine.ts";
import type { KCode } from "../core/objects.ts";
import { condNew, condSignal, condWait, cvBroadcast, cvSignal, cvWait, msleep } from "../core/sync.ts";

Deno.test("sleepq: wakeup_one wakes sleepers in the order they slept", () => {
  const m = machine({ cpus: "4" });
  const chan = m.chan("c");
  const woke: string[] = [];
  for (const [name, delay] of [["late", 300], ["early", 100], ["mid", 200]] as const) {
    m.spawn(name, function* (): KCode {
      yield m.spend(delay);
      yield m.sleep(chan);
      woke.push(name);
    });
  }
  m.spawn("waker", function* (): KCode {
    yield m.spend(1_000);
    assert(m.hasSleepers(chan));
    for (let i = 0; i < 3; i++) {
      assertEquals(m.wakeupOne(chan), 1);
      yield m.spend(5_000);
    }
    assert(!m.hasSleepers(chan));
    assertEquals(m.wakeupOne(chan), 0, "nobody left");
  });
  m.run();
  assertEquals(woke, ["early", "mid", "late"]);
});

Deno.test("sleepq: msleep releases the interlock atomically and re-takes it on wakeup", () => {
  const log = new Log();
  const m = machine({ cpus: "2" }, 1, [log]);
  const mtx = m.newLock("mtx", "adaptive");
  const chan = m.chan("ready");
  let ready = false;
  const seen: string[] = [];
  m.spawn("consumer", function* (th): KCode {
    yield m.lock(mtx);
    while (!ready) yield* msleep(m, chan, mtx);
    seen.push(`consumer holds mtx: ${mtx.owner === th}`);
    m.unlock(mtx);
  }, { pin: 0 });
  m.spawn("producer", function* (): KCode {
    yield m.spend(1_000);
    yield m.lock(mtx); // free: the sleeper released it
    ready = true;
    m.wakeup(chan);
    seen.push("producer");
    yield m.spend(1_000);
    m.unlock(mtx);
  }, { pin: 1 });
  m.run();
  assertEquals(seen, ["producer", "consumer holds mtx: true"]);
  assertEquals(log.of("lock-wait").filter((e) => e.th === 2).length, 0, "the producer found the mutex free");
  const rel = log.of("lock-release").filter((e) => e.th === 1);
  assertEquals(rel.length, 2, "released by the sleep, then after the re-take");
});

Deno.test("sleepq: a timed sleep returns EWOULDBLOCK; a sleep woken first ignores its stale timeout", () => {
  const log = new Log();
  const m = machine({ cpus: "2" }, 1, [log]);
  const chan = m.chan("c");
  const got: number[] = [];
  m.spawn("timed-out", function* (): KCode {
    got.push(yield m.sleep(m.chan("never"), null, 10_000));
  });
  m.spawn("woken", function* (): KCode {
    got.push(yield m.sleep(chan, null, 50_000));
    got.push(yield m.sleep(chan, null, 100_000)); // sleeps again: the first timeout must not end this sleep
  });
  m.spawn("waker", function* (): KCode {
    yield m.spend(20_000);
    m.wakeup(chan);
    yield m.spend(60_000); // past the first timeout
    m.wakeup(chan);
  });
  m.run();
  assertEquals(got, [EWOULDBLOCK, 0, 0]);
  assertEquals(log.of("sleep-timeout").length, 1);
});

Deno.test("sleepq: condition variables: cv_signal wakes one waiter, cv_broadcast every waiter", () => {
  const m = machine({ cpus: "4" });
  const mtx = m.newLock("cv_mtx", "adaptive");
  const cv = m.chan("cv");
  let tokens = 0;
  const got: string[] = [];
  for (let i = 0; i < 3; i++) {
    m.spawn(`w${i}`, function* (): KCode {
      yield m.lock(mtx);
      while (tokens === 0) yield* cvWait(m, cv, mtx);
      tokens--;
      got.push(`w${i}`);
      m.unlock(mtx);
    });
  }
  m.spawn("signaller", function* (): KCode {
    yield m.spend(10_000);
    yield m.lock(mtx);
    tokens = 1;
    yield* cvSignal(m, cv);
    m.unlock(mtx);
    yield m.spend(10_000);
    assertEquals(got.length, 1, "cv_signal woke exactly one waiter");
    yield m.lock(mtx);
    tokens = 2;
    yield* cvBroadcast(m, cv);
    m.unlock(mtx);
  });
  const r = m.run();
  assertEquals(got.length, 3);
  assertEquals(r.reason, "all-exited");
});

Deno.test("sleepq: cond_wait returns once cond_signal ran, even when it ran first", () => {
  const m = machine({ cpus: "2" });
  const early = condNew(m, "early"), late = condNew(m, "late");
  const order: string[] = [];
  m.spawn("signaller", function* (): KCode {
    yield* condSignal(m, early);
    yield m.spend(10_000);
    order.push("signal late");
    yield* condSignal(m, late);
  });
  m.spawn("waiter", function* (): KCode {
    yield m.spend(1_000);
    yield* condWait(m, early); // already signalled: no sleep
    order.push("early done");
    yield* condWait(m, late);
    order.push("late done");
  });
  m.run();
  assertEquals(order, ["early done", "signal late", "late done"]);
});

Deno.test("sleepq: a timeout whose sleep was woken does not end the thread's later lock wait", () => {
  // A sleeps with a timeout, is woken early, then blocks on a held mutex past
  // the old deadline: the stale timeout must leave the lock wait alone (it
  // used to resume A with EWOULDBLOCK without the lock).
  const m = machine({}, 1, []);
  const chan = m.chan("c");
  const l = m.newLock("L", "adaptive");
  const log: string[] = [];
  m.spawn("holder", function* (): KCode {
    yield m.lock(l);
    yield m.spend(50_000);
    m.unlock(l);
  }, { pin: 1 });
  m.spawn("A", function* (): KCode {
    log.push(`woke ${yield m.sleep(chan, null, 10_000)}`);
    yield m.lock(l);
    log.push(`locked, owner ${l.owner?.name}`);
    m.unlock(l);
  }, { pin: 0 });
  m.spawn("B", function* (): KCode {
    yield m.spend(1000);
    m.wakeup(chan);
  }, { pin: 0 });
  const r = m.run();
  assertEquals(log, ["woke 0", "locked, owner A"]);
  assertEquals(r.reason, "all-exited");
  assert(m.nowNs > 50_000, "A got the lock only after the holder released it");
});
