/**
 * Byte conservation of the relay scenarios, checked at the end of every run,
 * per flow and per direction, with the hosts' own counters on both sides:
 *
 * - UDP: bytes the source sent + bytes the wire duplicated (a fault) ==
 *   bytes its sink received (counted by the sink per stream) + bytes in the relay's socket buffer (the socket's
 *   `sb_cc`) + bytes in flight + bytes counted as dropped for that stream.
 *   "In flight" is not a running counter: it is the walk, at the end, of
 *   every packet still handed out by the pool that carries the stream's id
 *   and is not in the socket buffer (NIC rings, ifiq and send queues,
 *   links, a thread's hands). A packet freed without being counted (a sink
 *   that loses it, a path that frees instead of dropping) breaks it.
 * - TCP: in unique stream bytes, sent == at the sink + buffered in the relay
 *   (so_rcv of the source socket, a userland relay's buffer, so_snd of the
 *   drain not yet at the sink) + in flight toward the relay (sent, not yet
 *   accepted) + discarded by sorflush; the drain's bytes appended ==
 *   acknowledged + so_snd + discarded when the socket was freed.
 * @module
 */
import type { Machine } from "../core/machine.ts";
import type { Socket } from "../core/net/socket.ts";
import type { NetStack } from "../core/net/stack.ts";
import type { TcpSink, TcpSource, UdpSink, UdpSource } from "./hosts.ts";

/** A relayed flow's sockets and hosts: what the check reads (splice_scenarios.ts's RelayFlow extends it). */
export interface RelayFlowHosts {
  readonly idx: number;
  readonly inSo: Socket;
  readonly outSo: Socket;
  tsrc: TcpSource | null;
  tsink: TcpSink | null;
  usrc: UdpSource | null;
  usink: UdpSink | null;
  /** Bidirectional UDP: the sink host's response source and the client host's sink. */
  rsrc: UdpSource | null;
  rsink: UdpSink | null;
}

/** What the check needs of a relay (a subset of RelayWorld). */
export interface ConservedRelay {
  readonly st: NetStack;
  readonly flows: readonly RelayFlowHosts[];
}

/** Checks every flow; returns the failures (also reported as "conservation" violations). */
export function relayConservation(m: Machine, w: ConservedRelay): string[] {
  const bad: string[] = [];
  const live: number[] = [];
  w.st.pool.forEachLive((p) => {
    if (p.sid >= 0) live[p.sid] = (live[p.sid] ?? 0) + p.len;
  });
  for (const f of w.flows) {
    if (f.tsrc !== null && f.tsink !== null) {
      const msg = tcpFlowConservation(f.idx, f.tsrc, f.tsink, f.inSo, f.outSo);
      if (msg !== null) bad.push(msg);
      continue;
    }
    const fwd = udpConservation(w.st, live, `udp flow ${f.idx}`, f.usrc!, f.usink!, f.inSo, f.outSo);
    if (fwd !== null) bad.push(fwd);
    if (f.rsrc !== null && f.rsink !== null) {
      const rev = udpConservation(w.st, live, `udp flow ${f.idx} reverse`, f.rsrc, f.rsink, f.outSo, f.inSo);
      if (rev !== null) bad.push(rev);
    }
  }
  for (const msg of bad) m.violation("conservation", msg);
  return bad;
}

/** One UDP direction: `src` sends into `rcvSo` of the relay, spliced (or copied) into `drain`, to `sink`. */
function udpConservation(
  st: NetStack,
  live: number[],
  what: string,
  src: UdpSource,
  sink: UdpSink,
  rcvSo: Socket,
  drain: Socket,
): string | null {
  const sid = src.o.flow;
  let inBuf = 0, other = 0;
  for (let i = rcvSo.rcv.head; i < rcvSo.rcv.q.length; i++) {
    const p = rcvSo.rcv.q[i];
    if (p.sid === sid) inBuf += p.len;
    else other += p.len;
  }
  if (inBuf + other !== rcvSo.rcv.cc) {
    return `${what}: so_rcv of socket#${rcvSo.id} counts ${rcvSo.rcv.cc} bytes but holds ${inBuf + other}`;
  }
  const got = sink.bySid[sid] ?? 0;
  const held = rcvSo.n.moved - drain.n.sndAppended; // a userland relay's buffer (0 when spliced)
  const inFlight = (live[sid] ?? 0) - inBuf;
  const dropped = st.acct.dropBySid[sid] ?? 0;
  const duplicated = st.acct.dupBySid[sid] ?? 0; // copies the wire made (fault.linkDupPpm): bytes with no sender
  if (src.sentBytes + duplicated === got + rcvSo.rcv.cc + inFlight + dropped + held) return null;
  return `${what}: source sent ${src.sentBytes} != sink ${got} + so_rcv ${rcvSo.rcv.cc} + in flight ${inFlight}` +
    ` + dropped ${dropped} + in the relay process ${held} - duplicated by the wire ${duplicated}`;
}

/** Bytes read from the source and not yet in the drain: a userland-copy relay's buffer (0 when spliced). */
function userHeld(inSo: Socket, outSo: Socket): number {
  return inSo.n.moved - outSo.n.sndAppended;
}

/**
 * TCP, per flow: it reduces to the relay's own accounting: bytes accepted
 * == so_rcv + moved + flushed and bytes appended to the drain == so_snd +
 * acknowledged by the sink, with the source's `dataSent` and the sink's
 * `receivedBytes` on the two ends.
 */
function tcpFlowConservation(idx: number, src: TcpSource, sink: TcpSink, inSo: Socket, out: Socket): string | null {
  const tp = out.tcp!;
  const acked = tp.sndUna - tp.iss - 1 - (tp.finAcked ? 1 : 0);
  const ackInFlight = sink.receivedBytes - acked; // at the sink, ACK not yet back: still in so_snd
  const held = userHeld(inSo, out);
  if (out.n.sndAppended !== acked + out.snd.cc + out.n.sndFlushed) {
    return `tcp flow ${idx}: drain appended ${out.n.sndAppended} != acknowledged ${acked} + so_snd ${out.snd.cc}` +
      ` + discarded ${out.n.sndFlushed}`;
  }
  // The drain's part: in so_snd or discarded with it, not yet counted by the sink.
  const buffered = inSo.rcv.cc + held + out.snd.cc + out.n.sndFlushed - ackInFlight;
  const inFlight = src.dataSent - inSo.n.accepted;
  const rhs = sink.receivedBytes + buffered + inFlight + inSo.n.flushed;
  if (src.dataSent === rhs && held >= 0) return null;
  return `tcp flow ${idx}: sent ${src.dataSent} != sink ${sink.receivedBytes} + buffered ${buffered} + in flight ${inFlight}` +
    ` + flushed ${inSo.n.flushed} (moved ${inSo.n.moved}, drain appended ${out.n.sndAppended})`;
}
