/**
 * A test scenario with a planted bug that only an injected fault reveals:
 * the UDP relay of splice-udp, whose end-of-run check reports a violation
 * when any frame found the NIC rx ring full (`fault.rxRingPpm`). A swarm
 * exploration finds it with several faults on; shrinking must keep only
 * the rx-ring fault.
 * @module
 */
import type { Config, KeySet } from "../core/config.ts";
import type { Machine } from "../core/machine.ts";
import { NET_KEYS } from "../core/net/config.ts";
import { PROTO } from "../core/net/packet.ts";
import type { Scenario } from "../core/scenario.ts";
import { FAULT_KEYS } from "../drivers/faults.ts";
import { buildRelay, RELAY_KEYS } from "../drivers/splice_scenarios.ts";

const params: KeySet = { ...NET_KEYS, ...RELAY_KEYS, ...FAULT_KEYS };
params["relay.flows"] = { ...params["relay.flows"], default: 2 };
params["relay.msgBytes"] = { ...params["relay.msgBytes"], default: 1400 };
params["relay.rateMbps"] = { ...params["relay.rateMbps"], default: 4000 };

const scenario: Scenario = {
  name: "planted-rxring-bug",
  doc: "UDP relay whose check fails once the rx ring overflowed (test of swarm fault shrinking)",
  params,
  machineDefaults: { "sim.durationNs": 1_000_000 },
  setup(m: Machine, cfg: Config) {
    const w = buildRelay(m, cfg, PROTO.udp);
    return {
      finish: () => {
        const n = w.st.acct.dropsByReason["rxRing"] ?? 0;
        if (n > 0) m.violation("conservation", `planted bug: ${n} rx ring overflows`);
      },
    };
  },
};
export default scenario;
