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
export { execute, type ExecuteOptions, resolveScenarioConfig, type RunOutcome } from "./core/run.ts";
export type { Metrics, Scenario, ScenarioHooks } from "./core/scenario.ts";
export { DEFAULT_SCENARIO, findScenario, type RunOptions, runScenario, SCENARIOS } from "./drivers/mod.ts";
export { TraceWriter, type TraceWriterOptions } from "./recorder/writer.ts";
export type { JsonValue, TraceHeader } from "./format/format.ts";
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
  type ReplayOptions,
  type ReplayResult,
  type RerunOptions,
  rerunTrace,
  type ScenarioResolver,
  type SocketState,
  stateAt,
  type StateJson,
  type StateSnapshot,
  type ThreadState,
  TraceError,
  type TraceErrorCode,
  TraceReader,
} from "./replay/mod.ts";
export type { BlockCursor, CheckpointPosition, DecodedBlock, EventIterator } from "./replay/reader.ts";
