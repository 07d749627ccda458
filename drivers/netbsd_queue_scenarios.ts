/**
 * Lockless queue proposals of the NetBSD network infrastructure document
 * (docs/netbsd-infrastructure.md), each against the locked queue of today:
 *
 * - `pcq-ifqueue`: producers on every CPU put items on a pcq(9) (CAS, the
 *   consumer under a mutex in a soft interrupt, as pktqueue(9) does) or on an
 *   `ifqueue` under a spin mutex; `pcq.variant=nocas` is the broken producer
 *   exploration finds. Every item is checked by the stream detector (one
 *   flow per producer, offset = the producer's sequence number): a lost or
 *   duplicated item is a `stream` violation. `aqueue` is the document's one
 *   atomic queue, each item inserted at its head or its tail
 *   (`pcq.headPct`): order is then not kept by design, so each item is
 *   checked off instead, and one delivered twice or never is a
 *   `conservation` violation.
 * - `atomic-lifo`: threads take items from a shared free list and give them
 *   back; lockless LIFO with or without a generation counter against a TAILQ
 *   under a mutex. An item handed to two threads at once, or missing at the
 *   end, is a `conservation` violation.
 * @module
 */
import { streamCheck, streamEnd } from "../core/detect/mod.ts";
import { Histogram } from "../core/histogram.ts";
import { AtomicFifo, AtomicLifo, AtomicQueue, LIFO_VARIANTS, MutexTailq } from "../core/netbsd/atomic_queue.ts";
import { IfQueue, Pcq, PCQ_MAXLEN, PCQ_VARIANTS } from "../core/netbsd/pcq.ts";
import type { KCode } from "../core/objects.ts";
import { ConfigError } from "../core/config.ts";
import { defineScenario } from "../core/scenario.ts";

/** Producer p's items are p * 2^20 + seq + 1: non-zero, decodable by the consumer. */
const SEQ_BITS = 2 ** 20;
/** Items the atomic FIFO variant may link (producers times items). */
const FIFO_ITEMS_MAX = 1 << 22;
/** Stream flow of producer p (kept clear of socket and connection ids). */
const FLOW_BASE = 50_000;

/** pcq(9) against an ifqueue under a spin mutex, with the stream detector on every item. */
export const pcqIfqueue = defineScenario({
  name: "pcq-ifqueue",
  doc: "producers on every CPU feed a pcq(9) (CAS), an atomic FIFO (swap) or an ifqueue under a spin mutex",
  params: {
    "pcq.impl": {
      default: "pcq",
      choices: ["pcq", "ifqueue", "afifo", "aqueue"],
      doc:
        "the queue: pcq(9), ifqueue + spin mutex, the atomic FIFO (tail insertion), or the atomic queue (head or tail)",
    },
    "pcq.variant": {
      default: "cas",
      choices: [...PCQ_VARIANTS],
      doc: "producer: cas (subr_pcq.c 1.14; the FIFO's swap) or nocas (a plain load and store instead: the bug)",
    },
    "pcq.headPct": { default: 50, min: 0, max: 100, doc: "aqueue: share of items inserted at the head (LIFO)" },
    "pcq.producers": { default: 4, min: 1, max: 64, doc: "producer threads (spread over the CPUs)" },
    "pcq.items": { default: 100, min: 1, max: SEQ_BITS - 1, doc: "items each producer offers" },
    "pcq.size": {
      default: 64,
      min: 2,
      max: PCQ_MAXLEN,
      doc: "pcq_create(size) (holds size-1) or ifq_maxlen (holds size)",
    },
    "pcq.gapNs": { default: 20000, min: 0, max: 1_000_000_000, doc: "mean producer think time between items" },
    "pcq.workNs": { default: 100, min: 0, max: 1_000_000_000, doc: "consumer work per item (protocol input)" },
  },
  machine: { kernel: "netbsd", cpus: 4, "sim.durationNs": 50_000_000 },
  setup(m, p) {
    const producers = p["pcq.producers"], items = p["pcq.items"], gapNs = p["pcq.gapNs"], workNs = p["pcq.workNs"];
    const impl = p["pcq.impl"], usePcq = impl === "pcq", useQueue = impl === "aqueue";
    const useFifo = impl === "afifo" || useQueue; // both link the items themselves
    const pcq = usePcq ? new Pcq(p["pcq.size"], p["pcq.variant"] as "cas" | "nocas") : null;
    const ifq = impl === "ifqueue" ? new IfQueue(m, "ifq_lock", p["pcq.size"]) : null;
    // The atomic FIFO links items themselves: ids 1..producers*items, each inserted once.
    const total = producers * items;
    if (useFifo && total > FIFO_ITEMS_MAX) {
      throw new ConfigError(`pcq.impl=${impl}: pcq.producers * pcq.items is ${total}, at most ${FIFO_ITEMS_MAX}`);
    }
    const fifo = impl === "afifo" ? new AtomicFifo(total, p["pcq.variant"] === "cas" ? "xchg" : "noxchg") : null;
    const aq = useQueue ? new AtomicQueue(total, p["pcq.variant"] as "cas" | "nocas") : null;
    const headPct = p["pcq.headPct"];
    const seen = new Uint8Array(useQueue ? total + 1 : 0); // aqueue: items checked off by id
    let doubles = 0, headPuts = 0;
    const fifoItem = new Float64Array(useFifo ? total + 1 : 0); // id -> producer item code
    let fifoNext = 1;
    // The consumer side: pcq_get is serialised by the lock of the structure the
    // pcq is embedded in (the document's "consumer under a mutex"). A kmutex at IPL_NONE, so adaptive: with
    // kernel=netbsd a soft interrupt finding it held spins while the holder runs (kern_mutex.c 1.62), where a
    // blocking lock would let its CPU's producer run on. (pktqueue.c 1.16 itself has one pcq per CPU, each
    // drained only by its own CPU's SOFTINT_NET handler: no such lock.)
    const consumerMtx = m.newLock("pcq_consumer", "adaptive");
    const sent = new Float64Array(producers);
    const putNs = new Histogram();
    let delivered = 0, drops = 0, emptyGets = 0, putSumNs = 0;
    const deliver = (item: number, id: number) => {
      if (aq !== null) {
        // Head insertion reorders by design: check each item off once.
        if (seen[id]++ !== 0 && doubles++ === 0) {
          m.violation("conservation", `atomic queue: item ${id} delivered twice`, id);
        }
        delivered++;
        return;
      }
      const prod = Math.floor((item - 1) / SEQ_BITS), seq = (item - 1) % SEQ_BITS;
      streamCheck(m, FLOW_BASE + prod, seq, 1);
      delivered++;
    };
    const put = function* (item: number): Generator<number, boolean, number> {
      if (pcq !== null) return yield* pcq.put(m, item);
      if (ifq !== null) return yield* ifq.enqueue(m, item);
      const id = fifoNext++;
      fifoItem[id] = item;
      if (aq === null) yield* (fifo as AtomicFifo).put(m, id);
      else if (m.workRng.below(100) < headPct) {
        headPuts++;
        yield* aq.putHead(m, id);
      } else yield* aq.putTail(m, id);
      return true;
    };
    // pktqueue(9)-like: the producer schedules a soft interrupt after each put;
    // the handler drains until it gets NULL.
    const si = m.softintEstablish(
      "net",
      usePcq ? "pcq_intr" : useQueue ? "aqueue_intr" : useFifo ? "afifo_intr" : "ifq_intr",
      function* (): KCode {
        if (pcq !== null || fifo !== null || aq !== null) {
          yield m.lock(consumerMtx);
          for (;;) {
            const got = pcq !== null ? yield* pcq.get(m) : fifo !== null ? yield* fifo.get(m) : yield* aq!.get(m);
            if (got === 0) break;
            deliver(pcq !== null ? got : fifoItem[got], got);
            yield m.spend(workNs);
          }
          m.unlock(consumerMtx);
          yield m.spend(m.cost.mtxLeave);
        } else {
          for (;;) {
            const item = yield* (ifq as IfQueue).dequeue(m);
            if (item === 0) break;
            deliver(item, 0);
            yield m.spend(workNs);
          }
        }
        emptyGets++;
      },
      null,
    );
    for (let i = 0; i < producers; i++) {
      m.spawn(`producer${i}`, function* (): KCode {
        yield m.spend(m.workRng.below(gapNs + 1)); // start apart
        let seq = 0;
        for (let k = 0; k < items; k++) {
          const item = i * SEQ_BITS + seq + 1;
          const t0 = m.nowNs;
          const ok = yield* put(item);
          putNs.record(m.nowNs - t0);
          putSumNs += m.nowNs - t0;
          if (ok) {
            sent[i] = ++seq;
            m.softintSchedule(si);
          } else drops++;
          yield m.spend(gapNs === 0 ? 0 : m.workRng.between(gapNs >> 1, gapNs + (gapNs >> 1)));
        }
      }, { pin: i % m.cpus.length });
    }
    return {
      metrics: () => ({
        delivered,
        drops,
        putNsAvg: Math.round(putSumNs / Math.max(1, putNs.count)),
        putNsP99: putNs.quantile(99),
        casFailures: pcq?.casFailures ?? aq?.casFailures ?? 0,
        racedGets: pcq?.racedGets ?? fifo?.racedGets ?? aq?.racedGets ?? 0,
        drains: emptyGets,
        ...(aq !== null ? { headPuts, doubles } : {}),
      }),
      // Every item a producer saw accepted must have reached the consumer
      // exactly once. A run cut by the time limit may leave items queued:
      // only an empty queue closes the flows (holes are still reported).
      finish() {
        const queued = pcq !== null
          ? pcq.length()
          : ifq !== null
          ? ifq.len
          : fifo !== null
          ? fifo.count(total + 1)
          : aq!.count(total + 1);
        if (queued !== 0) return;
        if (aq === null) { for (let i = 0; i < producers; i++) streamEnd(m, FLOW_BASE + i, sent[i]); }
        else {
          let lost = 0;
          for (let id = 1; id < fifoNext; id++) if (seen[id] === 0) lost++;
          if (lost > 0) m.violation("conservation", `atomic queue: ${lost} items inserted and never removed`, lost);
        }
      },
    };
  },
});

/** A free list shared by threads: lockless LIFO (with or without a generation) against a TAILQ under a mutex. */
export const atomicLifo = defineScenario({
  name: "atomic-lifo",
  doc: "threads take and return items on a shared free list: atomic LIFO (+/- generation) vs TAILQ under a mutex",
  params: {
    "aq.impl": {
      default: "lifo-gen",
      choices: [...LIFO_VARIANTS, "tailq"],
      doc: "lifo-gen: CAS on (head, generation); lifo: CAS on the head alone (ABA); tailq: TAILQ + spin mutex",
    },
    "aq.threads": { default: 4, min: 1, max: 64, doc: "threads taking and returning items" },
    "aq.items": { default: 5, min: 1, max: 100_000, doc: "items on the free list" },
    "aq.rounds": { default: 200, min: 1, max: 1_000_000, doc: "take/return rounds per thread" },
    "aq.holdNs": { default: 2000, min: 0, max: 1_000_000_000, doc: "mean time a thread keeps an item" },
    "aq.thinkNs": {
      default: 2000,
      min: 0,
      max: 1_000_000_000,
      doc: "mean time between returning an item and the next take",
    },
  },
  machine: { kernel: "netbsd", cpus: 4, "sim.durationNs": 50_000_000 },
  setup(m, p) {
    const n = p["aq.items"], impl = p["aq.impl"], holdNs = p["aq.holdNs"], thinkNs = p["aq.thinkNs"];
    const q = impl === "tailq" ? new MutexTailq(m, "freelist_mtx", n) : new AtomicLifo(n, impl as "lifo" | "lifo-gen");
    const owner = new Int32Array(n + 1); // thread id holding each item, 0 = on the list
    for (let x = n; x >= 1; x--) q.seed(x);
    let takes = 0, empty = 0, doubles = 0, opSumNs = 0;
    const opNs = new Histogram();
    for (let i = 0; i < p["aq.threads"]; i++) {
      m.spawn(`user${i}`, function* (self): KCode {
        for (let r = 0; r < p["aq.rounds"]; r++) {
          const t0 = m.nowNs;
          const x = yield* q.pop(m);
          opNs.record(m.nowNs - t0);
          opSumNs += m.nowNs - t0;
          if (x === 0) {
            empty++;
            yield m.spend(m.workRng.between(holdNs >> 2, holdNs >> 1));
            continue;
          }
          takes++;
          if (owner[x] !== 0) {
            doubles++;
            m.violation(
              "conservation",
              `free list: item ${x} handed to ${self.name} while ${m.threads[owner[x] - 1].name} holds it`,
              x,
              owner[x],
            );
          }
          owner[x] = self.id;
          yield m.spend(m.workRng.between(holdNs >> 1, holdNs + (holdNs >> 1)));
          if (owner[x] === self.id) owner[x] = 0;
          yield* q.push(m, x);
          yield m.spend(m.workRng.between(thinkNs >> 1, thinkNs + (thinkNs >> 1))); // other work
        }
      }, { pin: i % m.cpus.length });
    }
    return {
      metrics: () => ({
        takes,
        empty,
        doubles,
        popNsAvg: Math.round(opSumNs / Math.max(1, opNs.count)),
        popNsP99: opNs.quantile(99),
        casFailures: q.casFailures,
      }),
      finish() {
        const on = q.count(n + 1);
        let held = 0;
        for (let x = 1; x <= n; x++) if (owner[x] !== 0) held++;
        if (on + held !== n) {
          m.violation("conservation", `free list: ${n} items, ${on} on the list and ${held} held at the end`, on, n);
        }
      },
    };
  },
});
