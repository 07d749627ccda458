import { assertEquals, assertThrows } from "./_assert.ts";
import { Log, machine } from "./_util.ts";
import type { TimerTarget } from "../core/machine.ts";

Deno.test("timers: callbacks due at the same nanosecond fire in arm order, with no current thread", () => {
  const log = new Log();
  const m = machine({}, 1, [log]);
  const fired: string[] = [];
  const target: TimerTarget = {
    onTimer(arg, n) {
      fired.push(`target ${arg} ${n}`);
      assertEquals(m.curThread, null);
    },
  };
  m.at(1_000, () => fired.push("a"));
  m.atCall(1_000, target, "x", 7);
  m.at(1_000, () => {
    fired.push("c");
    m.chan("from-a-timer"); // an event: attributed to thread 0
  });
  m.at(500, () => fired.push("early"));
  m.run();
  assertEquals(fired, ["early", "a", "target x 7", "c"]);
  const named = log.of("obj-name");
  assertEquals(named[named.length - 1].th, 0);
  assertEquals(m.nowNs, 1_000);
  assertThrows(() => m.at(10, () => {}), /in the past/);
  assertThrows(() => m.atCall(10, target, null), /in the past/);
});
