/**
 * What a segment dropped at the NIC changes on the NetBSD TCP path
 * (tcp.ts): the faults' interface, the peers' retransmission timeouts, the
 * reassembly queue behind a hole, and the byte accounting checked at the
 * end of a run.
 * @module
 */
import type { NbSocket } from "./socket.ts";

/** The NIC's faults (drivers/fault_draws.ts's FaultDraws): each returns true when the fault hits. */
export interface NbFaults {
  /** The frame `a` finds the rx ring of queue `b` full. */
  rxRingFull(a: number, b: number): boolean;
  /** The driver's rx refill fails for frame `a` of queue `b` (the frame is discarded). */
  mbufFail(a: number, b: number): boolean;
  /** Extra lateness of the rx interrupt of queue `q`, ns (0: on time). */
  intrDelayNs(q: number): number;
}

/** The peers' initial retransmission timeout (SYN, handshake ACK): 1 s, RFC 6298 2.1. */
export const PEER_SYN_RTO_NS = 1_000_000_000;
/** The peers' data retransmission timeout without fast retransmit: Linux's TCP_RTO_MIN, 200 ms. */
export const PEER_RTO_NS = 200_000_000;

/**
 * tcp_reass for data segment `s` (it leaves the wire here): behind an open
 * hole the bytes wait in the reassembly queue; the retransmission filling the
 * last hole releases them. Returns the bytes now in order.
 */
export function reass(so: NbSocket, s: { readonly bytes: number; readonly rtx: boolean }): number {
  so.inFlightIn -= s.bytes;
  if (s.rtx) so.reassHoles--;
  if (so.reassHoles > 0) {
    so.reassBytes += s.bytes;
    return 0;
  }
  if (!s.rtx) return s.bytes;
  const n = s.bytes + so.reassBytes;
  so.reassBytes = 0;
  return n;
}

/**
 * Byte accounting of every connection (empty when it holds): the peer's
 * data bytes == read by the application + so_rcv + reassembly queue + on
 * their way (retransmissions included) + discarded on a reset or closed
 * socket; bytes sent and unacknowledged == ACKed on their way + ACKed by a
 * dropped ACK.
 */
export function conservation(sockets: readonly NbSocket[]): string[] {
  const bad: string[] = [];
  for (const so of sockets) {
    if (so.conn < 0) continue;
    const rhs = so.rcvdBytes + so.rcvCc + so.reassBytes + so.inFlightIn + so.discardedBytes;
    if (so.peerSent !== rhs) {
      bad.push(
        `${so.name}: peer sent ${so.peerSent} != read ${so.rcvdBytes} + so_rcv ${so.rcvCc} + reassembly ` +
          `${so.reassBytes} + in flight ${so.inFlightIn} + discarded ${so.discardedBytes}`,
      );
    }
    if (so.inflight !== so.ackInFlight + so.ackLost || so.sndCc < so.inflight) {
      bad.push(
        `${so.name}: unacknowledged ${so.inflight} != ACKs in flight ${so.ackInFlight} + ACKs dropped ` +
          `${so.ackLost} (so_snd ${so.sndCc})`,
      );
    }
  }
  return bad;
}
