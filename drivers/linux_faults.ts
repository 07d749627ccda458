/**
 * Fault injection for the Linux scenarios (the `fault.*` keys of
 * drivers/faults.ts that exist on the Linux paths, plus one of their own),
 * the same way the relay scenarios do it: each injection is a `fault` event,
 * drawn from the PRNG stream of its fault (drivers/faults.ts `FAULT_STREAM` + the
 * fault's number), so a re-execution injects the same ones and switching one
 * fault off leaves the others' draws where they were.
 *
 * Faults and the error path each one takes (torvalds/linux v6.15):
 * - `fault.mbufFailPpm`: an skb allocation fails (`mbuf-fail`, `a` = SKB_SITE).
 *   In tcp_sendmsg (net/ipv4/tcp.c `tcp_sendmsg_locked`: tcp_stream_alloc_skb
 *   NULL → `wait_for_space`) the writer pushes what it has and sleeps in
 *   net/core/stream.c `sk_stream_wait_memory` for vm_wait =
 *   get_random_u32_below(HZ / 5) + 2 jiffies (drawn here from the fault's
 *   stream; a wakeup on the socket ends it sooner), then retries. In
 *   tcp_send_ack (net/ipv4/tcp_output.c `__tcp_send_ack`) the ACK is not sent
 *   and the delayed-ACK timer is re-armed at TCP_DELACK_MAX: the timer, or the
 *   next data segment, carries it later.
 * - `fault.softirqDeferPpm`: a NET_RX raised by a transmitting task is not run
 *   at its local_bh_enable but left to ksoftirqd/N (`softirq-defer`), as
 *   __do_softirq does when out of budget (kernel/softirq.c wakeup_softirqd):
 *   the receive path then waits for a task that competes with netperf for
 *   the CPU.
 * - `fault.cpuSlowAtNs` / `fault.cpuSlowNs` / `fault.cpuSlowX` /
 *   `fault.cpuSlowCpu`: one CPU's costs multiplied for a window
 *   (`cpu-slow`, `cpu-normal`).
 *
 * Not injected on Linux: frame loss, duplication, reordering, rx-ring
 * overflow, link flaps (loopback and veth have no wire and no ring), and
 * netdev_max_backlog overflow (enqueue_to_backlog's drop): the Linux TCP
 * model has no loss recovery yet (core/linux/tcp.ts "Not modelled"), so a
 * dropped segment could not be recovered the way TCP would.
 * @module
 */
import type { Config, KeySet } from "../core/config.ts";
import type { LinuxNet } from "../core/linux/mod.ts";
import type { Machine } from "../core/machine.ts";
import type { Prng } from "../core/prng.ts";
import { FAULT } from "../core/schema.ts";
import { FAULT_KEYS, FaultRecorder } from "./faults.ts";

/** Jiffies per second for sk_stream_wait_memory's vm_wait (CONFIG_HZ of the series' machine: 1000). */
const HZ = 1000;
const JIFFY_NS = 1e9 / HZ;

/** The fault keys a Linux scenario declares (0 switches a fault off). */
export const LINUX_FAULT_KEYS: KeySet = {
  "fault.mbufFailPpm": {
    ...FAULT_KEYS["fault.mbufFailPpm"],
    doc: "fault: skb allocations failing (tcp_sendmsg waits in sk_stream_wait_memory; tcp_send_ack leaves the " +
      "ACK to the delayed-ACK timer), per million",
  },
  "fault.softirqDeferPpm": {
    default: 0,
    doc: "fault: a NET_RX raised by a task left to ksoftirqd instead of its local_bh_enable, per million",
    min: 0,
    max: 1e6,
  },
  "fault.cpuSlowAtNs": FAULT_KEYS["fault.cpuSlowAtNs"],
  "fault.cpuSlowNs": FAULT_KEYS["fault.cpuSlowNs"],
  "fault.cpuSlowX": FAULT_KEYS["fault.cpuSlowX"],
  "fault.cpuSlowCpu": FAULT_KEYS["fault.cpuSlowCpu"],
};

/** True when a Linux fault is on in `cfg` (else no injector is built). */
export function linuxFaultsConfigured(cfg: Config): boolean {
  return Number(cfg["fault.mbufFailPpm"] ?? 0) > 0 || Number(cfg["fault.softirqDeferPpm"] ?? 0) > 0 ||
    Number(cfg["fault.cpuSlowAtNs"] ?? 0) > 0;
}

/** The injector of one Linux stack: installs the hooks of `net` and arms the slow-CPU window. */
export class LinuxFaults extends FaultRecorder {
  readonly #skbPpm: number;
  readonly #deferPpm: number;
  readonly #skbRng: Prng;
  readonly #deferRng: Prng;

  constructor(m: Machine, net: LinuxNet, cfg: Config) {
    super(m);
    const n = (k: string) => Number(cfg[k] ?? LINUX_FAULT_KEYS[k].default);
    this.#skbPpm = n("fault.mbufFailPpm");
    this.#deferPpm = n("fault.softirqDeferPpm");
    this.#skbRng = this.rng(FAULT.mbufFail);
    this.#deferRng = this.rng(FAULT.softirqDefer);
    if (this.#skbPpm > 0) net.skbFail = (site, flow) => this.#skbFail(site, flow);
    if (this.#deferPpm > 0) {
      net.softirqDefer = (cpu) => {
        if (!this.#deferRng.chancePpm(this.#deferPpm)) return false;
        this.record(FAULT.softirqDefer, cpu, 0);
        return true;
      };
    }
    this.armCpuSlow(n);
  }

  /** An skb allocation at `site`: 0, or it fails (recorded) with tcp_sendmsg's vm_wait in ns. */
  #skbFail(site: number, flow: number): number {
    if (!this.#skbRng.chancePpm(this.#skbPpm)) return 0;
    // vm_wait = get_random_u32_below(HZ / 5) + 2 jiffies, drawn always so the stream does not depend on the site.
    const vmWaitNs = (this.#skbRng.below(HZ / 5) + 2) * JIFFY_NS;
    this.record(FAULT.mbufFail, site, flow);
    return vmWaitNs;
  }
}
