/**
 * Virtual network stacks (docs/netbsd-infrastructure.md, row 6d): two
 * tenants on one machine, each with its own interface and a UDP socket bound
 * to the same address and port, each fed a sequenced stream by its own
 * sender. `br.mode=branes` gives each tenant a brane (core/netbsd/brane.ts);
 * `global` is today's single stack, where the second bind fails with
 * EADDRINUSE and the second tenant's datagrams match the first tenant's
 * socket. The stream detector (one flow per socket) reports datagrams a
 * socket should never have seen, and those its owner never got.
 * @module
 */
import { streamCheck, streamEnd } from "../core/detect/mod.ts";
import type { TimerTarget } from "../core/machine.ts";
import { Branes } from "../core/netbsd/brane.ts";
import { type KCode, KObj, PRIO } from "../core/objects.ts";
import { defineScenario } from "../core/scenario.ts";
import { Fifo } from "./_fifo.ts";

const FLOW_BASE = 70_000;
const ADDR = 0x0a000001, PORT = 53; // both tenants: 10.0.0.1:53

/** Two tenants with the same address and port: branes or one global stack. */
export const branes = defineScenario({
  name: "branes",
  doc: "two tenants bind the same address and port: virtual network stacks (branes) vs one global stack",
  params: {
    "br.mode": { default: "branes", choices: ["branes", "global"], doc: "a brane per tenant, or one global stack" },
    "br.ratePps": { default: 200_000, min: 1000, max: 2_000_000, doc: "datagrams per second to each tenant" },
    "br.holdNs": { default: 400, min: 0, max: 1_000_000, doc: "time the input path holds the stack lock" },
  },
  machine: { kernel: "netbsd", cpus: 2, "sim.durationNs": 10_000_000 },
  setup(m, p) {
    const tenants = 2, c = m.cost;
    const stacks = new Branes(m, tenants, p["br.mode"] === "global");
    const socks = Array.from({ length: tenants }, () => new Fifo(1024));
    const chans = Array.from({ length: tenants }, (_, t) => m.chan(`so_rcv${t}`));
    const sent = new Float64Array(tenants), got = new Float64Array(tenants), foreign = new Float64Array(tenants);
    let bindFailures = 0, noSocket = 0, drops = 0;
    // Processes: tenant t's reader is process t, moved into brane t, and binds 10.0.0.1:53 there.
    const bound = new Int8Array(tenants);
    for (let t = 0; t < tenants; t++) {
      stacks.chbrane(t, t);
      if (stacks.bind(t, ADDR, PORT, t)) bound[t] = 1;
      else bindFailures++;
    }
    // Datagrams carry (tenant, sequence): tenant * 2^24 + seq.
    const rings = Array.from({ length: tenants }, () => new Fifo(1024));
    const sis = Array.from({ length: tenants }, (_, t) =>
      m.softintEstablish("net", `ipintr/${t}`, function* (): KCode {
        const st = stacks.of(t); // interface t belongs to brane t
        while (rings[t].len > 0) {
          const d = rings[t].shift();
          yield m.spend(c.ipInput);
          yield m.lock(st.lock); // the stack's PCB table
          const so = stacks.lookup(t, ADDR, PORT);
          yield m.spend(p["br.holdNs"]);
          m.unlock(st.lock);
          if (so < 0) {
            noSocket++;
            continue;
          }
          yield m.spend(c.udpInput - p["br.holdNs"] > 0 ? c.udpInput - p["br.holdNs"] : 0);
          if (!socks[so].push(d)) drops++;
          else if (m.hasSleepers(chans[so])) m.wakeup(chans[so]);
        }
      }, null));
    const nics = Array.from({ length: tenants }, (_, t) => new KObj(m.newId(), `vioif${t}`));
    const pending = new Int8Array(tenants);
    const gapNs = 1e9 / p["br.ratePps"];
    const stopNs = Math.floor((Number(m.config["sim.durationNs"]) * 3) / 4);
    // Built once: no allocation per interrupt.
    const rxIntr = Array.from({ length: tenants }, (_, t) =>
      function* (): KCode {
        pending[t] = 0;
        yield m.spend(c.nicRxPkt);
        m.softintSchedule(sis[t]);
      });
    const raisers = Array.from({ length: tenants }, (_, t): TimerTarget => ({
      onTimer: () => m.postInterrupt(t, nics[t], rxIntr[t], null),
    }));
    const senders = Array.from({ length: tenants }, (_, t): TimerTarget => ({
      onTimer(_a: unknown, k: number) {
        if (rings[t].push(t * 2 ** 24 + k)) sent[t] = k + 1;
        else return; // the ring is full: the sender stops here, so the stream has no hole
        if (pending[t] === 0) {
          pending[t] = 1;
          m.atCall(m.nowNs + 10_000, raisers[t], null); // interrupt moderation: 10 us
        }
        const next = Math.round((k + 1) * gapNs);
        if (next < stopNs) m.atCall(next, senders[t], null, k + 1);
      },
    }));
    for (let t = 0; t < tenants; t++) m.atCall(Math.round((t * gapNs) / 2), senders[t], null, 0);
    // After the traffic has drained, the tenants close their sockets and exit.
    let closing = false;
    m.at(
      stopNs + ((Number(m.config["sim.durationNs"]) - stopNs) >> 1),
      () =>
        m.postInterrupt(0, nics[0], function* (): KCode {
          closing = true;
          for (const ch of chans) m.wakeup(ch);
          yield m.spend(c.wakeup);
        }, null),
    );
    for (let t = 0; t < tenants; t++) {
      m.spawn(`tenant${t}`, function* (): KCode {
        for (;;) {
          if (socks[t].len === 0) {
            if (closing) return;
            yield m.sleep(chans[t]);
            continue;
          }
          yield m.spend(c.syscall);
          while (socks[t].len > 0) {
            const d = socks[t].shift();
            const from = Math.floor(d / 2 ** 24), seq = d % 2 ** 24;
            if (from !== t) foreign[t]++;
            streamCheck(m, FLOW_BASE + t, seq, 1); // socket t's stream: only its own sender's datagrams
            got[t]++;
            yield m.spend(c.copyPerKb);
          }
        }
      }, { pin: t, prio: PRIO.user });
    }
    return {
      finish() {
        for (let t = 0; t < tenants; t++) if (socks[t].len === 0) streamEnd(m, FLOW_BASE + t, sent[t]);
      },
      metrics: () => ({
        bindFailures,
        sent: { tenant0: sent[0], tenant1: sent[1] },
        received: { tenant0: got[0], tenant1: got[1] },
        foreignReceived: { tenant0: foreign[0], tenant1: foreign[1] },
        noSocket,
        drops,
      }),
    };
  },
});
