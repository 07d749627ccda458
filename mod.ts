/**
 * lockstep: a deterministic simulator of a multi-core kernel network stack.
 *
 * The public API, by concern (imports point one way, top to bottom):
 * - the simulated machine and kernel primitives (`core/`): {@link Machine},
 *   locks, sleep/wakeup, soft interrupts, task queues, timeouts, reference
 *   counts, the network stack (`net`), the NetBSD infrastructure models
 *   (`netbsd`: pcq, atomic queues, ptree and radix, continuations,
 *   workqueue, branes), the detectors, the event schema, the cost model; {@link defineScenario} to write a scenario and
 *   {@link execute} to run one;
 * - built-in scenarios and devices (`drivers/`): {@link runScenario} by name,
 *   {@link SCENARIOS}, `devices` (NICs, hosts, RSS);
 * - the trace file (`recorder/` writes with {@link TraceWriter}; the format
 *   itself is `format/`);
 * - replay (`replay/`): {@link TraceReader}, {@link replayFile},
 *   {@link checkTrace}, {@link rerunTrace} (handed a {@link ScenarioResolver}),
 *   {@link stateAt}.
 *
 * @example
 * ```ts
 * import { checkScenarioConfig, defineScenario, execute, replayFile, TOOL, TraceWriter } from "./mod.ts";
 * const mine = defineScenario({
 *   name: "mine",
 *   doc: "two threads share a mutex",
 *   params: { "mine.holdNs": { default: 1000, min: 0, max: 1e6, doc: "time held" } },
 *   setup(m, p) {
 *     const mtx = m.newLock("mine_mtx", "adaptive");
 *     for (const name of ["a", "b"]) {
 *       m.spawn(name, function* () {
 *         yield m.lock(mtx);
 *         yield m.spend(p["mine.holdNs"]);
 *         m.unlock(mtx);
 *       });
 *     }
 *   },
 * });
 * const config = checkScenarioConfig(mine, { "mine.holdNs": 500 }).config;
 * const w = TraceWriter.create("runs/mine-1.lstrace", {
 *   tool: TOOL, scenario: mine.name, seed: 1, cpus: Number(config.cpus), config, inputs: [],
 * });
 * execute(mine, { seed: 1, config, sinks: [w] });
 * w.close();
 * replayFile("runs/mine-1.lstrace", { resolve: () => mine }).rerun; // "identical"
 * ```
 * @module
 */
export * from "./core/mod.ts";
export { DEFAULT_SCENARIO, findScenario, type RunOptions, runScenario, SCENARIOS } from "./drivers/mod.ts";
export * as devices from "./drivers/devices.ts";
export { TraceWriter, type TraceWriterOptions, type WriterState } from "./recorder/writer.ts";
export { ThreadedTraceWriter, type ThreadedTraceWriterOptions } from "./recorder/threaded.ts";
export type { JsonValue, ScenarioModuleRef, TraceHeader } from "./format/format.ts";
export {
  type CheckResult,
  checkTrace,
  type DigestMismatch,
  type Divergence,
  type FoldOptions,
  type LockState,
  type ReadAheadOptions,
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
  warmReadAhead,
} from "./replay/mod.ts";
export type { BlockCursor, CheckpointPosition, DecodedBlock, DecoderState, EventIterator } from "./replay/reader.ts";
