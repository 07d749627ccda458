/**
 * Receive livelock: `if_poll` / `<iftype>_defer` of the infrastructure
 * document against an interrupt per packet and against interrupt moderation
 * (docs/netbsd-infrastructure.md, row 5).
 *
 * One CPU, one NIC receiving UDP datagrams at `lv.ratePps` into an RX ring of
 * `lv.ring` descriptors (a full ring drops at the NIC, for free), one user
 * process reading the socket. Per mode:
 *
 * - `intr`: the NIC raises an interrupt when a packet arrives and none is
 *   pending; the handler takes every filled descriptor (`nicRxPkt`), queues
 *   the mbuf on ipintrq (an ifqueue under a spin mutex, IFQ_MAXLEN 256) and
 *   schedules the net soft interrupt, which runs ip_input + udp_input and
 *   appends to the socket;
 * - `moderation`: the same, but the NIC raises at most one interrupt per
 *   `lv.itrNs` (interrupt throttling);
 * - `poll`: the interrupt masks itself (`intrMask`) and schedules the
 *   interface's continuation (core/netbsd/continuation.ts); the continuation
 *   polls up to `lv.budget` frames from the pre-allocated ring (`pollPkt`, no
 *   allocation) and hands each straight to the protocol (if_input -> pr_input,
 *   no ipintrq). When the budget runs out, or the interface interrupted more
 *   than `lv.intrPerTickMax` times this tick, it stays masked and polls again
 *   at the next clock tick ("interrupting too often"); when the ring is empty
 *   it unmasks.
 *
 * Everything the kernel does runs above the user process, so without a bound
 * on kernel work the process starves as the load grows: the livelock curve.
 *
 * Faults (drivers/fault_draws.ts): `fault.rxRingPpm` (a frame finds the ring
 * full: the NIC's missed-packet drop), `fault.mbufFailPpm` (the interrupt
 * path's refill fails: wm_rxeof in sys/dev/pci/if_wm.c, when wm_add_rxbuf's
 * MGETHDR/MCLGET with M_DONTWAIT fails, counts if_ierrors, re-arms the
 * descriptor with its old buffer and discards the frame; the poll path takes
 * frames off a pre-allocated ring and allocates nothing, so it has no such
 * failure), `fault.intrDelayPpm` (the interrupt is raised late) and the slow
 * CPU window. At the end every offered datagram is delivered, queued (ring,
 * ipintrq, socket), in the kernel's or the reader's hands, or counted in
 * one drop counter (`conservation`).
 * @module
 */
import { Histogram } from "../core/histogram.ts";
import type { TimerTarget } from "../core/machine.ts";
import { Kcont, type KcontItem } from "../core/netbsd/continuation.ts";
import { IfQueue } from "../core/netbsd/pcq.ts";
import { type KCode, KObj, PRIO } from "../core/objects.ts";
import { defineScenario } from "../core/scenario.ts";
import { Fifo } from "./_fifo.ts";
import { CPU_SLOW_KEYS, FaultDraws, faultKeys } from "./fault_draws.ts";
import { faultsConfigured } from "./faults.ts";

/** The receive livelock sweep. */
export const rxLivelock = defineScenario({
  name: "rx-livelock",
  doc: "UDP receive at an offered rate on one CPU: interrupt per packet, interrupt moderation or if_poll continuation",
  params: {
    "lv.mode": { default: "intr", choices: ["intr", "moderation", "poll"], doc: "how the NIC's work is scheduled" },
    "lv.ratePps": { default: 200_000, min: 1000, max: 10_000_000, doc: "offered load, packets per second" },
    "lv.ring": { default: 512, min: 8, max: 65536, doc: "RX ring descriptors" },
    "lv.itrNs": { default: 50_000, min: 1000, max: 10_000_000, doc: "moderation: minimum gap between interrupts" },
    "lv.budget": { default: 600, min: 1, max: 65536, doc: "poll: frames per continuation pass" },
    "lv.intrPerTickMax": {
      default: 8,
      min: 1,
      max: 100_000,
      doc: "poll: interrupts per tick above which it stays masked",
    },
    "lv.sbPkts": { default: 512, min: 1, max: 65536, doc: "socket receive buffer, datagrams" },
    "lv.userNs": { default: 300, min: 0, max: 1_000_000, doc: "user work per datagram after the read" },
    ...faultKeys("fault.mbufFailPpm", "fault.rxRingPpm", "fault.intrDelayPpm", "fault.intrDelayNs", ...CPU_SLOW_KEYS),
  },
  machine: { kernel: "netbsd", cpus: 1, "clock.hz": 1000, "sim.durationNs": 50_000_000 },
  setup(m, p, cfg) {
    const mode = p["lv.mode"], c = m.cost;
    const faults = faultsConfigured(cfg) ? new FaultDraws(m, cfg) : null;
    const ring = new Fifo(p["lv.ring"]);
    const sock = new Fifo(p["lv.sbPkts"]);
    const sockChan = m.chan("udp_rcv");
    const nic = new KObj(m.newId(), "wm0");
    const latency = new Histogram();
    let offered = 0, delivered = 0, interrupts = 0, dropRing = 0, dropIpintrq = 0, dropSb = 0, dropMbuf = 0;
    /** Datagrams taken off a queue and not yet put on the next (kernel), read and not yet counted (reader). */
    let inKernel = 0, inReader = 0;
    /**
     * An ipintrq enqueue or dequeue is under way: IfQueue moves the item inside
     * the call, so until it returns the item may be on either side (the
     * end-of-run check allows exactly that one item).
     */
    let enqBusy = false, deqBusy = false;
    let intrPending = false, masked = false, lastIntrNs = -Infinity, intrThisTick = 0, tick = -1;
    const tickNs = Math.round(1e9 / Number(m.config["clock.hz"]));

    /** Protocol input of one datagram: ip_input + udp_input + sbappend, then wake the reader. */
    const protoInput = (arrivedNs: number) => {
      if (!sock.push(arrivedNs)) dropSb++;
      else if (m.hasSleepers(sockChan)) m.wakeup(sockChan);
    };
    const protoNs = c.ipInput + c.udpInput + c.sbAppend;

    // ---- today's path: interrupt handler -> ipintrq -> net soft interrupt
    const ipintrq = mode === "poll" ? null : new IfQueue(m, "ipintrq", 256, "high"); // IFQ_LOCK at IPL_NET
    const ipintr = m.softintEstablish("net", "ipintr", function* (): KCode {
      for (;;) {
        deqBusy = true;
        const t = yield* (ipintrq as IfQueue).dequeue(m);
        deqBusy = false;
        if (t === 0) break;
        inKernel++;
        yield m.spend(protoNs);
        inKernel--;
        protoInput(t - 1);
      }
    }, null);
    const rxIntr = function* (): KCode {
      interrupts++;
      intrPending = false;
      lastIntrNs = m.nowNs;
      while (ring.len > 0) {
        const t = ring.shift();
        inKernel++;
        yield m.spend(c.nicRxPkt);
        // wm_rxeof: no new cluster for the slot, the frame is discarded and its buffer re-armed.
        if (faults !== null && faults.mbufFail(offered, 0)) dropMbuf++;
        else {
          enqBusy = true;
          if (!(yield* (ipintrq as IfQueue).enqueue(m, t + 1))) dropIpintrq++;
          enqBusy = false;
        }
        inKernel--;
      }
      m.softintSchedule(ipintr);
    };

    // ---- the proposal: interrupt masks itself and defers to the interface's continuation
    const kc = mode === "poll" ? new Kcont(m) : null;
    let poll: KcontItem | null = null;
    if (kc !== null) {
      poll = kc.item("wm0_poll", "soft", function* (): KCode {
        let n = 0;
        while (ring.len > 0 && n < p["lv.budget"]) {
          const t = ring.shift();
          inKernel++;
          yield m.spend(c.pollPkt + protoNs);
          inKernel--;
          protoInput(t);
          n++;
        }
        const tooOften = tick === Math.floor(m.nowNs / tickNs) && intrThisTick > p["lv.intrPerTickMax"];
        if (ring.len > 0 || tooOften) {
          kc.scheduleAt(poll as KcontItem, (Math.floor(m.nowNs / tickNs) + 1) * tickNs, 0); // next tick, masked
        } else {
          yield m.spend(c.intrMask);
          masked = false;
          if (ring.len > 0) raise(); // a frame arrived while unmasking
        }
      });
    }
    const pollIntr = function* (): KCode {
      interrupts++;
      intrPending = false;
      const tk = Math.floor(m.nowNs / tickNs);
      if (tk !== tick) {
        tick = tk;
        intrThisTick = 0;
      }
      intrThisTick++;
      masked = true;
      yield m.spend(c.intrMask);
      (kc as Kcont).schedule(poll as KcontItem); // <iftype>_defer(ifp)
    };

    const handler = mode === "poll" ? pollIntr : rxIntr;
    const post: TimerTarget = { onTimer: () => m.postInterrupt(0, nic, handler, null) };
    const raise = () => {
      if (intrPending || masked) return;
      intrPending = true;
      const lateNs = faults !== null ? faults.intrDelayNs(0) : 0;
      if (lateNs === 0) m.postInterrupt(0, nic, handler, null);
      else m.atCall(m.nowNs + lateNs, post, null);
    };

    // ---- the NIC: arrivals at the offered rate (jittered), the interrupt policy
    const gapNs = 1e9 / p["lv.ratePps"];
    const itrNs = p["lv.itrNs"];
    let moderationArmed = false;
    const moderationTimer: TimerTarget = {
      onTimer() {
        moderationArmed = false;
        raise();
      },
    };
    const arrivals: TimerTarget = {
      onTimer(_arg: unknown, k: number) {
        offered++;
        if ((faults !== null && faults.rxRingFull(offered, 0)) || !ring.push(m.nowNs)) dropRing++;
        if (mode === "moderation") {
          if (!intrPending && !moderationArmed) {
            const at = Math.max(m.nowNs, lastIntrNs + itrNs);
            if (at === m.nowNs) raise();
            else {
              moderationArmed = true;
              m.atCall(at, moderationTimer, null);
            }
          }
        } else raise();
        const next = Math.round((k + 1) * gapNs + m.workRng.below(Math.max(1, Math.floor(gapNs / 2))));
        m.atCall(Math.max(m.nowNs, next), arrivals, null, k + 1);
      },
    };
    m.atCall(0, arrivals, null, 0);

    // ---- the user process: recvfrom in batches
    m.spawn("udp_reader", function* (): KCode {
      for (;;) {
        if (sock.len === 0) {
          yield m.sleep(sockChan);
          continue;
        }
        yield m.spend(c.syscall);
        let k = 0;
        while (sock.len > 0 && k < 32) {
          const t = sock.shift();
          latency.record(m.nowNs - t);
          k++;
        }
        inReader = k;
        yield m.spend(k * (c.sbDrop + c.copyPerKb + p["lv.userNs"]));
        inReader = 0;
        delivered += k;
      }
    }, { prio: PRIO.user });

    return {
      finish: () => {
        const queued = ring.len + (ipintrq?.len ?? 0) + sock.len + inKernel + inReader;
        const dropped = dropRing + dropMbuf + dropIpintrq + dropSb;
        // An item inside an ipintrq call: counted twice mid-enqueue (+1), nowhere mid-dequeue (-1).
        const d = delivered + queued + dropped - offered;
        if (d >= (deqBusy ? -1 : 0) && d <= (enqBusy ? 1 : 0)) return;
        m.violation(
          "conservation",
          `rx-livelock: offered ${offered} != delivered ${delivered} + queued ${queued} + dropped ${dropped}` +
            ` (ring ${dropRing}, mbuf ${dropMbuf}, ipintrq ${dropIpintrq}, sockbuf ${dropSb})`,
        );
      },
      metrics: () => {
        const s = Math.max(1, m.nowNs) / 1e9;
        return {
          offeredPps: Math.round(offered / s),
          deliveredPps: Math.round(delivered / s),
          interrupts,
          intrPerPkt: Math.round((1000 * interrupts) / Math.max(1, offered)) / 1000,
          drops: { ring: dropRing, mbuf: dropMbuf, ipintrq: dropIpintrq, sockbuf: dropSb },
          latencyUsP50: Math.round(latency.quantile(50) / 100) / 10,
          latencyUsP99: Math.round(latency.quantile(99) / 100) / 10,
        };
      },
    };
  },
});
