/**
 * The network stack: an OpenBSD-like receive and transmit path (ifiq,
 * softnet task queues, ip_input, tcp_input/udp_input, socket buffers) with
 * socket splicing. Imports inside core/net point one way: packet, config,
 * socket <- stack <- tcp, splice (<- soclose), usrreq <- this module, which wires the
 * protocol switch ({@link NetProtos}) and is what scenarios use.
 *
 * @example
 * ```ts
 * import { createNetStack } from "./mod.ts";
 * import { Machine } from "../machine.ts";
 * import { COST_KEYS, MACHINE_KEYS, resolveConfig } from "../config.ts";
 * import { NET_KEYS } from "./config.ts";
 * const m = new Machine({ config: resolveConfig([MACHINE_KEYS, NET_KEYS, COST_KEYS], {}), seed: 1 });
 * const st = createNetStack(m, m.config);
 * st.softnets.length > 0; // true
 * ```
 * @module
 */
import type { Config } from "../config.ts";
import type { Machine } from "../machine.ts";
import { sorwakeup, sospProcessq } from "./splice.ts";
import { NetStack } from "./stack.ts";
import { tcpInputMlist, tcpOutput, tcpUsrClosed } from "./tcp.ts";

export { DROP, MGET_SITE, type NetIf, type NetProtos, NetStack, pcbKey } from "./stack.ts";
export { NET_KEYS, SPLICE_MODES } from "./config.ts";
export { HDR_BYTES, Packet, PROTO, TH } from "./packet.ts";
export { ERR, SB, Socket, TCPS, WHICH } from "./socket.ts";
export { sosplice, sounsplice, UNSPLICE } from "./splice.ts";
export { soclose } from "./soclose.ts";
export { soreceive, sosend } from "./usrreq.ts";
export { tcpTimersInit } from "./tcp.ts";

/** Fills a stack's protocol switch with TCP and the socket layer (splicing). */
export function wireNetStack(st: NetStack): NetStack {
  st.protos = { tcpInputMlist, tcpOutput, tcpUsrClosed, sorwakeup, sospProcessq };
  return st;
}

/** A new, wired network stack on machine `m`. */
export function createNetStack(m: Machine, cfg: Config): NetStack {
  return wireNetStack(new NetStack(m, cfg));
}
