import { assert, assertEquals, assertThrows } from "./_assert.ts";
import { ConfigError } from "../core/config.ts";
import { execute } from "../core/run.ts";
import { netbsdSoftintStarve, netbsdTcp } from "../drivers/netbsd_scenarios.ts";

const tcp = (overrides: Record<string, string>) => execute(netbsdTcp, { seed: 1, overrides });
const num = (v: unknown) => v as number;
const rec = (v: unknown) => v as Record<string, number>;

Deno.test("netbsd-tcp hierarchy: every path runs (accept, bulk with linger close, request/response, RST) with no violation", () => {
  const r = tcp({ "netbsd.locking": "hierarchy" });
  assertEquals(r.result.violations, []);
  assertEquals(r.metrics.accepts, 4);
  assertEquals(r.metrics.resets, 1, "the peer's RST reaches the blocked receiver");
  assertEquals(r.metrics.lingerOk, 2, "both bulk senders' lingering closes saw so_snd drain");
  assert(num(r.metrics.rrTransactions) > 20);
  assert(num(r.metrics.throughputMbps) > 1000);
  const c = rec(r.metrics.contended);
  for (const cls of ["SOCK_IO", "SOCK_LOCK", "SOLISTEN_LOCK", "SONOTIFY_LOCK"]) assertEquals(c[cls], 0, cls);
  assert(rec(r.metrics.acquired)["SOLISTEN_LOCK"] >= 8, "handshakes and accepts take SOLISTEN_LOCK");
});

Deno.test("netbsd-tcp wrong-order: the declared hierarchy names both classes; WITNESS sees the reversal too", () => {
  const r = tcp({ "netbsd.locking": "wrong-order" });
  const lo = r.result.violations.filter((v) => v.kind === "lock-order");
  const h = lo.find((v) => v.message.startsWith("hierarchy:"));
  assert(h !== undefined, JSON.stringify(lo));
  assert(/takes SOCK_LOCK \(event \d+\) while holding SOCKBUF_LOCK \(taken at event \d+\)/.test(h.message), h.message);
  assertEquals(r.metrics.hierarchyViolations, 1, "reported once per class pair");
  assert(lo.some((v) => v.message.startsWith("witness: lock order reversal")), "WITNESS once both orders are seen");
});

Deno.test("netbsd-tcp receive-side: the per-socket mutex makes the application wait far longer than the hierarchy", () => {
  const set = { "nbtcp.bulkDir": "receive", "sim.durationNs": "10000000" };
  const sm = tcp({ ...set, "netbsd.locking": "socket-mutex" });
  const hi = tcp({ ...set, "netbsd.locking": "hierarchy" });
  const smWait = rec(sm.metrics.appWaitUs)["SOCK_LOCK"];
  const hiWait = Object.values(rec(hi.metrics.appWaitUs)).reduce((a, b) => a + b, 0);
  assert(smWait > 10 * hiWait, `socket-mutex ${smWait} us against hierarchy ${hiWait} us`);
  assert(num(sm.metrics.appWaitUsMax) > 2 * num(hi.metrics.appWaitUsMax));
  // sbappend and soreceive almost never meet on SOCKBUF_LOCK (2 of 9125 acquisitions at seed 1 since unlocks are
  // charged, 0 before): at most one in a thousand.
  const sb = rec(hi.metrics.contended)["SOCKBUF_LOCK"], sbAcq = rec(hi.metrics.acquired)["SOCKBUF_LOCK"];
  assert(sbAcq > 1000 && sb * 1000 <= sbAcq, `SOCKBUF_LOCK contended ${sb} of ${sbAcq}`);
});

Deno.test("netbsd-tcp softnet: every socket shares softnet_lock", () => {
  const r = tcp({ "netbsd.locking": "softnet", "sim.durationNs": "10000000" });
  assert(rec(r.metrics.contended)["softnet_lock"] > 0);
  assertEquals(rec(r.metrics.acquired)["SOCK_LOCK"], undefined, "no per-socket mutex");
});

const starve = (order: string) =>
  execute(netbsdSoftintStarve, { seed: 1, overrides: { "softint.order": order, "sim.durationNs": "60000000" } });

Deno.test("netbsd-softint-starve: clock>net=serial>bio keeps the 10 ms TCP timer within one tick; today's order misses", () => {
  const tickUs = 10_000; // clock.hz 100
  const clockFirst = starve("clock>net=serial>bio");
  assertEquals(clockFirst.metrics.timerTickMisses, 0);
  assert(num(clockFirst.metrics.timerLateUsMax) < tickUs, String(clockFirst.metrics.timerLateUsMax));
  assertEquals(clockFirst.metrics.watchdogMisses, 0);
  const today = starve("serial>net>bio>clock");
  assert(num(today.metrics.timerTickMisses) >= 1, "a callout fired a tick or more late");
  assert(num(today.metrics.timerLateUsMax) > tickUs, String(today.metrics.timerLateUsMax));
  assert(num(today.metrics.watchdogMisses) >= 1);
  // gen below bio: the general work waits for the net storm instead of competing with clock.
  const gen = starve("clock>net=serial>bio>gen");
  assertEquals(gen.metrics.timerTickMisses, 0);
  assert(num(gen.metrics.genLateUsMax) > 10 * num(clockFirst.metrics.genLateUsMax));
});

Deno.test("netbsd-tcp: more bulk connections than connections is a configuration error", () => {
  let err: unknown = null;
  try {
    tcp({ "nbtcp.bulk": "9" });
  } catch (e) {
    err = e;
  }
  assert(err instanceof ConfigError && /nbtcp.bulk/.test(err.message), String(err));
  assertThrows(() => tcp({ "netbsd.locking": "giant" }), /netbsd.locking/);
});
