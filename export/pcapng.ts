/**
 * pcapng export: the packets the machine's NICs received (`pkt-rx`) and
 * transmitted (`pkt-tx`), as Wireshark and tshark read them. Each packet is
 * an Enhanced Packet Block on one raw-IPv4 interface (LINKTYPE_RAW) with
 * nanosecond timestamps (`if_tsresol` 9); its IPv4 and TCP/UDP headers are
 * built from the flow's addresses (`flow-def` events) and, for TCP, the
 * header fields the NIC saw (`pkt-tcp`). Payload bytes are not captured (the
 * model carries lengths, not contents): the captured length is the headers,
 * the original length the whole packet, as with a short snaplen. A TSO
 * segment shows as one large segment, as tcpdump shows it on the sending host.
 * Packets of flows without a `flow-def` (loopback tests) are skipped and
 * counted.
 *
 * @example
 * ```ts
 * import { exportPcapng } from "./pcapng.ts";
 * exportPcapng("runs/splice-tcp-1.lstrace", "runs/splice-tcp-1.pcapng");
 * ```
 * @module
 */
import type { EventRecord } from "../core/event.ts";
import { KIND, PROTO } from "../core/schema.ts";
import { TraceReader } from "../replay/reader.ts";

/** What the export wrote. */
export interface PcapngResult {
  /** Trace events read. */
  readonly events: number;
  /** Packets written. */
  readonly packets: number;
  /** Packets skipped (no flow-def). */
  readonly skipped: number;
  /** Bytes written. */
  readonly bytes: number;
}

const SNAPLEN = 64;
const LINKTYPE_RAW = 101;
const PROTO_TCP = PROTO.tcp;
const IPPROTO = [6, 17];

/** The machine's and the external host's ends of a flow. */
interface FlowAddr {
  proto: number;
  localIp: number;
  remoteIp: number;
  localPort: number;
  remotePort: number;
}

/** A binary output with a fixed buffer, flushed as it fills. */
class BinOut {
  readonly buf = new Uint8Array(1 << 16);
  readonly view = new DataView(this.buf.buffer);
  pos = 0;
  bytes = 0;
  constructor(readonly file: Deno.FsFile | typeof Deno.stdout) {}
  /** Makes room for `n` bytes. */
  need(n: number): void {
    if (this.pos + n > this.buf.length) this.flush();
  }
  /** Writes out what is buffered. */
  flush(): void {
    for (let done = 0; done < this.pos;) done += this.file.writeSync(this.buf.subarray(done, this.pos));
    this.bytes += this.pos;
    this.pos = 0;
  }
}

/** Writes the packets of the trace at `tracePath` as pcapng to `outPath` ("-": stdout). */
export function exportPcapng(tracePath: string, outPath: string): PcapngResult {
  const reader = TraceReader.open(tracePath);
  const toStdout = outPath === "-";
  const out = new BinOut(
    toStdout ? Deno.stdout : Deno.openSync(outPath, { write: true, create: true, truncate: true }),
  );
  const flows = new Map<number, FlowAddr>();
  let events = 0, packets = 0, skipped = 0;
  // A TCP packet waits for its pkt-tcp, the next event of its step.
  let pendingPkt = -1, pendingFlow = 0, pendingLen = 0, pendingRx = false, pendingNs = 0;
  const writePending = (tcp: EventRecord | null) => {
    const f = flows.get(pendingFlow);
    if (f === undefined) skipped++;
    else {
      packetBlock(out, pendingNs, f, pendingRx, pendingLen, pendingPkt, tcp);
      packets++;
    }
    pendingPkt = -1;
  };
  try {
    sectionHeader(out);
    interfaceBlock(out);
    for (const e of reader.events()) {
      events++;
      const fs = e.fields;
      if (pendingPkt >= 0) writePending(e.kind === KIND.pktTcp && fs[0] === pendingPkt ? e : null);
      if (e.kind === KIND.flowDef) {
        flows.set(fs[0], { proto: fs[1], localIp: fs[2], remoteIp: fs[3], localPort: fs[4], remotePort: fs[5] });
      } else if (e.kind === KIND.pktRx || e.kind === KIND.pktTx) {
        pendingPkt = fs[0];
        pendingFlow = fs[1];
        pendingLen = fs[2];
        pendingRx = e.kind === KIND.pktRx;
        pendingNs = e.tNs;
        if (flows.get(pendingFlow)?.proto !== PROTO_TCP) writePending(null);
      }
    }
    if (pendingPkt >= 0) writePending(null);
    out.flush();
  } finally {
    if (!toStdout) (out.file as Deno.FsFile).close();
    reader.close();
  }
  return { events, packets, skipped, bytes: out.bytes };
}

/** Section Header Block: byte-order magic, version 1.0, unknown section length. */
function sectionHeader(o: BinOut): void {
  const app = new TextEncoder().encode("lockstep");
  const optLen = 4 + pad4(app.length) + 4;
  const len = 28 + optLen;
  o.need(len);
  const v = o.view, p = o.pos;
  v.setUint32(p, 0x0a0d0d0a, true);
  v.setUint32(p + 4, len, true);
  v.setUint32(p + 8, 0x1a2b3c4d, true);
  v.setUint16(p + 12, 1, true);
  v.setUint16(p + 14, 0, true);
  v.setBigInt64(p + 16, -1n, true);
  v.setUint16(p + 24, 4, true); // shb_userappl
  v.setUint16(p + 26, app.length, true);
  o.buf.set(app, p + 28);
  o.buf.fill(0, p + 28 + app.length, p + 28 + pad4(app.length));
  v.setUint32(p + 28 + pad4(app.length), 0, true); // opt_endofopt
  v.setUint32(p + len - 4, len, true);
  o.pos += len;
}

/** Interface Description Block: raw IPv4, snaplen, nanosecond timestamps. */
function interfaceBlock(o: BinOut): void {
  const len = 20 + 8 + 4 + 4;
  o.need(len);
  const v = o.view, p = o.pos;
  v.setUint32(p, 1, true);
  v.setUint32(p + 4, len, true);
  v.setUint16(p + 8, LINKTYPE_RAW, true);
  v.setUint16(p + 10, 0, true);
  v.setUint32(p + 12, SNAPLEN, true);
  v.setUint16(p + 16, 9, true); // if_tsresol
  v.setUint16(p + 18, 1, true);
  o.buf[p + 20] = 9; // 10^-9 s
  o.buf.fill(0, p + 21, p + 24);
  v.setUint32(p + 24, 0, true); // opt_endofopt
  v.setUint32(p + len - 4, len, true);
  o.pos += len;
}

/** Enhanced Packet Block with the packet's IPv4 and TCP or UDP headers. */
function packetBlock(
  o: BinOut,
  tNs: number,
  f: FlowAddr,
  rx: boolean,
  payload: number,
  id: number,
  tcp: EventRecord | null,
): void {
  const l4 = f.proto === PROTO_TCP ? 20 : 8;
  const caplen = 20 + l4;
  const total = Math.min(65535, caplen + payload);
  const len = 28 + caplen + 4;
  o.need(len);
  const v = o.view, p = o.pos;
  v.setUint32(p, 6, true);
  v.setUint32(p + 4, len, true);
  v.setUint32(p + 8, 0, true);
  v.setUint32(p + 12, Math.floor(tNs / 0x100000000), true);
  v.setUint32(p + 16, tNs >>> 0, true);
  v.setUint32(p + 20, caplen, true);
  v.setUint32(p + 24, caplen + payload, true);
  const ip = p + 28;
  const src = rx ? f.remoteIp : f.localIp, dst = rx ? f.localIp : f.remoteIp;
  v.setUint8(ip, 0x45);
  v.setUint8(ip + 1, 0);
  v.setUint16(ip + 2, total);
  v.setUint16(ip + 4, id & 0xffff);
  v.setUint16(ip + 6, 0x4000); // DF
  v.setUint8(ip + 8, 64);
  v.setUint8(ip + 9, IPPROTO[f.proto] ?? 0);
  v.setUint16(ip + 10, 0);
  v.setUint32(ip + 12, src >>> 0);
  v.setUint32(ip + 16, dst >>> 0);
  v.setUint16(ip + 10, ipChecksum(o.buf, ip));
  const th = ip + 20;
  v.setUint16(th, rx ? f.remotePort : f.localPort);
  v.setUint16(th + 2, rx ? f.localPort : f.remotePort);
  if (f.proto === PROTO_TCP) {
    const fs = tcp?.fields;
    v.setUint32(th + 4, fs ? fs[1] >>> 0 : 0);
    v.setUint32(th + 8, fs ? fs[2] >>> 0 : 0);
    v.setUint8(th + 12, 5 << 4);
    v.setUint8(th + 13, fs ? fs[3] & 0x3f : 0); // TH_FIN..TH_ACK have the wire's bit values
    v.setUint16(th + 14, fs ? Math.min(65535, fs[4]) : 0);
    v.setUint32(th + 16, 0); // checksum (not computed: no payload) and urgent pointer
  } else {
    v.setUint16(th + 4, Math.min(65535, 8 + payload));
    v.setUint16(th + 6, 0);
  }
  v.setUint32(p + len - 4, len, true);
  o.pos += len;
}

/** The IPv4 header checksum of the 20 bytes at `at` (checksum field zero). */
function ipChecksum(b: Uint8Array, at: number): number {
  let sum = 0;
  for (let i = 0; i < 20; i += 2) sum += (b[at + i] << 8) | b[at + i + 1];
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

function pad4(n: number): number {
  return (n + 3) & ~3;
}
