/**
 * The scenario registry: every named workload `deno task run` accepts.
 * @module
 */
import { barrierNetlock, lostWakeup, softintStarve, softintUnsafe } from "./detect_scenarios.ts";
import { lockAbba, mutexStorm, taskqBarrierSelf } from "./lock_scenarios.ts";
import { NETBSD_INFRA_SCENARIOS } from "./netbsd_infra_scenarios.ts";
import type { Scenario } from "../core/scenario.ts";
import { spliceRefrace, spliceRefraceTcp, spliceTcp, spliceUdp } from "./splice_scenarios.ts";
import { taskqDemo } from "./taskq_demo.ts";
import { linuxNetperf, linuxSpliceBroken, linuxSpliceRace } from "./linux_scenarios.ts";

/** All scenarios, in the order `deno task scenarios` lists them. */
export const SCENARIOS: readonly Scenario[] = [
  taskqDemo,
  lockAbba,
  taskqBarrierSelf,
  mutexStorm,
  barrierNetlock,
  softintUnsafe,
  lostWakeup,
  softintStarve,
  spliceTcp,
  spliceUdp,
  spliceRefrace,
  spliceRefraceTcp,
  linuxNetperf,
  linuxSpliceRace,
  linuxSpliceBroken,
  ...NETBSD_INFRA_SCENARIOS,
];
