/**
 * tcp_recvmsg and the ACK it may send after a read (torvalds/linux v6.15
 * net/ipv4/tcp.c `tcp_recvmsg_locked`, `__tcp_cleanup_rbuf`).
 * @module
 */
import type { KCode } from "../objects.ts";
import { copyNs, lockSock, pageNs, releaseSock, reportOffsets, tcpSendAck } from "./tcp.ts";
import { ICSK_ACK, type LinuxNet, type LinuxSock, SHUT } from "./types.ts";
import { skbFree } from "./netdev.ts";

/**
 * tcp_recvmsg(): up to `len` bytes from the receive queue, blocking until at
 * least one. Returns bytes copied, 0 at EOF, or a negative errno.
 */
export function* tcpRecvmsg(net: LinuxNet, sk: LinuxSock, len: number): Generator<number, number, number> {
  const m = net.m;
  yield* lockSock(net, sk);
  let copied = 0;
  while (copied < len) {
    const skb = sk.rcvQueue.head;
    if (skb !== null) {
      const n = Math.min(len - copied, skb.len - skb.consumed);
      yield m.spend(copyNs(net, n) + pageNs(net, n));
      reportOffsets(net, sk, (sk.peer as LinuxSock).tcpOffsets, n);
      skb.consumed += n;
      sk.rcvQueue.bytes -= n;
      sk.copiedSeq += n;
      copied += n;
      if (skb.consumed === skb.len) {
        sk.rcvQueue.shift();
        skbFree(net, skb);
      }
      continue;
    }
    if (copied > 0) {
      if (sk.backlog.empty()) break;
      yield* releaseSock(net, sk); // pick up what arrived meanwhile
      yield* lockSock(net, sk);
      continue;
    }
    if (sk.err !== 0 || (sk.shutdown & SHUT.rcv) !== 0 || sk.closed) break;
    // sk_wait_data: release (processing the backlog), sleep unless data came, re-lock.
    yield* releaseSock(net, sk);
    if (sk.rcvQueue.empty() && sk.err === 0 && (sk.shutdown & SHUT.rcv) === 0 && !sk.closed) {
      yield m.sleep(sk.wq);
    }
    yield* lockSock(net, sk);
  }
  yield m.spend(m.cost.lxTcpRecvmsg);
  yield* tcpCleanupRbuf(net, sk, copied);
  yield* releaseSock(net, sk);
  if (copied === 0 && sk.err !== 0) return -sk.err;
  return copied;
}

/**
 * __tcp_cleanup_rbuf(): with an ACK scheduled (data since the last ACK), ACK
 * more than one rcv_mss unacknowledged, or a drained receive queue that held
 * a pushed small segment (ICSK_ACK_PUSHED2, or PUSHED when not interactive);
 * else ACK a receive window that at least doubled.
 */
function* tcpCleanupRbuf(net: LinuxNet, sk: LinuxSock, copied: number): KCode {
  if (copied <= 0 || sk.closed) return;
  let ack = false;
  if (sk.rcvNxt !== sk.rcvWup) {
    const pushed = (sk.ackPushed & ICSK_ACK.pushed2) !== 0 ||
      ((sk.ackPushed & ICSK_ACK.pushed) !== 0 && !sk.pingpong);
    ack = sk.rcvNxt - sk.rcvWup > sk.rcvMss || (pushed && sk.rcvQueue.empty());
  }
  if (!ack && (sk.shutdown & SHUT.rcv) === 0) {
    const rcvWindowNow = sk.advRight - sk.rcvNxt;
    const newWindow = sk.copiedSeq + net.opt.rcvbufBytes - sk.rcvNxt;
    if (2 * rcvWindowNow <= net.opt.rcvbufBytes && newWindow >= 2 * rcvWindowNow) ack = true;
  }
  if (ack) yield* tcpSendAck(net, sk);
}
