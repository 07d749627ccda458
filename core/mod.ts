/**
 * The simulated machine and kernel: everything a scenario or a kernel model
 * builds on. `core/` imports nothing else of lockstep's.
 *
 * {@link Machine} (machine.ts) composes its parts, each in its own file:
 * machine_base.ts (shared state, the one emit path, the effects kernel code
 * yields), sched.ts (run queues, preemption, quantum, stealing, decisions),
 * locks.ts (mutexes, rwlocks), sleepq.ts (sleep/wakeup), intr.ts (hard and
 * soft interrupts), refcount.ts, timers.ts and deadlock.ts. Detectors and
 * runners subscribe to `m.hooks` (hooks.ts); several may subscribe to each.
 * Sleeping primitives built on the effects (msleep, `struct cond`, condition
 * variables cv_wait/cv_signal/cv_broadcast) are in sync.ts. Enumeration
 * values (LOCK_TYPE, THREAD_STATE, ...) are derived from the schema's ENUMS.
 *
 * @example
 * ```ts
 * import { COST_KEYS, Machine, MACHINE_KEYS, resolveConfig, taskAdd, taskqCreate, taskSet } from "./mod.ts";
 * const m = new Machine({ config: resolveConfig([MACHINE_KEYS, COST_KEYS], {}), seed: 1 });
 * const tq = taskqCreate(m, "softnet0", 1);
 * const t = taskSet(m, "work", function* () { yield m.spend(500); });
 * m.spawn("producer", function* () { yield* taskAdd(m, tq, t); });
 * m.run();
 * ```
 * @module
 */
export {
  type DecisionFeed,
  type DecisionSource,
  EWOULDBLOCK,
  Machine,
  type MachineOptions,
  type MachinePlan,
  machinePlan,
  type MachineStats,
  OP,
  type RunResult,
  type SocketWalker,
  type SpawnOptions,
  type TimerTarget,
  type Violation,
} from "./machine.ts";
export { MachineBase } from "./machine_base.ts";
export { Hook, HOOK_SUBSCRIBERS_MAX, MachineHooks } from "./hooks.ts";
export {
  checkConfig,
  type CheckedConfig,
  checkValue,
  type Config,
  ConfigError,
  type ConfigValue,
  COST_KEYS,
  type KeyDef,
  type KeySet,
  MACHINE_KEYS,
  parseSoftintOrder,
  resolveConfig,
  SOFTINT_LEVELS,
} from "./config.ts";
export { type CostEntry, type CostName, COSTS, type Costs, defaultCosts } from "./cost.ts";
export { EventRecord, type EventSink } from "./event.ts";
export {
  BLOCK_WHY,
  type CamelCase,
  type Category,
  DECISION,
  type EnumName,
  ENUMS,
  type EnumValues,
  enumValues,
  type FieldDef,
  FIELDS_MAX,
  type FieldType,
  KIND,
  kindByName,
  type KindDef,
  kindDef,
  KINDS,
  LOCK_MODE,
  LOCK_TYPE,
  PROTO,
  SB_WHICH,
  SWITCH_REASON,
  THREAD_KIND,
  THREAD_STATE,
  UNSPLICE_REASON,
} from "./schema.ts";
export { Deque } from "./_array.ts";
export { Prng } from "./prng.ts";
export { Histogram } from "./histogram.ts";
export { DIGEST_PARTS, digestState, type DigestView, Fnv } from "./digest.ts";
export {
  Chan,
  Cpu,
  type Irq,
  type KCode,
  KObj,
  Lock,
  type LockWaiter,
  MODE,
  PRIO,
  RefObj,
  SoftInt,
  Task,
  Taskq,
  Thread,
  Timeout,
} from "./objects.ts";
export { taskAdd, taskDel, taskqBarrier, taskqCreate, taskqDelBarrier, type TaskqOptions, taskSet } from "./taskq.ts";
export { Timeouts } from "./timeout.ts";
export { Cond, condNew, condSignal, condWait, cvBroadcast, cvSignal, cvWait, msleep, WHY } from "./sync.ts";
export {
  type DetectorOptions,
  expectWakeup,
  type LockClass,
  LockOrderGraph,
  type Seen,
  streamCheck,
  streamEnd,
} from "./detect/mod.ts";
export {
  defineScenario,
  isScenario,
  type Metrics,
  type ParamDecls,
  type ParamValue,
  type ParamValues,
  type Scenario,
  type ScenarioHooks,
  type ScenarioSpec,
} from "./scenario.ts";
export {
  checkScenarioConfig,
  execute,
  type ExecuteOptions,
  installDetectors,
  resolveScenarioConfig,
  type RunOutcome,
} from "./run.ts";
export * as net from "./net/mod.ts";
export * as linux from "./linux/mod.ts";
export * as netbsd from "./netbsd/mod.ts";
export { TOOL, VERSION } from "./version.ts";
