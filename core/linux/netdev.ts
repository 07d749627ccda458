/**
 * Linux receive and transmit below TCP (torvalds/linux v6.15):
 *
 * - net/core/dev.c: `netif_rx` → `enqueue_to_backlog` puts the skb on the
 *   current CPU's `softnet_data.input_pkt_queue` (no RPS: loopback and veth
 *   deliver on the CPU that transmitted) and raises NET_RX; `net_rx_action`
 *   polls the backlog NAPI (`process_backlog`, quota `dev_weight` = 64)
 *   within `netdev_budget` (300) packets and `netdev_budget_usecs` (2000);
 *   out of budget with work left it counts a `time_squeeze` and re-raises.
 *   kernel/softirq.c `__do_softirq` restarts at most MAX_SOFTIRQ_RESTART (10)
 *   times or MAX_SOFTIRQ_TIME (2 ms), then wakes `ksoftirqd/N`, which owns
 *   the CPU's softirqs until the queue is empty (`ksoftirqd_run_pending`).
 * - drivers/net/loopback.c `loopback_xmit`: skb_orphan, then `__netif_rx`.
 * - drivers/net/veth.c `veth_xmit` (no XDP, so no NAPI and no GRO on the
 *   peer): `veth_forward_skb` → `__netif_rx` into the peer; GSO skbs pass
 *   unsegmented (veth advertises NETIF_F_GSO_SOFTWARE | NETIF_F_TSO).
 * - net/bridge/br_input.c `br_handle_frame` → br_forward.c `br_forward` →
 *   `br_dev_queue_push_xmit` → `dev_queue_xmit` on the other port (a veth):
 *   the container path is veth → backlog → bridge → veth → backlog → IP.
 *
 * A NET_RX raised in process context (a task transmitting) runs on that
 * task at its `local_bh_enable`, as `do_softirq` does; raised from a
 * softirq it is polled by the running `net_rx_action`; raised elsewhere
 * (timer, hard interrupt) it runs on the machine's soft interrupt thread of
 * level "net" of that CPU. See the module doc of mod.ts.
 * @module
 */
import { type KCode, PRIO, THREAD_KIND } from "../objects.ts";
import { HOP, type LinuxNet, Skb, Softnet } from "./types.ts";

/** kernel/softirq.c MAX_SOFTIRQ_RESTART. */
export const MAX_SOFTIRQ_RESTART = 10;
/** kernel/softirq.c MAX_SOFTIRQ_TIME (2 ms). */
export const MAX_SOFTIRQ_TIME_NS = 2_000_000;
/** Skbs the pool may ever hold (a bound, not a tunable). */
export const SKBS_MAX = 1 << 16;

/** Where a delivered skb goes at the top (tcp_v4_rcv), set by mod.ts to break the import cycle. */
export type RcvFn = (net: LinuxNet, skb: Skb) => KCode;

/** Sets up per-CPU softnet data, NET_RX and ksoftirqd on `m`. */
export function softnetInit(net: LinuxNet, rcv: RcvFn): void {
  const m = net.m;
  net.rcv = rcv;
  for (let c = 0; c < m.cpus.length; c++) net.softnet.push(new Softnet(m, c));
  net.netRx = m.softintEstablish("net", "NET_RX", (arg) => netRxSoftirq(arg as LinuxNet, rcv), net);
  for (const sd of net.softnet) {
    m.markIdleWait(sd.ksoftirqdChan); // an idle ksoftirqd is not part of a deadlock
    sd.ksoftirqd = m.spawn(`ksoftirqd/${sd.cpu}`, () => ksoftirqd(net, sd, rcv), { pin: sd.cpu, prio: PRIO.user });
  }
}

/** alloc_skb from the pool: allocates only while the pool grows to its working set. */
export function skbAlloc(net: LinuxNet): Skb {
  const s = net.pool.shift();
  if (s !== null) {
    s.dst = null;
    s.seq =
      s.len =
      s.consumed =
      s.flags =
      s.ack =
      s.wndRight =
      s.hop =
        0;
    return s;
  }
  if (net.skbsMade >= SKBS_MAX) throw new Error(`more than ${SKBS_MAX} skbs live`);
  net.skbsMade++;
  return new Skb();
}

/** kfree_skb / consume_skb. */
export function skbFree(net: LinuxNet, s: Skb): void {
  s.dst = null;
  s.len = s.consumed = 0;
  net.pool.push(s);
}

/**
 * `__netif_rx` → `enqueue_to_backlog` on the current CPU, raising NET_RX
 * (or leaving it to ksoftirqd when that owns the CPU's softirqs).
 */
export function netifRx(net: LinuxNet, skb: Skb): void {
  const m = net.m;
  const sd = net.softnet[m.curCpu.id];
  if (sd.input.qlen >= net.opt.maxBacklog) {
    sd.dropped++;
    skbFree(net, skb);
    return;
  }
  sd.input.push(skb);
  if (sd.ksoftirqdActive) m.wakeup(sd.ksoftirqdChan);
  else if (sd.inSoftirq) return; // the running net_rx_action polls the backlog until it is empty
  else if (m.cur !== null && m.cur.kind !== THREAD_KIND.softint && m.cur.kind !== THREAD_KIND.intr) {
    sd.raised = true; // process context with BH disabled: do_softirq at the caller's local_bh_enable
  } else m.softintSchedule(net.netRx); // irq exit or another softirq: the CPU's soft interrupt thread
}

/**
 * local_bh_enable() in process context: a NET_RX raised meanwhile runs here,
 * on the current task (kernel/softirq.c `__local_bh_enable_ip` → `do_softirq`),
 * with no switch: the task's CPU time pays for it, as on Linux.
 */
export function* localBhEnable(net: LinuxNet, rcv: RcvFn): KCode {
  const m = net.m;
  const sd = net.softnet[m.curCpu.id];
  if (!sd.raised) return;
  sd.raised = false;
  if (sd.inSoftirq || sd.ksoftirqdActive) return;
  if (net.softirqDefer !== null && net.softirqDefer(sd.cpu)) {
    // Fault: the softirq is delayed. It goes where __do_softirq sends it when out of budget
    // (wakeup_softirqd): ksoftirqd/N, an ordinary task that waits for this one to give up the CPU.
    net.softirqDeferred++;
    sd.handoffs++;
    sd.ksoftirqdActive = true;
    m.wakeup(sd.ksoftirqdChan);
    yield m.spend(m.cost.wakeup);
    return;
  }
  sd.inlineRuns++;
  yield* doSoftirq(net, sd, rcv);
}

/**
 * Transmit one skb from the current CPU down the configured transport:
 * loopback_xmit, or veth_xmit into the host side of the container's veth
 * (the bridge forwards it in the softirq). Spends the device cost.
 */
export function* devQueueXmit(net: LinuxNet, skb: Skb): KCode {
  if (net.rcv === null) throw new Error("devQueueXmit before softnetInit");
  const m = net.m;
  if (net.opt.transport === "loopback") {
    yield m.spend(m.cost.lxDevXmit + m.cost.lxLoopbackXmit);
  } else {
    skb.hop = HOP.bridge;
    yield m.spend(m.cost.lxDevXmit + m.cost.lxVethXmit);
  }
  netifRx(net, skb);
  // rcu_read_unlock_bh() → local_bh_enable() at the end of __dev_queue_xmit: a pending NET_RX runs here.
  yield* localBhEnable(net, net.rcv);
}

/** process_backlog + __netif_receive_skb for one skb: IP and TCP, or the bridge hop. */
function* receiveSkb(net: LinuxNet, skb: Skb, rcv: RcvFn): KCode {
  const m = net.m;
  yield m.spend(m.cost.lxBacklogPkt);
  if (skb.hop === HOP.bridge) {
    // br_handle_frame → br_forward → dev_queue_xmit(veth1) → veth_xmit → netif_rx (same CPU).
    net.bridgeFwd++;
    skb.hop = HOP.dst;
    yield m.spend(m.cost.lxBridgeFwd + m.cost.lxDevXmit + m.cost.lxVethXmit);
    netifRx(net, skb);
    return;
  }
  yield m.spend(m.cost.lxIpRcv);
  yield* rcv(net, skb);
}

/**
 * net_rx_action: the backlog NAPI polled with quota dev_weight until the
 * queue is empty, netdev_budget packets or netdev_budget_usecs. Returns
 * true when work is left (time_squeeze).
 */
function* netRxAction(net: LinuxNet, sd: Softnet, rcv: RcvFn): Generator<number, boolean, number> {
  const m = net.m;
  yield m.spend(m.cost.lxNetRxAction);
  let budget = net.opt.netdevBudget;
  const limitNs = m.nowNs + net.opt.netdevBudgetUs * 1000;
  for (;;) {
    // process_backlog(napi, quota = dev_weight)
    let work = 0;
    while (work < net.opt.devWeight) {
      const skb = sd.input.shift();
      if (skb === null) break;
      work++;
      sd.processed++;
      yield* receiveSkb(net, skb, rcv);
    }
    budget -= work;
    if (sd.input.empty()) return false;
    if (budget <= 0 || m.nowNs >= limitNs) {
      sd.timeSqueeze++;
      return true;
    }
  }
}

/** The NET_RX handler on the soft interrupt thread (raised from irq or softirq context). */
function* netRxSoftirq(net: LinuxNet, rcv: RcvFn): KCode {
  const m = net.m;
  const sd = net.softnet[m.curCpu.id];
  if (sd.ksoftirqdActive || sd.inSoftirq) return; // invoke_softirq leaves it to ksoftirqd / the running one
  sd.threadRuns++;
  yield* doSoftirq(net, sd, rcv);
}

/** __do_softirq for NET_RX: net_rx_action, restarted while work is left, then the hand-off to ksoftirqd. */
function* doSoftirq(net: LinuxNet, sd: Softnet, rcv: RcvFn): KCode {
  const m = net.m;
  sd.inSoftirq = true;
  const startNs = m.nowNs;
  let restarts = 0;
  for (;;) {
    const more = yield* netRxAction(net, sd, rcv);
    if (!more) break;
    restarts++;
    if (restarts < MAX_SOFTIRQ_RESTART && m.nowNs - startNs < MAX_SOFTIRQ_TIME_NS) continue;
    // wakeup_softirqd(): the CPU's softirqs move to a thread the scheduler shares with user tasks.
    sd.handoffs++;
    sd.ksoftirqdActive = true;
    m.wakeup(sd.ksoftirqdChan);
    yield m.spend(m.cost.wakeup);
    break;
  }
  sd.inSoftirq = false;
}

/** ksoftirqd/N (kernel/softirq.c run_ksoftirqd): net_rx_action until nothing is pending, cond_resched between. */
function* ksoftirqd(net: LinuxNet, sd: Softnet, rcv: RcvFn): KCode {
  const m = net.m;
  for (;;) {
    if (!sd.ksoftirqdActive || sd.input.empty()) {
      sd.ksoftirqdActive = false;
      yield m.sleep(sd.ksoftirqdChan);
      continue;
    }
    sd.inSoftirq = true;
    yield* netRxAction(net, sd, rcv);
    sd.inSoftirq = false;
    yield m.yieldCpu(); // cond_resched()
  }
}
