/**
 * The shapes of the viewer API's answers (the run list, a run's detail) and
 * the event schema as JSON, derived from core/schema.ts: declared once here,
 * used by the queries (replay/query.ts), the server and the page
 * (viewer/ui, which imports these types).
 *
 * @module
 */
import { ENUMS, kindByName, KINDS } from "../core/schema.ts";
import type { TraceHeader } from "../format/format.ts";
import type { ThreadInfo, ViolationInfo } from "./_query_index.ts";
import type { SkippedName } from "./_query_runs.ts";

/**
 * How a run looks: "unknown" when a large run has not been indexed yet (its
 * violations are then null), "indexing" while a background index is built.
 */
export type RunStatus = "clean" | "violations" | "damaged" | "unknown" | "indexing";

/** One entry of the run list. */
export interface RunListing {
  id: string;
  scenario: string | null;
  seed: number | null;
  cpus: number | null;
  size: number;
  events: number | null;
  simNs: number | null;
  status: RunStatus;
  violations: number | null;
  indexed: boolean;
  /** While indexing: events read so far, of `events`. */
  progress?: { done: number; of: number };
  error?: string;
}

/** The run list: runs, and the traces or folders found that cannot be opened, with why. */
export interface RunList {
  runs: RunListing[];
  skipped: SkippedName[];
}

/** A run's header, figures, violations and names. */
export interface RunDetail {
  id: string;
  header: TraceHeader;
  size: number;
  events: number;
  tFirst: number;
  simNs: number;
  hasFooter: boolean;
  status: RunStatus;
  damage: string | null;
  endReason: string | null;
  violations: ViolationInfo[];
  /** Figures named and computed as the CLI's run summary (drivers/run.ts machineMetrics), from the events. */
  summary: {
    kinds: Record<string, number>;
    /**
     * Share of the run each CPU had a thread on it (0..1), from the switch
     * events. Not the CLI's `cpuBusyPct`, which adds up the work charged to
     * the CPU, including work that runs past a time-limited run's end (equal
     * on runs that end by event limit; up to ~1 point higher on splice-refrace).
     */
    cpuBusy: number[];
    /** Switches to a thread (the CLI's `contextSwitches`; switches to idle are not counted). */
    contextSwitches: number;
    wakeups: number;
    crossCpuWakeups: number;
    /** `lock-wait` events per lock class (the CLI's `lockContention`). */
    lockContention: Record<string, number>;
    lockWaits: number;
    lockAcquires: number;
    threads: number;
    locks: number;
  };
  threads: ThreadInfo[];
  locks: { id: number; cls: string; type: string }[];
  /**
   * Present while the run is indexed in the background: this detail covers
   * only the first events (`events` of `eventsTotal`); `done` of `of` says how
   * far the whole index is.
   */
  preview?: { eventsTotal: number; done: number; of: number };
}

/** The event schema as the viewer's legend and filters use it. */
export interface SchemaJson {
  categories: string[];
  kinds: { id: number; name: string; cat: string; fields: { name: string; type: string }[]; doc: string }[];
  enums: Record<string, readonly string[]>;
}

/**
 * The schema (kinds, categories, enums) as JSON, derived from core/schema.ts.
 *
 * @example
 * ```ts
 * import { schemaJson } from "./query.ts";
 * schemaJson().kinds.find((k) => k.name === "switch")?.cat; // "sched"
 * ```
 */
export function schemaJson(): SchemaJson {
  return {
    categories: [...new Set(KINDS.map((k) => k.cat))],
    kinds: KINDS.map((k) => ({
      id: k.id,
      name: k.name,
      cat: k.cat,
      fields: k.fields.map((f) => ({ ...f })),
      doc: k.doc,
    })),
    enums: ENUMS,
  };
}

/** The id of the kind called `name`, or undefined. */
export function kindId(name: string): number | undefined {
  return kindByName(name)?.id;
}
