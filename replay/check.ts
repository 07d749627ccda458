/**
 * Stage two of replay: fold every event of a trace into a {@link RebuiltState}
 * and check each checkpoint's digest against the rebuilt state's; collect the
 * recorded decisions (for re-execution) and violations on the way.
 *
 * @example
 * ```ts
 * import { checkTrace } from "./check.ts";
 * const r = checkTrace("runs/taskq-demo-1.lstrace");
 * r.mismatch === null; // every checkpoint agreed
 * ```
 * @module
 */
import type { DecisionFeed } from "../core/machine.ts";
import { DIGEST_PARTS } from "../core/digest.ts";
import { ENUMS, KIND } from "../core/schema.ts";
import { EventRecord } from "../core/event.ts";
import { TraceReader } from "./reader.ts";
import type { DecodedBlock } from "../format/decode.ts";
import { RebuiltState } from "./state.ts";
import { foldFailure } from "./_fold_error.ts";
import type { TraceHeader } from "../format/format.ts";

/** A checkpoint whose digest differs from the rebuilt state's. */
export interface DigestMismatch {
  /** Index of the checkpoint event. */
  readonly event: number;
  /** Parts that differ: sched, lock, task, ref, net. */
  readonly parts: string[];
}

/** A violation recorded in the trace. */
export interface RecordedViolation {
  /** Violation kind (ENUMS.violation). */
  readonly kind: string;
  /** Index of the violation event. */
  readonly event: number;
  /** The detector's explanation. */
  readonly message: string;
}

/** Result of folding and checking a whole trace. */
export interface CheckResult {
  /** The trace's header. */
  readonly header: TraceHeader;
  /** Events folded. */
  readonly events: number;
  /** Time of the last event, ns. */
  readonly simNs: number;
  /** Checkpoints whose digest was compared. */
  readonly digestsChecked: number;
  /** The first checkpoint that disagreed, or null. */
  readonly mismatch: DigestMismatch | null;
  /** The recorded non-default schedule decisions (for re-execution). */
  readonly decisions: DecisionFeed;
  /** Violations recorded in the trace. */
  readonly violations: RecordedViolation[];
  /** How the run ended (ENUMS.runEnd), "" when the trace has no run-end. */
  readonly endReason: string;
  /** The rebuilt state after the last event. */
  readonly state: RebuiltState;
}

/** Options of {@link checkTrace} and {@link foldReader}. */
export interface FoldOptions {
  /** Called every `every` events with the state (for seek snapshots). */
  /** Called with the state every `every` events (for seek snapshots). */
  readonly snapshot?: (s: RebuiltState) => void;
  /** Snapshot interval in events (0: none). */
  readonly every?: number;
}

/** Whether the five digest parts equal the checkpoint's fields 0..4. */
function sameDigest(d: readonly number[], f: Float64Array): boolean {
  return d[0] === f[0] && d[1] === f[1] && d[2] === f[2] && d[3] === f[3] && d[4] === f[4];
}

/** Folds a whole trace, checking every checkpoint digest. Throws TraceError on damage. */
export function checkTrace(path: string, opts: FoldOptions = {}): CheckResult {
  const r = TraceReader.open(path);
  try {
    return foldReader(r, opts);
  } finally {
    r.close();
  }
}

/** {@link checkTrace} over an open reader. */
export function foldReader(r: TraceReader, opts: FoldOptions = {}): CheckResult {
  const f = new TraceFold(r, opts);
  // Block by block: no iterator protocol or callback per event.
  r.forEachBlock((d) => f.block(d));
  return f.result();
}

/**
 * The fold of {@link foldReader}, handed whole decoded blocks in order by
 * whoever reads them: the fold alone, or a re-execution's comparison that
 * reads the same blocks (replay decodes the trace once). Throws TraceError
 * for an event the rebuilt state cannot apply.
 */
export class TraceFold {
  readonly #r: TraceReader;
  readonly #s: RebuiltState;
  readonly #snapshot: ((s: RebuiltState) => void) | undefined;
  readonly #every: number;
  readonly #seq: number[] = [];
  readonly #values: number[] = [];
  readonly #violations: RecordedViolation[] = [];
  #checked = 0;
  #mismatch: DigestMismatch | null = null;
  #endReason = "";
  /** The event being folded, for the error message (a captured `let` set per event would box it). */
  readonly #e = new EventRecord();

  constructor(r: TraceReader, opts: FoldOptions = {}) {
    this.#r = r;
    this.#s = new RebuiltState(r.header.cpus);
    this.#snapshot = opts.snapshot;
    this.#every = opts.every ?? 0;
  }

  /** Events folded so far. */
  get events(): number {
    return this.#s.index;
  }

  /** Folds the next block (blocks come in order, each once). */
  block(d: DecodedBlock): void {
    const s = this.#s, e = this.#e, every = this.#every;
    const kCheckpoint = KIND.checkpoint, kDecision = KIND.decision, kViolation = KIND.violation;
    const kRunEnd = KIND.runEnd;
    try {
      const n = d.count;
      for (let i = 0; i < n; i++) {
        d.fill(i, e);
        if (every > 0 && e.index % every === 0) this.#snapshot?.(s);
        const kind = e.kind;
        if (kind === kCheckpoint) {
          this.#checked++;
          const dg = s.digest();
          if (this.#mismatch === null && !sameDigest(dg, e.fields)) {
            this.#mismatch = { event: e.index, parts: DIGEST_PARTS.filter((_, i) => dg[i] !== e.fields[i]) };
          }
        } else if (kind === kDecision) {
          this.#seq.push(e.fields[3]);
          this.#values.push(e.fields[2]);
        } else if (kind === kViolation) {
          this.#violations.push({
            kind: ENUMS.violation[e.fields[0]] ?? "?",
            event: e.index,
            message: s.strings[e.fields[1]] ?? "",
          });
        } else if (kind === kRunEnd) {
          this.#endReason = ENUMS.runEnd[e.fields[0]] ?? "?";
        }
        s.apply(e);
      }
    } catch (err) {
      // The state's complaints get the event's block.
      throw foldFailure(err, this.#r, e.index);
    }
  }

  /** The result after the last block. */
  result(): CheckResult {
    const s = this.#s;
    return {
      header: this.#r.header,
      events: s.index,
      simNs: s.tNs,
      digestsChecked: this.#checked,
      mismatch: this.#mismatch,
      decisions: { seq: this.#seq, values: this.#values },
      violations: this.#violations,
      endReason: this.#endReason,
      state: s,
    };
  }
}
