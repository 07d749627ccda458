/**
 * The system calls of user processes on sockets: soreceive (read) and
 * sosend (write). A spliced source cannot be read: sorwakeup does not wake
 * readers while SB_SPLICE is set (reference section 2), so a reader sleeps
 * until the splice ends. Used by the relay's userland-copy variant
 * (`relay.userCopy`), the baseline that splicing avoids.
 * @module
 */
import { MODE } from "../objects.ts";
import { msleep } from "../sync.ts";
import { PROTO } from "./packet.ts";
import { SB, sbAppendBytes, sbDropBytes, type Socket, WHICH } from "./socket.ts";
import { type NetStack, rcvStream } from "./stack.ts";
import { streamCheck, streamCheckDatagram } from "../detect/mod.ts";

/**
 * soreceive(): read up to `max` bytes (one datagram for UDP); sleeps while
 * the buffer is empty or the socket is spliced. Returns the bytes read, 0
 * at end of file or on error.
 */
export function* soreceive(st: NetStack, so: Socket, max: number): Generator<number, number, number> {
  const m = st.m;
  yield m.spend(m.cost.syscall);
  yield m.lock(st.netlock, MODE.shared); // solock_shared: NET_LOCK before so_lock
  yield m.lock(so.lock);
  while ((so.rcv.cc === 0 || so.isSpliced()) && !(so.rcv.flags & SB.CANTMORE) && so.error === 0) {
    m.unlock(st.netlock); // never sleep holding NET_LOCK
    yield* msleep(m, so.rcv.chan, so.lock);
    m.unlock(so.lock);
    yield m.lock(st.netlock, MODE.shared);
    yield m.lock(so.lock);
  }
  if (so.rcv.cc === 0 || so.isSpliced()) {
    m.unlock(so.lock);
    m.unlock(st.netlock);
    return 0;
  }
  let n = 0;
  yield m.lock(so.rcvMtx);
  for (let p = so.rcv.first(); p !== undefined && n < max; p = so.rcv.first()) {
    const take = so.proto === PROTO.udp ? p.len : Math.min(p.len, max - n);
    so.readSid = p.sid;
    so.readOff = p.off;
    so.readDupFault = p.dupFault;
    so.readReorderFault = p.reorderFault;
    // Bytes leave so_rcv in stream order (a datagram whole, with its fault decisions).
    if (take === p.len) streamCheckDatagram(m, rcvStream(so) + 1, p);
    else streamCheck(m, rcvStream(so) + 1, p.off, take);
    if (take === p.len) st.pool.put(so.rcv.shift());
    else {
      p.len -= take;
      p.off += take;
    }
    n += take;
    if (so.proto === PROTO.udp) break;
  }
  sbDropBytes(m, so, WHICH.rcv, n);
  so.n.moved += n;
  m.unlock(so.rcvMtx);
  yield m.spend(m.cost.sbDrop + Math.ceil((n * m.cost.copyPerKb) / 1024)); // uiomove
  if (so.proto === PROTO.tcp) yield* st.protos.tcpOutput(st, so); // pru_rcvd: window update
  m.unlock(so.lock);
  m.unlock(st.netlock);
  return n;
}

/**
 * sosend(): write `bytes`; TCP waits for room in so_snd (sowwakeup wakes it)
 * and calls tcp_output, UDP sends one datagram. Returns 0 or an errno-like
 * nonzero value when the socket cannot send. `from`: a UDP datagram carries
 * on the stream id and offset of the one last read from that socket.
 */
export function* sosend(st: NetStack, so: Socket, bytes: number, from?: Socket): Generator<number, number, number> {
  const m = st.m;
  yield m.spend(m.cost.syscall + Math.ceil((bytes * m.cost.copyPerKb) / 1024)); // uiomove
  yield m.lock(st.netlock, MODE.shared);
  yield m.lock(so.lock);
  let err = 0;
  if (so.proto === PROTO.tcp) {
    while (so.snd.space() < bytes && !(so.snd.flags & SB.CANTMORE) && so.error === 0) {
      m.unlock(st.netlock); // never sleep holding NET_LOCK
      yield* msleep(m, so.snd.chan, so.lock);
      m.unlock(so.lock);
      yield m.lock(st.netlock, MODE.shared);
      yield m.lock(so.lock);
    }
    if ((so.snd.flags & SB.CANTMORE) || so.error !== 0) err = so.error || 32;
    else {
      sbAppendBytes(m, so, WHICH.snd, bytes);
      so.n.sndAppended += bytes;
      yield m.spend(m.cost.sbAppend);
      yield* st.protos.tcpOutput(st, so);
    }
  } else {
    const p = st.pool.get(PROTO.udp, so.flow, bytes);
    if (from !== undefined) {
      p.sid = from.readSid;
      p.off = from.readOff;
      p.dupFault = from.readDupFault;
      p.reorderFault = from.readReorderFault;
    }
    st.acct.wireBytes += bytes;
    so.n.sndAppended += bytes;
    yield* st.udpOutput(so, p);
  }
  m.unlock(so.lock);
  m.unlock(st.netlock);
  return err;
}
