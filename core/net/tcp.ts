/**
 * TCP: segment input batched per softnet (`tcp_input_mlist`), output with
 * sequence and acknowledgement numbers and the peer's receive window,
 * retransmission by timeout (core/timeout.ts, go-back-N from snd_una with
 * exponential backoff), FIN in both directions and RST. The handshake is
 * pre-established ({@link NetStack.tcpEstablish}); congestion control is not
 * modelled (the window is the peer's advertised receive window).
 * @module
 */
import type { KCode } from "../objects.ts";
import { MODE } from "../objects.ts";
import { KIND } from "../schema.ts";
import { type Packet, PROTO, TH } from "./packet.ts";
import { ERR, SB, sbDropBytes, type Socket, TCPS, WHICH } from "./socket.ts";
import { sorwakeup, sowwakeup } from "./splice.ts";
import { DROP, MGET_SITE, type NetStack, pcbKey } from "./stack.ts";

/** Result bits of tcpInput: wake readers, wake writers. */
const WAKE_R = 1, WAKE_W = 2;

/**
 * tcp_input_mlist(): the softnet's TCP batch. Consecutive segments of one
 * connection are processed under one socket lock (in_pcbsolock_ref holds a
 * socket reference meanwhile); one ACK and one wakeup per run.
 */
export function* tcpInputMlist(st: NetStack, ns: number): KCode {
  const m = st.m;
  const ml = st.tcpMl[ns];
  let i = 0;
  while (i < ml.length) {
    const key = pcbKey(ml[i].dport, ml[i].sport);
    const so = st.pcbs.get(key);
    if (so === undefined || so.tcp === null || so.tcp.state === TCPS.CLOSED) {
      yield m.spend(m.cost.tcpInput);
      yield* tcpRespondRst(st, ml[i], DROP.noSocket);
      i++;
      continue;
    }
    m.ref(so.obj);
    yield m.lock(so.lock);
    yield* st.touchSo(so);
    let wake = 0;
    for (; i < ml.length && pcbKey(ml[i].dport, ml[i].sport) === key; i++) wake |= yield* tcpInput(st, so, ml[i]);
    yield* tcpOutput(st, so);
    if (wake & WAKE_R) yield* sorwakeup(st, so, ns);
    if (wake & WAKE_W) yield* sowwakeup(st, so, ns);
    m.unlock(so.lock);
    st.sorele(so);
  }
  ml.length = 0;
}

/** tcp_input() of one segment on a locked socket; returns wake bits. */
function* tcpInput(st: NetStack, so: Socket, p: Packet): Generator<number, number, number> {
  const m = st.m;
  const tp = so.tcp!;
  yield m.spend(m.cost.tcpInput);
  m.emit(KIND.tcpIn, so.id, p.seq, p.ack, p.len, p.flags, p.win);
  if (p.flags & TH.RST) {
    st.pool.put(p);
    tcpDrop(st, so, ERR.ECONNRESET);
    return WAKE_R | WAKE_W;
  }
  if (so.closed && tp.state > TCPS.CLOSE_WAIT && p.len > 0) {
    // "If data is received on a connection after the user processes are
    // gone, then RST the other end." (tcp_input)
    tcpDrop(st, so, ERR.ECONNRESET);
    yield* tcpRespondRst(st, p, DROP.closed);
    return WAKE_R | WAKE_W;
  }
  let wake = 0;
  if (p.flags & TH.ACK) wake |= yield* tcpAck(st, so, p);
  let kept = false;
  if (p.len > 0) {
    if (p.seq === tp.rcvNxt && !(so.rcv.flags & SB.CANTMORE) && p.len <= so.rcv.space()) {
      p.off = p.seq - tp.irs - 1; // stream offset of the segment's first byte
      st.sbAppendRecord(so, p);
      tp.rcvNxt += p.len;
      kept = true;
      wake |= WAKE_R;
      yield m.spend(m.cost.sbAppend);
    } else {
      // Duplicate, out of order or no room: drop, and ACK what we have.
      m.emit(KIND.pktDrop, p.id, p.flow, p.len, p.seq === tp.rcvNxt ? DROP.sbFull : DROP.outOfOrder);
      st.dropAcct(p, p.seq === tp.rcvNxt ? DROP.sbFull : DROP.outOfOrder);
    }
    tp.ackNow = true;
  }
  if ((p.flags & TH.FIN) && p.seq + p.len === tp.rcvNxt && !(so.rcv.flags & SB.CANTMORE)) {
    tp.rcvNxt++;
    so.rcv.flags |= SB.CANTMORE; // socantrcvmore()
    tp.ackNow = true;
    wake |= WAKE_R;
    if (tp.state === TCPS.ESTABLISHED) setState(st, so, TCPS.CLOSE_WAIT);
    else if (tp.state === TCPS.FIN_WAIT_1) setState(st, so, TCPS.CLOSING);
    else if (tp.state === TCPS.FIN_WAIT_2) tcpClosed(st, so); // TIME_WAIT without 2MSL
  } else if ((p.flags & TH.FIN) && p.len === 0) {
    tp.ackNow = true; // a retransmitted FIN: ACK it again
  }
  if ((p.flags & TH.PUSH) && p.len === 0) tp.ackNow = true; // window probe
  if (!kept) st.pool.put(p);
  return wake;
}

/** ACK processing: drop acknowledged bytes from so_snd, update the window and timer. */
function* tcpAck(st: NetStack, so: Socket, p: Packet): Generator<number, number, number> {
  const m = st.m;
  const tp = so.tcp!;
  tp.sndWnd = p.win;
  if (p.ack <= tp.sndUna || p.ack > tp.sndMax) return 0;
  const dataEnd = tp.sndUna + so.snd.cc;
  let acked = p.ack - tp.sndUna;
  if (p.ack > dataEnd) {
    tp.finAcked = true;
    acked = dataEnd - tp.sndUna;
  }
  // sbdrop and snd_una move together (no yield between), so a run that ends
  // here never shows the bytes neither in so_snd nor acknowledged.
  if (acked > 0) sbDropBytes(m, so, WHICH.snd, acked);
  tp.sndUna = p.ack;
  if (tp.sndNxt < tp.sndUna) tp.sndNxt = tp.sndUna;
  tp.rxtShift = 0;
  if (tp.rexmt !== null) {
    if (tp.sndUna === tp.sndMax) st.tos.del(tp.rexmt);
    else st.tos.add(tp.rexmt, st.set.rtoNs);
  }
  if (tp.finAcked) {
    if (tp.state === TCPS.FIN_WAIT_1) setState(st, so, TCPS.FIN_WAIT_2);
    else if (tp.state === TCPS.CLOSING || tp.state === TCPS.LAST_ACK) tcpClosed(st, so);
  }
  if (acked > 0) yield m.spend(m.cost.sbDrop);
  return WAKE_W;
}

/**
 * tcp_output(): sends every segment the peer's window allows from so_snd
 * (whose count covers snd_una..end of data), then a pure ACK or window
 * update if one is due, and FIN after the last byte once the user closed.
 */
export function* tcpOutput(st: NetStack, so: Socket): KCode {
  const m = st.m;
  const tp = so.tcp;
  if (tp === null || tp.state === TCPS.CLOSED) return;
  const mss = st.set.mss;
  // With TSO one tcp_output builds up to 64 KiB; the NIC cuts it into MSS frames.
  const segMax = st.set.segMax;
  for (;;) {
    const dataEnd = tp.sndUna + so.snd.cc;
    const finWanted = (so.snd.flags & SB.CANTMORE) !== 0 && !tp.finAcked;
    let len = Math.min(segMax, dataEnd - tp.sndNxt, tp.sndUna + tp.sndWnd - tp.sndNxt);
    if (len < 0) len = 0;
    const fin = finWanted && tp.sndNxt + len === dataEnd;
    const win = so.rcv.space();
    const winUpdate = win - (tp.rcvAdv - tp.rcvNxt) >= 2 * mss;
    if (len === 0 && !fin && !tp.ackNow && !winUpdate) return;
    if (st.mgetFail !== null && st.mgetFail(MGET_SITE.tcpOutput, so.flow)) {
      // OpenBSD tcp_output.c 1.157: MGETHDR(M_DONTWAIT) fails, error = ENOBUFS,
      // "out:" sets snd_cwnd to one segment (no congestion window here) and
      // returns 0. snd_nxt did not move: a retransmit timer already running,
      // the next ACK, or the next somove/sosend calls tcp_output again.
      return;
    }
    const p = st.pool.get(PROTO.tcp, so.flow, len);
    p.seq = tp.sndNxt;
    p.ack = tp.rcvNxt;
    p.flags = TH.ACK | (fin ? TH.FIN : 0);
    p.win = win;
    p.sport = so.lport;
    p.dport = so.fport;
    p.hash = so.flowid;
    yield m.spend(m.cost.tcpOutput + m.cost.tsoPerMss * Math.max(0, Math.ceil(len / mss) - 1));
    m.emit(KIND.tcpOut, so.id, p.seq, p.ack, len, p.flags, win);
    tp.sndNxt += len + (fin ? 1 : 0);
    if (tp.sndNxt > tp.sndMax) tp.sndMax = tp.sndNxt;
    tp.rcvAdv = tp.rcvNxt + win;
    tp.ackNow = false;
    if ((len > 0 || fin) && tp.rexmt !== null && !tp.rexmt.pending) {
      st.tos.add(tp.rexmt, st.set.rtoNs << Math.min(tp.rxtShift, 6));
    }
    yield* st.ipOutput(so.outIf, p);
    if (len === 0) return;
  }
}

/** Arms the retransmission machinery of an established socket. */
export function tcpTimersInit(st: NetStack, so: Socket): void {
  so.tcp!.rexmt = st.procTimeout(`tcp_rexmt:${so.id}`, () => tcpTimerRexmt(st, so));
}

/** tcp_timer_rexmt(): go back to snd_una and resend, with backoff. */
function* tcpTimerRexmt(st: NetStack, so: Socket): KCode {
  const m = st.m;
  if (!so.pcbAttached) return;
  yield m.lock(st.netlock, MODE.shared);
  yield m.lock(so.lock);
  const tp = so.tcp!;
  if (so.pcbAttached && tp.state !== TCPS.CLOSED && tp.sndUna < tp.sndMax) {
    m.emit(KIND.tcpRexmt, so.id, tp.sndUna, tp.sndMax - tp.sndUna);
    tp.sndNxt = tp.sndUna;
    if (tp.rxtShift < 12) tp.rxtShift++;
    if (tp.sndWnd === 0) tp.sndWnd = 1; // persist: probe a closed window
    yield* tcpOutput(st, so);
  }
  m.unlock(so.lock);
  m.unlock(st.netlock);
}

/** tcp_usrclosed() from soclose: FIN after the queued data. */
export function* tcpUsrClosed(st: NetStack, so: Socket): KCode {
  const tp = so.tcp;
  if (tp === null) return;
  so.snd.flags |= SB.CANTMORE; // socantsendmore()
  if (tp.state === TCPS.ESTABLISHED) setState(st, so, TCPS.FIN_WAIT_1);
  else if (tp.state === TCPS.CLOSE_WAIT) setState(st, so, TCPS.LAST_ACK);
  else if (tp.state !== TCPS.CLOSED) return;
  if (tp.state === TCPS.CLOSED) {
    st.pcbDetach(so);
    return;
  }
  yield* tcpOutput(st, so);
}

/** tcp_drop(): connection reset; so_error set, both directions shut. */
function tcpDrop(st: NetStack, so: Socket, err: number): void {
  so.error = err;
  so.rcv.flags |= SB.CANTMORE;
  so.snd.flags |= SB.CANTMORE;
  st.m.emit(KIND.soState, so.id, TCPS.CLOSED, err);
  tcpClosed(st, so);
}

/** tcp_close(): CLOSED; the PCB lets go of the socket. */
function tcpClosed(st: NetStack, so: Socket): void {
  setState(st, so, TCPS.CLOSED);
  st.pcbDetach(so);
}

function setState(st: NetStack, so: Socket, state: number): void {
  so.tcp!.state = state;
  st.m.emit(KIND.soState, so.id, state, so.error);
}

/** tcp_respond(): drop `p` and answer it with RST (never an RST for an RST). */
function* tcpRespondRst(st: NetStack, p: Packet, reason: number): KCode {
  const m = st.m;
  st.dropAcct(p, reason);
  m.emit(KIND.pktDrop, p.id, p.flow, p.len, reason);
  if (p.flags & TH.RST) {
    st.pool.put(p);
    return;
  }
  if (st.mgetFail !== null && st.mgetFail(MGET_SITE.tcpRst, p.flow)) {
    st.pool.put(p); // tcp_respond(): no mbuf for the RST, the segment is just dropped
    return;
  }
  const r = st.pool.get(PROTO.tcp, p.flow, 0);
  r.seq = p.ack;
  r.ack = p.seq + p.len;
  r.flags = TH.RST | TH.ACK;
  r.sport = p.dport;
  r.dport = p.sport;
  r.hash = p.hash;
  const ifidx = p.ifidx;
  st.pool.put(p);
  yield m.spend(m.cost.tcpOutput);
  m.emit(KIND.tcpOut, 0, r.seq, r.ack, 0, r.flags, 0);
  yield* st.ipOutput(ifidx, r);
}
