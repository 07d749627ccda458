/**
 * Replay: read a trace, rebuild the machine state from its events, check
 * every checkpoint digest, and re-execute the run with the current code to
 * catch behaviour changes. The viewer reads traces only through this module.
 *
 * @example
 * ```ts
 * import { replayFile } from "./mod.ts";
 * const r = replayFile("runs/taskq-demo-1.lstrace");
 * r.rerun; // "identical"
 * ```
 * @module
 */
export { readTraceHeader, TraceError, type TraceErrorCode, TraceReader } from "./reader.ts";
export {
  type CheckResult,
  checkTrace,
  type DigestMismatch,
  type FoldOptions,
  foldReader,
  type RecordedViolation,
} from "./check.ts";
export {
  type Divergence,
  type FoldAndRerun,
  foldAndRerun,
  type RerunOptions,
  rerunTrace,
  type ScenarioResolver,
} from "./rerun.ts";
export {
  type LockState,
  RebuiltState,
  type SocketState,
  type StateJson,
  type StateSnapshot,
  type ThreadState,
} from "./state.ts";
export { SEEK_SUFFIX, SNAPSHOT_EVERY, stateAt } from "./seek.ts";
export {
  READ_AHEAD_COLD_MIN_BYTES,
  READ_AHEAD_MIN_BYTES,
  type ReadAheadOptions,
  warmReadAhead,
} from "./_read_ahead.ts";
export { eventToJson, type StringLookup } from "../format/json.ts";
export type { TraceHeader } from "../format/format.ts";

import { checkTrace, type DigestMismatch } from "./check.ts";
import { type Divergence, foldAndRerun, type ScenarioResolver } from "./rerun.ts";

/** The `replay --json` result (shared/PRODUCT.md). */
export interface ReplayResult {
  /** The trace file. */
  file: string;
  /** Events in the trace. */
  events: number;
  /** Checkpoint digests compared with the rebuilt state. */
  digestsChecked: number;
  /** The first checkpoint that disagreed, or null. */
  digestMismatch: DigestMismatch | null;
  /** Outcome of the re-execution with the current code. */
  rerun: "identical" | "diverged" | "skipped";
  /** Where the re-execution first differed, or null. */
  divergence: Divergence | null;
  /** Violations recorded in the trace. */
  violations: { kind: string; event: number; message: string }[];
}

/** Options of {@link replayFile}. */
export interface ReplayOptions {
  /** Re-execute (default true); needs `resolve`. */
  readonly rerun?: boolean;
  /** Provides the scenario the header names, for the re-execution. */
  readonly resolve?: ScenarioResolver;
}

/** Checks a trace's integrity and digests, then (unless `rerun` is false) re-executes it. */
export function replayFile(path: string, opts: ReplayOptions = {}): ReplayResult {
  const rerun = opts.rerun !== false;
  if (rerun && opts.resolve === undefined) throw new TypeError("replayFile: re-execution needs a scenario resolver");
  // Re-execution folds as it compares: the trace is decoded once.
  const { check: c, divergence } = rerun
    ? foldAndRerun(path, opts.resolve!)
    : { check: checkTrace(path), divergence: null };
  return {
    file: path,
    events: c.events,
    digestsChecked: c.digestsChecked,
    digestMismatch: c.mismatch,
    rerun: !rerun ? "skipped" : divergence === null ? "identical" : "diverged",
    divergence,
    violations: c.violations,
  };
}
