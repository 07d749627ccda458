/**
 * The cost model: one table giving each simulated operation its duration in
 * nanoseconds. Every entry can be overridden with `--set cost.<name>=<ns>`.
 * docs/cost-model.md lists each entry with the source of its figure; keep the
 * two in step (a test checks that every entry is documented there).
 *
 * @example
 * ```ts
 * import { COSTS, defaultCosts } from "./cost.ts";
 * const c = defaultCosts();
 * c.mtxEnter; // 25
 * Object.keys(COSTS).length > 10; // true
 * ```
 * @module
 */

/** One cost entry: default nanoseconds and a short description. */
export interface CostEntry {
  /** Default duration, ns. */
  readonly ns: number;
  /** What the operation is (and what the figure covers). */
  readonly doc: string;
}

/** The table. Figures are for a ~3 GHz x86-64 core; see docs/cost-model.md. */
export const COSTS = {
  // scheduling and interrupts
  ctxSwitch: { ns: 1500, doc: "context switch including cache refill (mi_switch + cpu_switchto)" },
  ipi: { ns: 2000, doc: "cross-CPU wakeup: IPI delivery and the idle CPU leaving its halt" },
  wakeup: { ns: 150, doc: "wakeup()/wakeup_one(): sleep queue walk and setrunnable" },
  sleep: { ns: 200, doc: "sleep_setup/sleep_finish bookkeeping before the switch" },
  yield: { ns: 100, doc: "yield(): putting the thread back on the run queue" },
  intrEntry: { ns: 300, doc: "hard interrupt entry and exit (trap frame, EOI)" },
  softintDispatch: { ns: 150, doc: "soft interrupt dispatch of one handler" },
  // locks
  mtxEnter: { ns: 25, doc: "uncontended mutex enter (atomic cmpxchg)" },
  mtxLeave: { ns: 15, doc: "mutex leave (store release)" },
  rwEnter: { ns: 30, doc: "uncontended rwlock enter (atomic)" },
  rwExit: { ns: 25, doc: "rwlock exit" },
  lockHandoff: { ns: 150, doc: "cache-line transfer when a contended lock changes CPU" },
  // deferred work
  taskAdd: { ns: 60, doc: "task_add(): onqueue test, tq_mtx, TAILQ insert" },
  taskDel: { ns: 50, doc: "task_del()" },
  taskRun: { ns: 80, doc: "taskq_next_work(): dequeue and copy the task" },
  timeoutAdd: { ns: 80, doc: "timeout_add(): wheel insert under timeout_mutex" },
  timeoutDel: { ns: 60, doc: "timeout_del()" },
  refOp: { ns: 20, doc: "refcnt_take/refcnt_rele atomic on a shared line" },
  // network (used by the stack in core/net)
  nicRxPkt: { ns: 120, doc: "driver rx: descriptor, mbuf, RSS queue (per packet)" },
  ifiqInput: { ns: 200, doc: "ifiq_input(): ifiq_mtx, ml_enlist, task_add (per batch)" },
  etherInput: { ns: 80, doc: "ether_input() per packet" },
  ipInput: { ns: 250, doc: "ip_input() + pf-less forwarding checks per packet" },
  udpInput: { ns: 300, doc: "udp_input(): PCB lookup, sbappendaddr" },
  tcpInput: { ns: 700, doc: "tcp_input(): PCB lookup, header prediction, sbappendstream" },
  tcpOutput: { ns: 600, doc: "tcp_output() per segment built" },
  udpOutput: { ns: 350, doc: "udp_output() per datagram" },
  ipOutput: { ns: 300, doc: "ip_output(): route lookup, header" },
  ifOutput: { ns: 200, doc: "driver start (if_qstart) per packet: descriptor write, doorbell amortised" },
  somoveBase: { ns: 400, doc: "somove(): checks and accounting per call" },
  somovePerPkt: { ns: 150, doc: "somove(): per mbuf moved (m_copym/sbdrop/pru_send setup)" },
  copyPerKb: { ns: 60, doc: "copying one KiB between user and kernel (copyin/copyout)" },
  tsoPerMss: {
    ns: 40,
    doc: "each further MSS of a TSO segment: mbuf chain walk and DMA descriptor (the NIC segments)",
  },
  lroGlue: { ns: 30, doc: "tcp_softlro_glue() of one segment onto the previous one of its flow" },
  sbAppend: { ns: 80, doc: "sbappend*() per mbuf" },
  syscall: { ns: 250, doc: "system call entry and exit" },
  sbDrop: { ns: 60, doc: "sbdrop()/sbdroprecord(): unlink and free mbufs from a socket buffer" },
  cacheMissPkt: { ns: 100, doc: "an mbuf last written on another CPU: its lines pulled across (per packet)" },
  cacheMissSock: { ns: 200, doc: "socket, sockbuf and PCB lines last written on another CPU (per socket visit)" },
  // Linux personality (core/linux; docs/cost-model.md "Linux", fitted entries marked there)
  lxSyscall: { ns: 100, doc: "Linux: syscall entry/exit plus sock_sendmsg/sock_recvmsg dispatch" },
  lxLockSock: { ns: 30, doc: "Linux: lock_sock + release_sock without contention or backlog" },
  lxSkbAlloc: { ns: 150, doc: "Linux: tcp_stream_alloc_skb (skb + head from the slab, memcg charge)" },
  lxTcpXmit: {
    ns: 700,
    doc: "Linux: tcp_write_xmit per skb: tcp_transmit_skb (clone, header), ip_queue_xmit, ip_finish_output2",
  },
  lxDevXmit: { ns: 80, doc: "Linux: __dev_queue_xmit (no qdisc on lo/veth: noqueue) + dev_hard_start_xmit" },
  lxLoopbackXmit: { ns: 60, doc: "Linux: loopback_xmit: skb_orphan, eth_type_trans, __netif_rx enqueue" },
  lxVethXmit: {
    ns: 60,
    doc: "Linux: veth_xmit: veth_forward_skb (dev_forward_skb scrub, eth_type_trans) + __netif_rx",
  },
  lxBridgeFwd: { ns: 100, doc: "Linux: br_handle_frame + fdb lookup + br_forward + br_dev_queue_push_xmit" },
  lxNetRxAction: { ns: 100, doc: "Linux: net_rx_action entry and the backlog NAPI poll setup" },
  lxBacklogPkt: { ns: 50, doc: "Linux: process_backlog dequeue + __netif_receive_skb_core per skb" },
  lxIpRcv: { ns: 200, doc: "Linux: ip_rcv + ip_rcv_finish (early demux) + ip_local_deliver per skb" },
  lxTcpV4Rcv: { ns: 250, doc: "Linux: tcp_v4_rcv: checksum (none on lo/veth), socket lookup, bh_lock_sock" },
  lxTcpRcvData: { ns: 550, doc: "Linux: tcp_rcv_established data part: tcp_queue_rcv, rcv_nxt, sk_data_ready setup" },
  lxTcpAck: { ns: 250, doc: "Linux: tcp_ack: clean the retransmit queue, free acked skbs, tcp_new_space" },
  lxBacklogRcv: { ns: 50, doc: "Linux: __release_sock per backlogged skb (sk_backlog_rcv dispatch)" },
  lxTcpRecvmsg: {
    ns: 300,
    doc: "Linux: tcp_recvmsg_locked fixed part: queue walk, skb free, tcp_cleanup_rbuf, tcp_rcv_space_adjust",
  },
  lxWakeUp: { ns: 400, doc: "Linux: __wake_up on a socket wait queue: try_to_wake_up, select_task_rq, remote enqueue" },
  lxCopyPerKb: { ns: 126, doc: "Linux: copy_from_iter/copy_to_iter of one KiB (rep movsb, data warm in the LLC)" },
  lxPageFrag: {
    ns: 140,
    doc:
      "Linux: per 4 KiB page of TCP payload on each side (sk_page_frag_refill + skb_fill_page_desc + memcg charge; the receiver's page walk and put_page)",
  },
  lxRingPerKb: { ns: 33, doc: "Linux splice: per KiB read from the ring, its lines pulled from the writer's CPU" },
  lxSpliceSend: { ns: 80, doc: "Linux splice: sk_psock_get/put, RCU peer check and percpu_ref get/put per sendmsg" },
  lxRingLine: {
    ns: 120,
    doc:
      "Linux splice: the ring_head cache line moving between CPUs (reader load after a write; writer store + smp_mb after a read)",
  },
  lxBusyPollLoop: { ns: 54, doc: "Linux splice: one splice_busy_loop iteration (cpu_relax + splice_recv_ready)" },
  lxSpliceUnpair: {
    ns: 200,
    doc: "Linux splice: tcp_bpf_splice_unpair bookkeeping (psock get/put, RCU pointer updates)",
  },
  lxTick: {
    ns: 1500,
    doc: "Linux: one scheduler tick (tick_nohz_handler → update_process_times → sched_tick)",
  },
  lxRcuGp: { ns: 20000, doc: "Linux: an RCU grace period before sk_psock_destroy (queue_rcu_work)" },
  // NetBSD infrastructure proposals (core/netbsd/, docs/netbsd-infrastructure.md)
  atomicLoad: { ns: 10, doc: "load of a shared word another CPU may write (pcq_pc, a queue head)" },
  atomicCas: { ns: 25, doc: "atomic_cas_32/_ptr on a shared word (lock cmpxchg), success or failure" },
  atomicStore: { ns: 10, doc: "store (release) of a shared word: pcq_items[], a link field" },
  ifqOp: { ns: 20, doc: "IF_ENQUEUE/IF_DEQUEUE list manipulation under the ifqueue lock" },
  ptreeNode: { ns: 12, doc: "ptree: one node visited (load the node, XOR + count leading zeros on the key)" },
  radixNode: {
    ns: 20,
    doc: "BSD radix: one radix_node visited (node pair, rn_bit/rn_bmask test, parent or mklist link)",
  },
  radixKeyCmp: { ns: 15, doc: "BSD radix: comparing the search key with a leaf's sockaddr key byte by byte" },
  contDispatch: { ns: 60, doc: "kernel continuation: dequeue and call one item (no thread of its own)" },
  workqueueEnqueue: { ns: 80, doc: "workqueue_enqueue(): per-CPU queue mutex, SIMPLEQ insert, cv_signal" },
  calloutSchedule: { ns: 80, doc: "callout_schedule(): wheel insert under the callout lock" },
  pollPkt: { ns: 90, doc: "if_poll: one received frame taken off a pre-allocated ring (no allocation)" },
  intrMask: { ns: 150, doc: "masking or unmasking the device's interrupt source (a register write over PCIe)" },
  synCacheAdd: { ns: 300, doc: "syn_cache_insert(): allocate an entry from its pool, hash, bucket insert, timer" },
  sonewconn: { ns: 2000, doc: "sonewconn() + in_pcballoc + tcp_newtcpcb: a socket, an inpcb and a tcpcb for one peer" },
} as const satisfies Record<string, CostEntry>;

/** Names of the cost entries. */
export type CostName = keyof typeof COSTS;

/** Resolved costs (ns per entry). */
export type Costs = { [K in CostName]: number };

/** The default costs. */
export function defaultCosts(): Costs {
  const out = {} as Costs;
  for (const k of Object.keys(COSTS) as CostName[]) out[k] = COSTS[k].ns;
  return out;
}
