/**
 * lockstep: a deterministic simulator of a multi-core kernel network stack.
 *
 * The public API, by concern:
 * - the simulated machine and kernel primitives (`core/`): {@link Machine},
 *   task queues, timeouts, locks, the event schema, the cost model;
 * - scenarios and running them (`drivers/`): {@link runScenario},
 *   {@link SCENARIOS};
 * - the trace file (`recorder/`): {@link TraceWriter};
 * - replay (`replay/`): {@link TraceReader}, {@link replayFile},
 *   {@link checkTrace}, {@link rerunTrace}, {@link stateAt}.
 *
 * @example
 * ```ts
 * import { replayFile, runScenario, TraceWriter } from "./mod.ts";
 * const w = TraceWriter.create("runs/demo.lstrace", {
 *   tool: "lockstep", scenario: "taskq-demo", seed: 1, cpus: 4, config: {}, inputs: [],
 * });
 * runScenario({ scenario: "taskq-demo", seed: 1, sinks: [w] });
 * w.close();
 * ```
 * @module
 */
export * from "./core/mod.ts";
export {
  DEFAULT_SCENARIO,
  findScenario,
  resolveScenarioConfig,
  type RunOptions,
  type RunOutcome,
  runScenario,
} from "./drivers/run.ts";
export type { Metrics, Scenario, ScenarioHooks } from "./drivers/scenario.ts";
export { SCENARIOS } from "./drivers/scenarios.ts";
export { TraceWriter, type TraceWriterOptions } from "./recorder/writer.ts";
export type { JsonValue, TraceHeader } from "./recorder/format.ts";
export {
  type CheckResult,
  checkTrace,
  type DigestMismatch,
  type Divergence,
  type FoldOptions,
  type LockState,
  RebuiltState,
  type RecordedViolation,
  replayFile,
  type ReplayResult,
  rerunTrace,
  type SocketState,
  stateAt,
  type StateJson,
  type ThreadState,
  TraceError,
  type TraceErrorCode,
  TraceReader,
} from "./replay/mod.ts";
export type { BlockCursor, CheckpointPosition, DecodedBlock, EventIterator } from "./replay/reader.ts";
