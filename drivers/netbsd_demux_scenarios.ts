/**
 * Fast protocol/port demultiplexing and lazy receive processing of the
 * infrastructure document, against today's full input path
 * (docs/netbsd-infrastructure.md, row 6).
 *
 * Two CPUs, a multiqueue NIC (one ring and one moderated interrupt per CPU,
 * flows spread by flow id), `dm.sockets` UDP sockets each read by its own
 * process. The interrupt handler moves frames to the CPU's ipintrq; the net
 * soft interrupt then, per mode:
 *
 * - `full`: runs ip_input + udp_input + sbappend for every packet and wakes
 *   the reader (today);
 * - `demux-wq`: only demultiplexes (a hash on addresses and ports) and puts
 *   the packet on the socket's receive PCQ (core/netbsd/pcq.ts), then
 *   enqueues the socket's work on a per-CPU workqueue whose LWP runs
 *   udp_input + sbappend and wakes the reader ("workqueue LWPs servicing
 *   sockets");
 * - `demux-lazy`: demultiplexes and puts the packet on the socket's PCQ and
 *   wakes the reader, which runs udp_input for its own packets and copies them
 *   out directly, no socket buffer ("lazy receive processing": the LWP
 *   blocked on the socket services the work item).
 *
 * Every datagram carries its socket's sequence number: a reader that gets one
 * twice or out of order is a `stream` violation, and at the end every
 * datagram the NIC accepted must be delivered, counted as a drop, or still
 * queued or in hand (`conservation`). (Drops by design leave gaps, so the
 * gap-reporting stream detector is not used here.)
 * @module
 */
import { expectWakeup } from "../core/detect/mod.ts";
import { Histogram } from "../core/histogram.ts";
import type { TimerTarget } from "../core/machine.ts";
import { IfQueue, Pcq } from "../core/netbsd/pcq.ts";
import { type Work, Workqueue } from "../core/netbsd/workqueue.ts";
import { type KCode, KObj, PRIO } from "../core/objects.ts";
import { defineScenario } from "../core/scenario.ts";
import { Fifo } from "./_fifo.ts";

/** Packet ids live in a pool of this many slots (arrival time, flow, sequence). */
const POOL = 1 << 17;

/** Fast demux and lazy receive against the full input path. */
export const rxDemux = defineScenario({
  name: "rx-demux",
  doc: "UDP receive to N sockets: full ip/udp input in softint vs fast demux to socket PCQs (workqueue or lazy reader)",
  params: {
    "dm.mode": { default: "full", choices: ["full", "demux-wq", "demux-lazy"], doc: "where protocol input runs" },
    "dm.ratePps": { default: 400_000, min: 1000, max: 5_000_000, doc: "offered load, packets per second" },
    "dm.sockets": { default: 8, min: 1, max: 256, doc: "UDP sockets, one reader process each" },
    "dm.pcq": { default: 256, min: 2, max: 4096, doc: "socket receive PCQ size (holds one less) / sockbuf datagrams" },
    "dm.itrNs": { default: 20_000, min: 1000, max: 1_000_000, doc: "minimum gap between a queue's interrupts" },
    "dm.userNs": { default: 300, min: 0, max: 1_000_000, doc: "user work per datagram after the read" },
  },
  machine: { kernel: "netbsd", cpus: 2, "sim.durationNs": 20_000_000 },
  setup(m, p) {
    const mode = p["dm.mode"], c = m.cost, ncpu = m.cpus.length, nsock = p["dm.sockets"];
    const demuxNs = c.udpInput >> 2; // a hash lookup on (addresses, ports): a quarter of udp_input's PCB work
    // Packet pool: arrival time, flow and sequence per id.
    const arrT = new Float64Array(POOL), flowOf = new Int32Array(POOL), seqOf = new Int32Array(POOL);
    let nextId = 0;
    const rings = Array.from({ length: ncpu }, () => new Fifo(1024));
    const ipintrq = Array.from({ length: ncpu }, (_, i) => new IfQueue(m, `ipintrq/${i}`, 256, "high"));
    const nextSeq = new Int32Array(nsock);
    const latency = new Histogram();
    let offered = 0,
      accepted = 0,
      delivered = 0,
      drops = 0,
      dropRing = 0,
      dropIpq = 0,
      dropPcq = 0,
      dropSb = 0,
      softintNs = 0,
      softintPkts = 0;
    let held = 0; // taken off one queue, not yet on the next (conservation)
    // Sockets: a receive PCQ (demux modes) or a socket buffer (full, demux-wq), a wait channel.
    const pcqs = Array.from({ length: nsock }, () => new Pcq(p["dm.pcq"]));
    const sbs = Array.from({ length: nsock }, () => new Fifo(p["dm.pcq"]));
    const chans = Array.from({ length: nsock }, (_, s) => m.chan(`so_rcv${s}`));
    const soLocks = Array.from({ length: nsock }, (_, s) => m.newLock(`so_lock${s}`, "adaptive"));
    const wq = mode === "demux-wq" ? new Workqueue(m, "sowq", PRIO.kthread) : null;

    const sbAppend = (s: number, id: number) => {
      held--;
      if (!sbs[s].push(id)) {
        drops++;
        dropSb++;
      } else if (m.hasSleepers(chans[s])) m.wakeup(chans[s]);
    };
    const works: Work[] = Array.from({ length: nsock }, (_, s) => ({
      queued: false,
      fn: function* (): KCode { // the workqueue LWP services socket s
        yield m.lock(soLocks[s]);
        for (;;) {
          const id = yield* pcqs[s].get(m);
          if (id === 0) break;
          held++;
          yield m.spend(c.udpInput + c.sbAppend);
          sbAppend(s, id - 1);
        }
        m.unlock(soLocks[s]);
      },
    }));

    const softints = Array.from(
      { length: ncpu },
      (_, cpu) =>
        m.softintEstablish("net", `ipintr/${cpu}`, function* (): KCode {
          const t0 = m.nowNs;
          for (;;) {
            const x = yield* ipintrq[cpu].dequeue(m);
            if (x === 0) break;
            const id = x - 1, s = flowOf[id];
            held++;
            softintPkts++;
            if (mode === "full") {
              yield m.spend(c.ipInput + c.udpInput + c.sbAppend);
              sbAppend(s, id);
              continue;
            }
            yield m.spend(c.ipInput + demuxNs); // ip_input's checks, then straight to the socket
            const ok = yield* pcqs[s].put(m, id + 1);
            held--;
            if (!ok) {
              drops++;
              dropPcq++;
              continue;
            }
            if (wq !== null) {
              if (!works[s].queued) yield* wq.enqueue(m, works[s]);
            } else if (m.hasSleepers(chans[s])) m.wakeup(chans[s]);
          }
          softintNs += m.nowNs - t0;
        }, null),
    );

    // NIC: per-CPU rings, moderated interrupts.
    const nic = new KObj(m.newId(), "ixl0");
    const intrPending = new Uint8Array(ncpu), lastIntr = new Float64Array(ncpu).fill(-Infinity);
    const rxIntr = (cpu: number) =>
      function* (): KCode {
        intrPending[cpu] = 0;
        lastIntr[cpu] = m.nowNs;
        const r = rings[cpu];
        while (r.len > 0) {
          const id = r.shift();
          held++;
          yield m.spend(c.nicRxPkt);
          const ok = yield* ipintrq[cpu].enqueue(m, id + 1);
          held--;
          if (!ok) {
            drops++;
            dropIpq++;
          }
        }
        m.softintSchedule(softints[cpu]);
      };
    const handlers = Array.from({ length: ncpu }, (_, cpu) => rxIntr(cpu));
    // Built once: no allocation per interrupt.
    const raisers = Array.from({ length: ncpu }, (_, cpu): TimerTarget => ({
      onTimer: () => m.postInterrupt(cpu, nic, handlers[cpu], null),
    }));
    const raise = (cpu: number) => {
      if (intrPending[cpu] !== 0) return;
      intrPending[cpu] = 1;
      m.atCall(Math.max(m.nowNs, lastIntr[cpu] + p["dm.itrNs"]), raisers[cpu], null);
    };
    const gapNs = 1e9 / p["dm.ratePps"];
    // Arrivals stop at three quarters of the run, so the queues drain before the conservation check.
    const stopNs = Math.floor((Number(m.config["sim.durationNs"]) * 3) / 4);
    const arrivals: TimerTarget = {
      onTimer(_arg: unknown, k: number) {
        offered++;
        const s = m.workRng.below(nsock), cpu = s % ncpu;
        const id = nextId;
        nextId = (nextId + 1) % POOL;
        arrT[id] = m.nowNs;
        flowOf[id] = s;
        seqOf[id] = nextSeq[s]++;
        if (!rings[cpu].push(id)) {
          drops++;
          dropRing++;
        } else raise(cpu);
        accepted++;
        const next = Math.round((k + 1) * gapNs);
        if (next < stopNs) m.atCall(Math.max(m.nowNs, next), arrivals, null, k + 1);
      },
    };
    m.atCall(0, arrivals, null, 0);

    // Readers: one process per socket.
    // When the traffic has stopped and drained, the readers are told to close and exit.
    let closing = false;
    m.at(
      stopNs + ((Number(m.config["sim.durationNs"]) - stopNs) >> 1),
      () =>
        m.postInterrupt(0, nic, function* (): KCode {
          closing = true;
          for (const ch of chans) m.wakeup(ch);
          yield m.spend(c.wakeup);
        }, null),
    );
    let disorder = 0;
    for (let s = 0; s < nsock; s++) {
      let last = -1;
      const got = (id: number) => {
        held--;
        if (seqOf[id] <= last && disorder++ === 0) {
          m.violation("stream", `socket ${s}: datagram ${seqOf[id]} delivered after ${last}`, s, seqOf[id]);
        }
        last = seqOf[id];
        latency.record(m.nowNs - arrT[id]);
        delivered++;
      };
      m.spawn(`reader${s}`, function* (): KCode {
        for (;;) {
          if (mode === "demux-lazy") {
            yield m.lock(soLocks[s]); // the PCQ's consumer lock
            let k = 0;
            for (; k < 32; k++) {
              const x = yield* pcqs[s].get(m);
              if (x === 0) break;
              held++;
              yield m.spend(c.udpInput + c.copyPerKb + p["dm.userNs"]); // its own udp_input, copied straight out
              got(x - 1);
            }
            m.unlock(soLocks[s]);
            if (k === 0) {
              const q = pcqs[s];
              if (closing && q.length() === 0) return;
              expectWakeup(m, () => q.length() > 0);
              if (q.length() === 0) yield m.sleep(chans[s]); // checked in the step that sleeps
            } else yield m.spend(c.syscall);
            continue;
          }
          const sb = sbs[s];
          if (sb.len === 0) {
            if (closing) return;
            expectWakeup(m, () => sb.len > 0);
            yield m.sleep(chans[s]);
            continue;
          }
          yield m.spend(c.syscall);
          for (let k = 0; k < 32 && sb.len > 0; k++) {
            held++;
            got(sb.shift());
            yield m.spend(c.sbDrop + c.copyPerKb + p["dm.userNs"]);
          }
        }
      }, { pin: s % ncpu, prio: PRIO.user });
    }
    const queuedNow = () => {
      let queued = 0;
      for (const r of rings) queued += r.len;
      for (const q of ipintrq) queued += q.len;
      for (let s = 0; s < nsock; s++) queued += pcqs[s].length() + sbs[s].len;
      return queued;
    };
    return {
      finish() {
        const queued = queuedNow();
        if (accepted !== delivered + drops + queued + held) {
          m.violation(
            "conservation",
            `rx-demux: ${accepted} accepted != ${delivered} delivered + ${drops} dropped + ${queued} queued + ${held} in hand`,
          );
        }
      },
      metrics: () => {
        const sec = Math.max(1, Math.min(m.nowNs, stopNs)) / 1e9;
        const switches = m.cpus.reduce((a, cc) => a + cc.switches, 0);
        return {
          offeredPps: Math.round(offered / sec),
          deliveredPps: Math.round(delivered / sec),
          drops: { ring: dropRing, ipintrq: dropIpq, pcq: dropPcq, sockbuf: dropSb },
          queuedAtEnd: queuedNow(),
          softintNsPerPkt: Math.round(softintNs / Math.max(1, softintPkts)),
          switchesPerPkt: Math.round((1000 * switches) / Math.max(1, delivered)) / 1000,
          latencyUsP50: Math.round(latency.quantile(50) / 100) / 10,
          latencyUsP99: Math.round(latency.quantile(99) / 100) / 10,
        };
      },
    };
  },
});
