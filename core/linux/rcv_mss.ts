/**
 * The receiver's estimate of the peer's segment size and the "pushed"
 * marks that make a drained small segment ACKed at once
 * (torvalds/linux v6.15 net/ipv4/tcp_input.c `tcp_measure_rcv_mss`,
 * `tcp_initialize_rcv_mss`). State only: tcp.ts and tcp_recvmsg.ts act on it.
 * @module
 */
import { ICSK_ACK, type LinuxNet, type LinuxSock, type Skb, TH } from "./types.ts";

/** TCP_MSS_DEFAULT, TCP_MIN_MSS (include/net/tcp.h). */
export const TCP_MSS_DEFAULT = 536, TCP_MIN_MSS = 88;
/** The TCP header with the timestamp option (tcp_header_len): 20 + 12 bytes. */
const TCP_HDR_BYTES = 32;

/** tcp_initialize_rcv_mss: min(advmss, TCP_MSS_DEFAULT), at least TCP_MIN_MSS. */
export function initialRcvMss(mss: number): number {
  return Math.max(Math.min(mss, TCP_MSS_DEFAULT), TCP_MIN_MSS);
}

/**
 * tcp_measure_rcv_mss (net/ipv4/tcp_input.c): rcv_mss follows the largest
 * segment seen (up to advmss); a segment below it is "small" and marks the
 * ACK as pushed (ICSK_ACK_PUSHED, PUSHED2 at the second before an ACK), so
 * tcp_cleanup_rbuf ACKs once the reader drains it. A full one with PSH (the
 * end of an application write) is marked pushed too. The payload length
 * stands for gso_size: a loopback skb is one segment, a veth GSO skb has
 * gso_size = MSS.
 */
export function measureRcvMss(net: LinuxNet, sk: LinuxSock, skb: Skb): void {
  const lss = sk.lastSegSize;
  sk.lastSegSize = 0;
  const len = Math.min(skb.len, net.mss);
  const psh = (skb.flags & TH.psh) !== 0;
  if (len >= sk.rcvMss) {
    sk.rcvMss = Math.min(len, net.mss);
    if (psh) sk.ackPushed |= ICSK_ACK.pushed;
    return;
  }
  const withHdr = len + TCP_HDR_BYTES;
  // TCP_REMNANT: FIN, URG, SYN, PSH; only PSH occurs on these data segments.
  if (withHdr >= TCP_MSS_DEFAULT + 20 || (withHdr >= TCP_MIN_MSS + 20 && !psh)) {
    sk.lastSegSize = len;
    if (len === lss) {
      sk.rcvMss = len;
      return;
    }
  }
  if ((sk.ackPushed & ICSK_ACK.pushed) !== 0) sk.ackPushed |= ICSK_ACK.pushed2;
  sk.ackPushed |= ICSK_ACK.pushed;
}
