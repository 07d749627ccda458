import { assert, assertEquals } from "./_assert.ts";
import { Log, machine } from "./_util.ts";
import { installDetectors } from "../core/run.ts";
import { type KCode, MODE } from "../core/objects.ts";
import { parseSoftintOrder } from "../core/config.ts";

/**
 * One CPU: `hog` takes the mutex for 5 us, drops it for 100 ns, and again;
 * `waiter` tries once. Returns when the waiter got it and the violations.
 */
function barging(kernel: string) {
  const log = new Log();
  const m = machine({ cpus: "1", kernel, "detect.starvationNs": "500000", "sim.durationNs": "3000000" }, 1, [log]);
  installDetectors(m);
  const mtx = m.newLock("so_lock", "adaptive");
  let gotNs = -1, hogRounds = 0;
  m.spawn("hog", function* (): KCode {
    while (m.nowNs < 2_000_000) {
      yield m.lock(mtx);
      yield m.spend(5_000);
      m.unlock(mtx);
      hogRounds++;
      yield m.spend(100);
    }
  }, { pin: 0 });
  m.spawn("waiter", function* (): KCode {
    yield m.spend(1_000);
    yield m.lock(mtx);
    gotNs = m.nowNs;
    m.unlock(mtx);
  }, { pin: 0 });
  const r = m.run();
  return { gotNs, hogRounds, violations: r.violations, log };
}

Deno.test("netbsd kmutex: a releasing thread re-acquires ahead of a woken waiter (barging); the waiter is reported", () => {
  const nb = barging("netbsd");
  assert(nb.gotNs > 1_900_000, `waiter starved until the hog stopped (got it at ${nb.gotNs})`);
  const starv = nb.violations.filter((v) => v.kind === "starvation");
  assertEquals(starv.length, 1, JSON.stringify(nb.violations));
  assert(/thread waiter waited lock so_lock/.test(starv[0].message), starv[0].message);
  // The waiter slept on the turnstile (its owner was off CPU) and was woken several times without the lock.
  const wakes = nb.log.of("wake").length;
  assert(wakes >= 5, `woken ${wakes} times`);
  // OpenBSD's FIFO handoff gives it the lock at the hog's next release.
  const ob = barging("openbsd");
  assert(ob.gotNs > 0 && ob.gotNs < 250_000, `handoff at ${ob.gotNs}`);
  assertEquals(ob.violations.filter((v) => v.kind === "starvation").length, 0);
});

Deno.test("netbsd kmutex: a waiter spins while the owner runs on another CPU, and never sleeps", () => {
  const log = new Log();
  const m = machine({ cpus: "2", kernel: "netbsd" }, 1, [log]);
  const mtx = m.newLock("mtx", "adaptive");
  let got = -1;
  m.spawn("owner", function* (): KCode {
    yield m.lock(mtx);
    yield m.spend(20_000);
    m.unlock(mtx);
  }, { pin: 0 });
  m.spawn("spinner", function* (): KCode {
    yield m.spend(1_000);
    yield m.lock(mtx);
    got = m.nowNs;
    m.unlock(mtx);
  }, { pin: 1 });
  m.run();
  assert(got >= 20_000 && got < 22_000, `spinner noticed the release within a backoff (${got})`);
  assertEquals(log.of("block").length, 0, "no turnstile sleep while the owner is on CPU");
  assertEquals(log.of("lock-wait").length, 1, "one contended attempt, however many looks");
  assertEquals(mtx.contended, 1);
  assert(m.cpus[1].busyNs >= 19_000, "spinning burns the CPU");
});

Deno.test("netbsd rwlock: a released write lock goes to every waiting reader; a writer then gets it from the last reader", () => {
  const m = machine({ cpus: "1", kernel: "netbsd" });
  const rw = m.newLock("inp", "rwlock");
  const got: string[] = [];
  m.spawn("w0", function* (): KCode {
    yield m.lock(rw, MODE.excl);
    yield m.yieldCpu(); // let the others queue while w0 is off CPU: they sleep
    yield m.spend(1_000);
    m.unlock(rw);
    yield m.spend(100_000);
  }, { pin: 0 });
  for (const [name, mode] of [["r1", MODE.shared], ["w2", MODE.excl], ["r3", MODE.shared]] as const) {
    m.spawn(name, function* (): KCode {
      yield m.lock(rw, mode);
      got.push(name);
      yield m.yieldCpu();
      yield m.spend(1_000);
      m.unlock(rw);
    }, { pin: 0 });
  }
  m.run();
  assertEquals(got, ["r1", "r3", "w2"], "kern_rwlock.c: readers first after a write release, then the writer");
});

Deno.test("softint.order: gen is optional (clock's rank) and, when given, may sit below bio", () => {
  const lv = (o: string) => parseSoftintOrder(o) as number[];
  const a = lv("clock>net=serial>bio>gen");
  assert(a[4] < a[1], "gen below bio");
  assert(a[0] > a[2] && a[2] === a[3], "clock on top, net == serial");
  const b = lv("serial>net>bio>clock");
  assertEquals(b[4], b[0], "omitted gen shares clock's rank");
  assertEquals(parseSoftintOrder("clock>net>bio>gen"), null, "serial missing");
  assertEquals(parseSoftintOrder("clock>net=serial>bio>gen>gen"), null, "gen twice");
});

Deno.test("softint gen level runs below bio with clock>net=serial>bio>gen", () => {
  const m = machine({ cpus: "1", "softint.order": "clock>net=serial>bio>gen" });
  const ran: string[] = [];
  const mk = (level: "gen" | "bio" | "clock", name: string) =>
    m.softintEstablish(level, name, function* (): KCode {
      ran.push(name);
      yield m.spend(1_000);
    }, null);
  const gen = mk("gen", "gen"), bio = mk("bio", "bio"), clock = mk("clock", "clk");
  m.spawn("t", function* (): KCode {
    m.softintSchedule(gen);
    m.softintSchedule(bio);
    m.softintSchedule(clock);
    yield m.spend(1_000);
  }, { pin: 0 });
  m.run();
  assertEquals(ran, ["clk", "bio", "gen"]);
});
