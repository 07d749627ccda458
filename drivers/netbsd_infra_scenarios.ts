/**
 * The NetBSD network infrastructure proposals as scenarios, each measured
 * against today's mechanism (docs/netbsd-infrastructure.md has one table per
 * row, from one `--compare` command):
 *
 * - lockless queues (netbsd_queue_scenarios.ts): `pcq-ifqueue`, `atomic-lifo`;
 * - routing lookup (netbsd_route_scenarios.ts): `route-lookup`;
 * - kernel continuations (netbsd_kcont_scenarios.ts): `kcont-dispatch`;
 * - interface polling and receive livelock (netbsd_poll_scenarios.ts): `rx-livelock`;
 * - fast demux and lazy receive (netbsd_demux_scenarios.ts): `rx-demux`;
 * - optional syncache (netbsd_syn_scenarios.ts): `syn-flood`;
 * - virtual network stacks (netbsd_brane_scenarios.ts): `branes`;
 * - nexthop cache against cloned routes (netbsd_nexthop_scenarios.ts): `nexthop-cache`.
 * @module
 */
import type { Scenario } from "../core/scenario.ts";
import { atomicLifo, pcqIfqueue } from "./netbsd_queue_scenarios.ts";
import { routeLookup } from "./netbsd_route_scenarios.ts";
import { kcontDispatch } from "./netbsd_kcont_scenarios.ts";
import { rxLivelock } from "./netbsd_poll_scenarios.ts";
import { rxDemux } from "./netbsd_demux_scenarios.ts";
import { synFlood } from "./netbsd_syn_scenarios.ts";
import { branes } from "./netbsd_brane_scenarios.ts";
import { nexthopCache } from "./netbsd_nexthop_scenarios.ts";

export { atomicLifo, pcqIfqueue } from "./netbsd_queue_scenarios.ts";
export { routeLookup } from "./netbsd_route_scenarios.ts";
export { kcontDispatch } from "./netbsd_kcont_scenarios.ts";
export { rxLivelock } from "./netbsd_poll_scenarios.ts";
export { rxDemux } from "./netbsd_demux_scenarios.ts";
export { synFlood } from "./netbsd_syn_scenarios.ts";
export { branes } from "./netbsd_brane_scenarios.ts";
export { nexthopCache } from "./netbsd_nexthop_scenarios.ts";

/** Every NetBSD infrastructure scenario, in the order of the document's rows. */
export const NETBSD_INFRA_SCENARIOS: readonly Scenario[] = [
  pcqIfqueue,
  atomicLifo,
  routeLookup,
  kcontDispatch,
  rxLivelock,
  rxDemux,
  synFlood,
  branes,
  nexthopCache,
];
