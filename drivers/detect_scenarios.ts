/**
 * Scenarios that each exhibit one bug a detector must find (core/detect):
 *
 * - `barrier-netlock`: taskq_barrier(softnet) while holding NET_LOCK against
 *   an ifiq_process-like task taking NET_LOCK_SHARED (reference section 1,
 *   "barrier called while holding NET_LOCK"): a lock order reversal, and a
 *   deadlock when the task is queued or running at the barrier;
 * - `softint-unsafe`: a mutex taken in a net soft interrupt and by a thread
 *   with soft interrupts enabled (section 3, lockdep IN-SOFTIRQ vs SOFTIRQ-ON);
 * - `lost-wakeup`: check-then-sleep without an interlock;
 * - `softint-starve`: a self-rescheduling net soft interrupt starving the
 *   clock level and its timeouts (section 4).
 *
 * Each has a parameter that selects the fixed variant.
 * @module
 */
import type { Config } from "../core/config.ts";
import { expectWakeup } from "../core/detect/mod.ts";
import type { Machine } from "../core/machine.ts";
import { type KCode, MODE, PRIO } from "../core/objects.ts";
import { msleep } from "../core/sync.ts";
import { taskAdd, taskqBarrier, taskqCreate, taskSet } from "../core/taskq.ts";
import { Timeouts } from "../core/timeout.ts";
import type { Scenario } from "../core/scenario.ts";

/** taskq_barrier(softnet) under NET_LOCK against ifiq_process under NET_LOCK_SHARED. */
export const barrierNetlock: Scenario = {
  name: "barrier-netlock",
  doc: "taskq_barrier(softnet0) while holding NET_LOCK vs an ifiq_process task taking NET_LOCK_SHARED",
  params: {
    "bnl.fix": {
      default: "none",
      doc: "none: barrier under NET_LOCK; unlock: NET_UNLOCK before the barrier (NET_ASSERT_UNLOCKED, ifiq_destroy)",
      choices: ["none", "unlock"],
    },
    "bnl.packets": { default: 40, doc: "packet batches the driver queues on softnet0", min: 0, max: 1e6 },
    "bnl.gapNs": { default: 3000, doc: "time between batches", min: 1, max: 1e9 },
    "bnl.processNs": { default: 2000, doc: "ifiq_process time per batch under NET_LOCK_SHARED", min: 0, max: 1e9 },
    "bnl.detachAtNs": { default: 20_000, doc: "when the ifconfig thread detaches the interface", min: 0, max: 1e12 },
  },
  // sched.kpreempt stays on: em0_intr stands for the device's interrupts as a
  // busy kernel thread, which without preemption would hold CPU 0 and keep
  // softnet0 from ever draining before the detach (every seed deadlocks).
  machineDefaults: { cpus: 2, "sim.durationNs": 2_000_000 },
  setup(m: Machine, cfg: Config) {
    const netlock = m.newLock("netlock", "rwlock");
    const softnet = taskqCreate(m, "softnet0", 1, { prio: PRIO.kthread + 10 });
    const processNs = Number(cfg["bnl.processNs"]);
    let processed = 0, detached = 0;
    const ifiqTask = taskSet(m, "ifiq_process", function* (): KCode {
      yield m.lock(netlock, MODE.shared); // NET_LOCK_SHARED() in if_input_process
      yield m.spend(processNs);
      processed++;
      m.unlock(netlock);
    });
    const packets = Number(cfg["bnl.packets"]), gapNs = Number(cfg["bnl.gapNs"]);
    m.spawn("em0_intr", function* (): KCode {
      for (let i = 0; i < packets; i++) {
        yield* taskAdd(m, softnet, ifiqTask); // ifiq_input
        yield m.spend(m.workRng.between(gapNs >> 1, gapNs + (gapNs >> 1)));
      }
    }, { pin: 0 });
    const fix = cfg["bnl.fix"] === "unlock";
    const detachAt = Number(cfg["bnl.detachAtNs"]);
    m.spawn("ifconfig", function* (): KCode {
      yield m.spend(detachAt);
      yield m.lock(netlock); // NET_LOCK()
      yield m.spend(1000);
      if (fix) m.unlock(netlock);
      yield* taskqBarrier(m, softnet); // ifiq_destroy: taskq_del_barrier
      if (!fix) m.unlock(netlock);
      detached++;
    }, { prio: PRIO.user, pin: 1 % m.cpus.length });
    return { metrics: () => ({ processed, detached }) };
  },
};

/** A mutex taken in a soft interrupt and with soft interrupts enabled. */
export const softintUnsafe: Scenario = {
  name: "softint-unsafe",
  doc: "a lock taken by a net soft interrupt handler and by a thread with soft interrupts enabled",
  params: {
    "siu.type": {
      default: "adaptive",
      doc: "adaptive: inconsistent usage; spin: the mutex raises the IPL above softnet (consistent)",
      choices: ["adaptive", "spin"],
    },
    "siu.rounds": { default: 20, doc: "handler runs and thread acquisitions", min: 1, max: 1e6 },
  },
  machineDefaults: { cpus: 2, "sim.durationNs": 1_000_000 },
  setup(m: Machine, cfg: Config) {
    const lock = m.newLock("pf_state_mtx", cfg["siu.type"] === "spin" ? "spin" : "adaptive");
    let handled = 0;
    const si = m.softintEstablish("net", "ipintr", function* (): KCode {
      yield m.lock(lock);
      yield m.spend(500);
      handled++;
      m.unlock(lock);
    }, null);
    const rounds = Number(cfg["siu.rounds"]);
    m.spawn("nic_rx", function* (): KCode {
      for (let i = 0; i < rounds; i++) {
        m.softintSchedule(si);
        yield m.spend(5000);
      }
    }, { pin: 0 });
    m.spawn("pfctl", function* (): KCode {
      for (let i = 0; i < rounds; i++) {
        yield m.spend(3000);
        yield m.lock(lock);
        yield m.spend(800);
        m.unlock(lock);
      }
    }, { pin: 1 % m.cpus.length, prio: PRIO.user });
    return { metrics: () => ({ handled }) };
  },
};

/** Check-then-sleep without an interlock: the producer's wakeup falls between. */
export const lostWakeup: Scenario = {
  name: "lost-wakeup",
  doc: "a consumer checks a flag, then sleeps without an interlock; the producer's wakeup can fall between",
  params: {
    "lw.interlock": { default: false, doc: "true: check and sleep under a mutex the producer also takes (msleep)" },
    "lw.windowNs": { default: 2000, doc: "time between the consumer's check and its sleep", min: 0, max: 1e9 },
    "lw.produceAtNs": { default: 1000, doc: "when the producer sets the flag and calls wakeup", min: 0, max: 1e12 },
  },
  machineDefaults: { cpus: 2, "sim.durationNs": 1_000_000 },
  setup(m: Machine, cfg: Config) {
    const chan = m.chan("rcv_wait");
    const mtx = m.newLock("sb_mtx", "adaptive");
    const interlock = cfg["lw.interlock"] === true;
    const windowNs = Number(cfg["lw.windowNs"]);
    let ready = false, consumed = 0;
    m.spawn("reader", function* (): KCode {
      if (interlock) yield m.lock(mtx);
      while (!ready) {
        yield m.spend(windowNs); // e.g. looked at one of two queues, found it empty
        expectWakeup(m, () => ready);
        if (interlock) yield* msleep(m, chan, mtx);
        else yield m.sleep(chan);
      }
      consumed++;
      if (interlock) m.unlock(mtx);
    }, { pin: 0 });
    const at = Number(cfg["lw.produceAtNs"]);
    m.spawn("writer", function* (): KCode {
      yield m.spend(at);
      if (interlock) yield m.lock(mtx);
      ready = true;
      m.wakeup(chan);
      if (interlock) m.unlock(mtx);
    }, { pin: 1 % m.cpus.length });
    return { metrics: () => ({ consumed }) };
  },
};

/** A net soft interrupt that keeps rescheduling itself starves the clock level and its timeouts. */
export const softintStarve: Scenario = {
  name: "softint-starve",
  doc: "a net soft interrupt storm on cpu0 starves softclock (callouts run at the lowest level)",
  params: {
    "st.stormNs": {
      default: 6_000_000,
      doc: "how long the net handler keeps rescheduling itself (0: no storm)",
      min: 0,
      max: 1e12,
    },
    "st.timeoutNs": { default: 1_000_000, doc: "a TCP timer due this long after start", min: 1, max: 1e12 },
  },
  machineDefaults: { cpus: 1, "sim.durationNs": 10_000_000, "detect.starvationNs": 2_000_000, "clock.hz": 1000 },
  setup(m: Machine, cfg: Config) {
    const tos = new Timeouts(m);
    let fired = 0, storms = 0;
    const stormNs = Number(cfg["st.stormNs"]);
    const to = tos.set("tcp_timer_rexmt", function* (): KCode {
      fired++;
      yield m.spend(1000);
    });
    const si = m.softintEstablish("net", "netintr", function* (): KCode {
      storms++;
      yield m.spend(20_000);
      if (m.nowNs < stormNs) m.softintSchedule(si); // livelocks the level (reference section 4)
    }, null);
    m.spawn("tcp_output", function* (): KCode {
      tos.add(to, Number(cfg["st.timeoutNs"]));
      if (stormNs > 0) m.softintSchedule(si);
      yield m.spend(1000);
    }, { pin: 0 });
    return { metrics: () => ({ timersFired: fired, netHandlerRuns: storms }) };
  },
};
