/**
 * "Make TCP syncache optional" (docs/netbsd-infrastructure.md, row 6c): a SYN
 * flood against a listening socket, with and without the syncache.
 *
 * One CPU. Spoofed SYNs arrive at `syn.floodPps` and are never completed;
 * legitimate clients open connections at `syn.legitPerSec`, each completing
 * the handshake with its ACK one `syn.rttNs` after the SYN-ACK. A process
 * accepts them.
 *
 * - `syncache` (NetBSD tcp_input.c/tcp_subr.c): a SYN makes a syn_cache entry
 *   in a hash of TCP_SYN_HASH_SIZE 293 buckets; at `tcp_syn_bucket_limit`
 *   (3 * 35) in a bucket, or `tcp_syn_cache_limit` (293 * 35) in all, the
 *   oldest entry is dropped to make room (approximated here by the oldest of
 *   the whole cache, first in first out); the ACK finds the entry and only
 *   then is the socket created.
 * - `nocache`: as BSD before the syncache, a SYN creates the socket, inpcb
 *   and tcpcb at once (sonewconn, SYN_RECEIVED on the listener's incomplete
 *   queue so_q0); sonewconn refuses when so_qlen + so_q0len > 3 * so_qlimit / 2
 *   (uipc_socket2.c), and a half-open socket only goes away when its
 *   connection-establishment timer fires (TCPTV_KEEP_INIT, 75 s): the flood
 *   fills so_q0 and legitimate SYNs are refused.
 *
 * Memory per half-open connection is `syn.entryBytes` or `syn.socketBytes`
 * (estimates of the structures' sizes, see the docs).
 * @module
 */
import type { TimerTarget } from "../core/machine.ts";
import { type KCode, KObj, PRIO } from "../core/objects.ts";
import { defineScenario } from "../core/scenario.ts";
import { Fifo } from "./_fifo.ts";

/** NetBSD tcp_subr.c: TCP_SYN_HASH_SIZE and TCP_SYN_BUCKET_SIZE. */
const SYN_HASH_SIZE = 293, SYN_BUCKET_SIZE = 35;
/** tcp_syn_cache_limit and tcp_syn_bucket_limit. */
const SYN_CACHE_LIMIT = SYN_HASH_SIZE * SYN_BUCKET_SIZE, SYN_BUCKET_LIMIT = 3 * SYN_BUCKET_SIZE;
/** A half-open entry's source is this id; legitimate clients have ids >= LEGIT_BASE. */
const LEGIT_BASE = 1 << 30;

/** The SYN flood. */
export const synFlood = defineScenario({
  name: "syn-flood",
  doc: "a SYN flood against a listener, with the TCP syncache or without it (sonewconn per SYN)",
  params: {
    "syn.mode": { default: "syncache", choices: ["syncache", "nocache"], doc: "syncache, or a socket per SYN" },
    "syn.floodPps": { default: 50_000, min: 0, max: 2_000_000, doc: "spoofed SYNs per second" },
    "syn.legitPerSec": { default: 2000, min: 1, max: 100_000, doc: "legitimate connection attempts per second" },
    "syn.rttNs": { default: 1_000_000, min: 1000, max: 1_000_000_000, doc: "legitimate clients' round trip" },
    "syn.backlog": { default: 128, min: 1, max: 65535, doc: "listen(2) backlog (so_qlimit)" },
    "syn.entryBytes": { default: 256, min: 1, max: 65536, doc: "bytes of one struct syn_cache (estimate)" },
    "syn.socketBytes": {
      default: 2048,
      min: 1,
      max: 65536,
      doc: "bytes of a half-open socket + inpcb + tcpcb (estimate)",
    },
  },
  machine: { kernel: "netbsd", cpus: 1, "sim.durationNs": 100_000_000 },
  setup(m, p) {
    const c = m.cost, mode = p["syn.mode"];
    const rttNs = p["syn.rttNs"];
    const q0Max = Math.floor((3 * p["syn.backlog"]) / 2);
    // Half-open state: the syncache (FIFO of sources plus per-bucket counts and a live set) or so_q0.
    const cacheOrder = new Fifo(4 * SYN_CACHE_LIMIT); // also holds stale slots of completed entries
    const bucketCount = new Int32Array(SYN_HASH_SIZE);
    const live = new Set<number>(); // sources with a half-open entry (cache) or socket (q0)
    const bucketOf = (src: number) => (Math.imul(src, 0x9e3779b1) >>> 0) % SYN_HASH_SIZE;
    let halfOpenPeak = 0, synsDropped = 0, evicted = 0, legitTried = 0, legitEstablished = 0, accepted = 0;
    let legitRefused = 0, ackNoState = 0;
    const acceptQ = new Fifo(65536);
    const acceptChan = m.chan("accept");
    const track = () => {
      if (live.size > halfOpenPeak) halfOpenPeak = live.size;
    };

    const synIn = function* (src: number): KCode {
      yield m.spend(c.tcpInput);
      if (mode === "syncache") {
        const b = bucketOf(src);
        // syn_cache_insert: make room first (oldest dropped), then insert and answer.
        while (live.size >= SYN_CACHE_LIMIT || bucketCount[b] >= SYN_BUCKET_LIMIT) {
          const old = cacheOrder.shift();
          if (!live.delete(old)) continue; // already completed: a stale slot in the order
          bucketCount[bucketOf(old)]--;
          evicted++;
        }
        live.add(src);
        cacheOrder.push(src);
        bucketCount[b]++;
        yield m.spend(c.synCacheAdd);
      } else {
        if (live.size > q0Max) { // sonewconn refuses: so_qlen + so_q0len > 3 * so_qlimit / 2
          synsDropped++;
          if (src >= LEGIT_BASE) legitRefused++;
          return;
        }
        live.add(src);
        yield m.spend(c.sonewconn);
      }
      track();
      yield m.spend(c.tcpOutput + c.ipOutput); // the SYN-ACK
      if (src >= LEGIT_BASE) m.atCall(m.nowNs + rttNs, ackArrival, null, src); // the client's ACK
    };
    const ackIn = function* (src: number): KCode {
      yield m.spend(c.tcpInput);
      if (!live.delete(src)) {
        ackNoState++; // evicted (syncache) or never created: the connection fails
        return;
      }
      if (mode === "syncache") {
        bucketCount[bucketOf(src)]--;
        yield m.spend(c.sonewconn); // syn_cache_get: the socket is created only now
      }
      legitEstablished++;
      acceptQ.push(src);
      if (m.hasSleepers(acceptChan)) m.wakeup(acceptChan);
    };

    // Input: segments queue on a ring, a moderated interrupt schedules the softint that runs tcp_input.
    const ring = new Fifo(4096);
    const si = m.softintEstablish("net", "tcp_input", function* (): KCode {
      while (ring.len > 0) {
        const seg = ring.shift();
        if (seg < 0) yield* ackIn(-seg);
        else yield* synIn(seg);
      }
    }, null);
    const nic = new KObj(m.newId(), "em0");
    let pending = false;
    // Built once: no allocation per interrupt.
    const rxIntr = function* (): KCode {
      pending = false;
      yield m.spend(c.nicRxPkt);
      m.softintSchedule(si);
    };
    const raiser: TimerTarget = { onTimer: () => m.postInterrupt(0, nic, rxIntr, null) };
    const deliver = (seg: number) => {
      if (!ring.push(seg)) {
        synsDropped++;
        if (seg >= LEGIT_BASE || seg < 0) legitRefused++;
        return;
      }
      if (pending) return;
      pending = true;
      m.atCall(m.nowNs + 10_000, raiser, null); // interrupt moderation: 10 us
    };
    const ackArrival: TimerTarget = { onTimer: (_a: unknown, src: number) => deliver(-src) };
    let nextSpoof = 1;
    const flood: TimerTarget = {
      onTimer(_a: unknown, k: number) {
        deliver(nextSpoof++); // every spoofed SYN has a new source
        m.atCall(Math.round(((k + 1) * 1e9) / p["syn.floodPps"]), flood, null, k + 1);
      },
    };
    if (p["syn.floodPps"] > 0) m.atCall(0, flood, null, 0);
    const legit: TimerTarget = {
      onTimer(_a: unknown, k: number) {
        legitTried++;
        deliver(LEGIT_BASE + k);
        m.atCall(Math.round(((k + 1) * 1e9) / p["syn.legitPerSec"]), legit, null, k + 1);
      },
    };
    m.atCall(Math.round(1e9 / p["syn.legitPerSec"] / 2), legit, null, 0);

    m.spawn("acceptor", function* (): KCode {
      for (;;) {
        if (acceptQ.len === 0) {
          yield m.sleep(acceptChan);
          continue;
        }
        acceptQ.shift();
        yield m.spend(c.syscall);
        accepted++;
      }
    }, { prio: PRIO.user });

    const entryBytes = mode === "syncache" ? p["syn.entryBytes"] : p["syn.socketBytes"];
    return {
      metrics: () => ({
        legitTried,
        legitEstablished,
        acceptedPerSec: Math.round((accepted * 1e9) / Math.max(1, m.nowNs)),
        acceptPct: Math.round((1000 * accepted) / Math.max(1, legitTried)) / 10,
        halfOpenPeak,
        halfOpenBytesPeak: halfOpenPeak * entryBytes,
        bytesPerHalfOpen: entryBytes,
        synsRefused: synsDropped,
        evicted,
        ackWithoutState: ackNoState,
      }),
    };
  },
});
