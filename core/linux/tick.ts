/**
 * The periodic scheduler tick (torvalds/linux v6.15 kernel/time/tick-sched.c
 * `tick_nohz_handler` → `tick_sched_handle` → kernel/time/timer.c
 * `update_process_times`: `account_process_tick`, `run_local_timers`,
 * `rcu_sched_clock_irq`, kernel/sched/core.c `sched_tick`), CONFIG_HZ times a
 * second on every CPU, idle or not: CONFIG_NO_HZ_IDLE stops the tick of an
 * idle CPU only when the idle governor asks for it, and the menu governor
 * does not for idle periods predicted shorter than a tick
 * (drivers/cpuidle/governors/menu.c `menu_select`: `*stop_tick = false`),
 * which the microsecond idles of netperf's ping-pong always are. Without
 * `skew_tick=1` every CPU's tick hrtimer expires on the same jiffy boundary,
 * so one timer posts the interrupt on each CPU.
 *
 * The tick is the part of a real machine that a benchmark does not control:
 * where a netperf run starts against it differs from run to run, and the
 * ~1.5 us it steals every millisecond shifts the phase between writer and
 * reader. It is why the model's netperf runs differ at all (drivers/
 * linux_scenarios.ts draws each run's start); `tickHz` 0 turns it off.
 * @module
 */
import type { TimerTarget } from "../machine.ts";
import type { KCode } from "../objects.ts";
import type { LinuxNet } from "./types.ts";

/** Sets up the tick when `net.opt.tickHz` > 0: the first one a period after time 0. */
export function tickInit(net: LinuxNet): void {
  if (net.opt.tickHz === 0) return;
  const m = net.m;
  net.tickObj = m.chan("tick");
  m.atCall(tickPeriodNs(net), tickTarget, net);
}

/** One tick period, ns (rounded: CONFIG_HZ need not divide 10^9). */
export function tickPeriodNs(net: LinuxNet): number {
  return Math.round(1e9 / net.opt.tickHz);
}

/** The tick hrtimer of every CPU (no closure per tick). */
const tickTarget: TimerTarget = {
  onTimer(arg: unknown): void {
    const net = arg as LinuxNet;
    if (net.tickStopped) return;
    const m = net.m;
    for (let c = 0; c < m.cpus.length; c++) {
      m.postInterrupt(c, net.tickObj as NonNullable<typeof net.tickObj>, tickIrq, net);
    }
    m.atCall(m.nowNs + tickPeriodNs(net), tickTarget, net);
  },
};

/** The tick's handler on the interrupted CPU. */
function* tickIrq(arg: unknown): KCode {
  const net = arg as LinuxNet;
  const m = net.m;
  net.ticks[m.curCpu.id]++;
  yield m.spend(m.cost.lxTick);
}
