/**
 * Read-path test helpers: deterministic bytes for the zstd tests, and the
 * parts of a fold's result that say what it saw.
 * @module
 */
import type { CheckResult } from "../replay/mod.ts";

/** Deterministic bytes that compress (runs and a counter), `n` long. */
export function sample(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    b[i] = (x >>> 24) < 64 ? x & 0xff : i & 0x1f;
  }
  return b;
}

/** The parts of a CheckResult that say what the fold saw (its state as JSON). */
export function seen(c: CheckResult) {
  return {
    header: c.header,
    events: c.events,
    simNs: c.simNs,
    digestsChecked: c.digestsChecked,
    mismatch: c.mismatch,
    decisions: c.decisions,
    violations: c.violations,
    endReason: c.endReason,
    state: c.state.toJSON(),
  };
}
