/**
 * Configuration keys of the network stack and socket splicing. Scenarios
 * that build a {@link NetStack} include these in their parameters (and may
 * change defaults), so `--set splice.mode=...` and `--compare` work alike.
 * @module
 */
import type { Config, KeySet } from "../config.ts";

/** The splice implementations (reference section 2 and the seeds). */
export const SPLICE_MODES = ["thread", "netstack-queue", "flowid-taskq"] as const;

/** Network stack keys. */
export const NET_KEYS: KeySet = {
  "splice.mode": {
    default: "flowid-taskq",
    doc: "where somove runs: thread (one sosplice taskq thread, sotask yields after TCP), " +
      "netstack-queue (per-softnet socket queue at the end of if_input_process, 2025-07 seed), " +
      "flowid-taskq (splice task on net_tq(flowid), 2025-09 seed)",
    choices: SPLICE_MODES,
  },
  "splice.refOrder": {
    default: "safe",
    doc: "with splice.closeBarrier=false (the refcount diff), the reference a queued splice task takes: " +
      "safe = soref(); if (!task_add()) sorele(); unsafe = if (task_add()) soref(); (the idiom dlg@ flagged " +
      "in the 2025-07 thread); without the refcount diff no task reference is taken, as in the posted code",
    choices: ["safe", "unsafe"],
  },
  "splice.closeBarrier": {
    default: true,
    doc: "soclose waits with taskq_barrier for splice tasks (1.385 and both posted diffs; the queued task " +
      "holds no socket reference); false is the 2025-07 first diff ('I replaced them with reference count " +
      "in task_add(), task_del(), and sotask()'): the task holds a reference (splice.refOrder), sotask drops it",
  },
  "splice.wakeupLock": {
    default: "sb_mtx",
    doc: "what sorwakeup/sowwakeup hold around the SB_SPLICE test and task_add: sb_mtx (uipc_socket.c 1.385 " +
      "and both seeds; with it the splice links' references keep the socket alive and the refcount diff's " +
      "unsafe order cannot free it) or none (hypothetical, opens the task_add/soref window dlg@ described)",
    choices: ["sb_mtx", "none"],
  },
  "fault.spliceReorderAt": {
    default: 0,
    doc:
      "test fault: the first somove call from the Nth on that finds two records in so_rcv swaps them before moving (0: never)",
    min: 0,
    max: 1e15,
  },
  "net.softnets": { default: 0, doc: "softnet task queues (0: min(8, cpus) as softnet_percpu)", min: 0, max: 64 },
  "net.tqPerRxQueue": {
    default: false,
    doc:
      "ifiq of rx queue i uses net_tq(i) as current ifq.c does, instead of net_tq(ifidx) for all queues (older ifq.c, '/* + idx */' commented out)",
  },
  "net.sbHiwat": { default: 262144, doc: "socket buffer high water mark, bytes (so_rcv and so_snd)", min: 1, max: 1e9 },
  "net.mss": { default: 1448, doc: "TCP maximum segment size, bytes", min: 64, max: 65535 },
  "net.tso": {
    default: true,
    doc: "TCP segmentation offload: tcp_output builds segments up to 64 KiB and the NIC cuts them (tcp_if_output_tso)",
  },
  "net.lro": {
    default: true,
    doc: "large receive offload: the driver glues in-order TCP segments of a flow in one rx batch (tcp_softlro_glue)",
  },
  "net.tcpRtoNs": { default: 200_000_000, doc: "TCP retransmission timeout (TCPTV_MIN), ns", min: 1000, max: 1e12 },
};

/** Resolved stack settings. */
export interface NetSettings {
  mode: number;
  unsafeRef: boolean;
  closeBarrier: boolean;
  /** The refcount diff: a queued splice task holds a socket reference (no close barrier). */
  taskRef: boolean;
  /** sorwakeup/sowwakeup hold the sockbuf mutex around task_add. */
  wakeupMutex: boolean;
  /** Test fault: the somove call that reorders two records (0: none). */
  faultReorderAt: number;
  softnets: number;
  tqPerRxQueue: boolean;
  sbHiwat: number;
  mss: number;
  rtoNs: number;
  /** Largest TCP segment tcp_output builds: 64 KiB with TSO, else the MSS. */
  segMax: number;
  lro: boolean;
}

/** IP_MAXPACKET less the TCP/IP headers: the largest TSO segment. */
export const TSO_SEG_MAX_BYTES = 65535 - 40;

/** Mode numbers: index in SPLICE_MODES. */
export const MODE_THREAD = 0, MODE_NSQ = 1, MODE_FLOWID = 2;

/** Reads the stack settings from a resolved configuration (defaults for missing keys). */
export function netSettings(cfg: Config, cpus: number): NetSettings {
  const get = (k: string) => cfg[k] ?? NET_KEYS[k].default;
  const softnets = Number(get("net.softnets"));
  return {
    mode: (SPLICE_MODES as readonly string[]).indexOf(String(get("splice.mode"))),
    unsafeRef: get("splice.refOrder") === "unsafe",
    closeBarrier: get("splice.closeBarrier") === true,
    taskRef: get("splice.closeBarrier") !== true,
    wakeupMutex: get("splice.wakeupLock") === "sb_mtx",
    faultReorderAt: Number(get("fault.spliceReorderAt")),
    softnets: softnets > 0 ? softnets : Math.min(8, cpus),
    tqPerRxQueue: get("net.tqPerRxQueue") === true,
    sbHiwat: Number(get("net.sbHiwat")),
    mss: Number(get("net.mss")),
    rtoNs: Number(get("net.tcpRtoNs")),
    segMax: get("net.tso") === true ? TSO_SEG_MAX_BYTES : Number(get("net.mss")),
    lro: get("net.lro") === true,
  };
}
