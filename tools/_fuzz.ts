/**
 * The trace fuzzer's cases: damage a recorded trace in one of the ways files
 * get damaged (or crafted), then read it the ways the commands do and
 * classify what happened. Used by `deno task fuzz` (tools/fuzz.ts) and, small,
 * by the tests.
 *
 * Outcomes: "ok" (read to the end), "rejected" (a TraceError or other input
 * error: exit status 2), "crash" (any other exception: exit status 3, a
 * bug), "undetected" (bytes under a checksum changed and the trace still
 * read as valid). Hangs are caught by the driver's watchdog.
 * @module
 */
import { Prng } from "../core/prng.ts";
import { TOOL } from "../core/version.ts";
import {
  BLOCK_CRC_AT,
  BLOCK_HEADER_BYTES,
  canonicalJson,
  crc32c,
  getU32,
  getU64,
  PREFIX_BYTES,
  putU32,
} from "../format/format.ts";
import { eventToNdjson } from "../format/json.ts";
import { TraceWriter } from "../recorder/mod.ts";
import { foldReader, TraceReader } from "../replay/mod.ts";
import { runScenario, SCENARIOS } from "../drivers/mod.ts";
import { classify } from "../cli/main.ts";
import { EventRecord } from "../core/event.ts";
import { FIELDS_MAX } from "../core/schema.ts";

/** The kinds of damage, each drawn equally often. */
export const MUTATIONS = [
  "bit-flip",
  "byte-run",
  "truncate",
  "header-edit",
  "header-edit-recrc",
  "block-swap",
  "block-dup",
  "block-delete",
  "append-garbage",
  "zero-sector",
  "block-edit-recrc",
  "event-edit-reencoded",
] as const;
/** One kind of damage. */
export type Mutation = typeof MUTATIONS[number];

/** Damage that leaves every checksum valid: such a trace may legitimately read as valid. */
const CHECKSUMMED: ReadonlySet<Mutation> = new Set(["header-edit-recrc", "block-edit-recrc", "event-edit-reencoded"]);

/** What one case did. */
export type Outcome = "ok" | "rejected" | "crash" | "undetected";

/** Counts per mutation and outcome, and the first failures in detail. */
export interface FuzzReport {
  cases: number;
  /** mutation -> outcome -> count. */
  counts: Record<string, Record<Outcome, number>>;
  /** Salvaged (recovered) traces written and read back. */
  salvaged: number;
  /** The first failing cases (crash or undetected), to reproduce with --seed. */
  failures: { case: number; mutation: Mutation; outcome: Outcome; message: string }[];
}

const FAILURES_KEPT = 20;

/** Small traces of every scenario (default and random schedules), the fuzzer's inputs. */
export function baseTraces(): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const s of SCENARIOS) {
    for (const strategy of ["none", "random"]) {
      const overrides = { "sim.eventsMax": "4000", "checkpoint.every": "256", "sched.strategy": strategy };
      const probe = runScenario({ scenario: s.name, seed: 1, overrides });
      const w = TraceWriter.memory(
        { tool: TOOL, scenario: s.name, seed: 1, cpus: Number(probe.config.cpus), config: probe.config, inputs: [] },
        { blockPayloadBytes: 8192 },
      );
      runScenario({ scenario: s.name, seed: 1, overrides, sinks: [w] });
      w.close();
      out.push(w.bytes().slice());
    }
  }
  return out;
}

/** Block extents (start, end) of a well-formed trace, from the block headers. */
function blocksOf(b: Uint8Array): { start: number; end: number }[] {
  const dataStart = PREFIX_BYTES + getU32(b, 12);
  const footer = getU64(b, b.length - 16);
  const out: { start: number; end: number }[] = [];
  for (let at = dataStart; at + BLOCK_HEADER_BYTES <= footer;) {
    const end = at + BLOCK_HEADER_BYTES + getU32(b, at + 4);
    out.push({ start: at, end });
    at = end;
  }
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Odd values a crafted header might carry. */
const ODD_VALUES: unknown[] = [
  -1,
  0,
  1.5,
  2e300,
  Number.MAX_SAFE_INTEGER,
  "",
  "0x2",
  "x".repeat(300),
  null,
  true,
  [],
  { a: 1 },
];

/** Applies `m` to a copy of `base`. */
export function mutate(base: Uint8Array, m: Mutation, rng: Prng): Uint8Array {
  const pick = (n: number) => rng.below(Math.max(1, n));
  const b = base.slice();
  const blocks = blocksOf(base);
  const headerLen = getU32(base, 12);
  switch (m) {
    case "bit-flip":
      for (let k = 1 + pick(4); k > 0; k--) {
        const i = pick(b.length);
        b[i] ^= 1 << pick(8);
      }
      return b;
    case "byte-run": {
      const i = pick(b.length), n = 1 + pick(64);
      for (let k = i; k < Math.min(b.length, i + n); k++) b[k] = pick(256);
      return b;
    }
    case "truncate":
      return b.subarray(0, pick(b.length));
    case "header-edit": {
      const i = PREFIX_BYTES + pick(headerLen);
      b[i] = b[i] === 0x31 ? 0x32 : 0x31; // a digit, as a hand edit would
      return b;
    }
    case "header-edit-recrc": {
      const h = JSON.parse(new TextDecoder().decode(base.subarray(PREFIX_BYTES, PREFIX_BYTES + headerLen)));
      const keys = Object.keys(h.config);
      const v = ODD_VALUES[pick(ODD_VALUES.length)];
      switch (pick(6)) {
        case 0:
          h.config[keys[pick(keys.length)]] = v;
          break;
        case 1:
          delete h.config[keys[pick(keys.length)]];
          break;
        case 2:
          h.seed = v;
          break;
        case 3:
          h.cpus = v;
          break;
        case 4:
          h.scenario = v;
          break;
        default:
          h[["formatVersion", "tool", "inputs", "layout", "extra"][pick(5)]] = v;
      }
      const json = new TextEncoder().encode(canonicalJson(h));
      const prefix = base.slice(0, PREFIX_BYTES);
      putU32(prefix, 12, json.length);
      putU32(prefix, 16, crc32c(json, crc32c(prefix, 0, 8, 16)));
      return concat([prefix, json, base.subarray(PREFIX_BYTES + headerLen)]);
    }
    case "block-swap":
    case "block-dup":
    case "block-delete": {
      if (blocks.length < 2) return mutate(base, "bit-flip", rng);
      const i = pick(blocks.length);
      let j = pick(blocks.length - 1);
      if (j >= i) j++;
      const parts = blocks.map((x) => base.subarray(x.start, x.end));
      if (m === "block-swap") [parts[i], parts[j]] = [parts[j], parts[i]];
      else if (m === "block-dup") parts.splice(j, 0, parts[i]);
      else parts.splice(i, 1);
      // Keep the footer (now wrong) or drop it, as a hand-made file might.
      const tail = pick(2) === 0 ? base.subarray(blocks[blocks.length - 1].end) : new Uint8Array(0);
      return concat([base.subarray(0, blocks[0].start), ...parts, tail]);
    }
    case "append-garbage": {
      const g = new Uint8Array(1 + pick(4096));
      for (let k = 0; k < g.length; k++) g[k] = pick(256);
      return concat([b, g]);
    }
    case "zero-sector": {
      const at = pick(Math.ceil(b.length / 512)) * 512;
      b.fill(0, at, Math.min(b.length, at + 512));
      return b;
    }
    case "block-edit-recrc": {
      if (blocks.length === 0) return mutate(base, "bit-flip", rng);
      const x = blocks[pick(blocks.length)];
      const at = x.start + BLOCK_HEADER_BYTES + pick(x.end - x.start - BLOCK_HEADER_BYTES);
      b[at] ^= 1 << pick(8);
      // The block CRC covers the header bytes before it and the stored payload (docs/trace-format.md).
      const crcAt = x.start + BLOCK_CRC_AT;
      putU32(b, crcAt, crc32c(b, crc32c(b, 0, x.start, crcAt), x.start + BLOCK_HEADER_BYTES, x.end));
      return b;
    }
    case "event-edit-reencoded":
      return reencoded(base, rng);
  }
}

/** The trace with one event changed, written again by the writer: every checksum valid, the content wrong. */
function reencoded(base: Uint8Array, rng: Prng): Uint8Array {
  const r = TraceReader.fromBytes(base);
  const n = r.eventCount ?? 0;
  for (let attempt = 0; attempt < 8; attempt++) {
    const target = rng.below(Math.max(1, n));
    const field = rng.below(FIELDS_MAX + 2);
    const value = [0, 1, 2, 7, 20, 255, 65535, 1e9][rng.below(8)];
    const w = TraceWriter.memory(r.header, { blockPayloadBytes: 8192 });
    const copy = new EventRecord();
    try {
      r.forEach((e) => {
        if (e.index !== target) return w.onEvent(e);
        copy.index = e.index;
        copy.tNs = e.tNs;
        copy.cpu = e.cpu;
        copy.thread = field === FIELDS_MAX ? value : e.thread;
        copy.kind = e.kind;
        copy.text = e.text;
        copy.fields.set(e.fields);
        if (field < FIELDS_MAX) copy.fields[field] = value;
        if (field === FIELDS_MAX + 1) copy.cpu = value & 3;
        w.onEvent(copy);
      });
      w.close();
      return w.bytes().slice();
    } catch {
      // The writer refused the edit (out of a field's range): draw another.
    }
  }
  return base.slice();
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Reads `bytes` the ways the commands do: strict fold (replay --no-rerun), every event as JSON (export). */
function readAll(bytes: Uint8Array, json: boolean): void {
  const r = TraceReader.fromBytes(bytes);
  foldReader(r);
  if (json) r.forEach((e) => void eventToNdjson(e, r));
}

/** What `recover` does, in memory: whole events before the damage into a sealed trace, then read back strictly. */
function salvage(bytes: Uint8Array): boolean {
  const r = TraceReader.fromBytes(bytes, { recover: true });
  let limit = Number.MAX_SAFE_INTEGER;
  for (;;) {
    const w = TraceWriter.memory(r.header);
    let refused = -1;
    for (const e of r.events()) {
      if (e.index >= limit) break;
      try {
        w.onEvent(e);
      } catch {
        refused = e.index;
        break;
      }
    }
    if (refused >= 0) {
      limit = refused;
      continue;
    }
    w.close();
    const out = TraceReader.fromBytes(w.bytes());
    if (!out.hasFooter) throw new Error("fuzz: a salvaged trace has no footer");
    out.scan();
    try {
      foldReader(out); // the state may still refuse content that was wrong before the damage
    } catch (err) {
      if (classify(err) !== "input") throw err;
    }
    return true;
  }
}

/** Runs `n` cases from `seed`; `onCase` is called before each (the driver's watchdog). */
export function fuzz(n: number, seed: number, onCase?: (i: number) => void): FuzzReport {
  const bases = baseTraces();
  const rng = new Prng(seed);
  const report: FuzzReport = { cases: 0, counts: {}, salvaged: 0, failures: [] };
  for (const m of MUTATIONS) report.counts[m] = { ok: 0, rejected: 0, crash: 0, undetected: 0 };
  for (let i = 0; i < n; i++) {
    onCase?.(i);
    const m = MUTATIONS[rng.below(MUTATIONS.length)];
    const base = bases[rng.below(bases.length)];
    let outcome: Outcome = "ok";
    let message = "";
    let bytes = base;
    try {
      bytes = mutate(base, m, rng);
      readAll(bytes, i % 8 === 0);
      if (!CHECKSUMMED.has(m) && !sameBytes(bytes, base)) {
        outcome = "undetected";
        message = "damaged bytes read as a valid trace";
      }
    } catch (err) {
      if (classify(err) === "input") outcome = "rejected";
      else {
        outcome = "crash";
        message = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
      }
    }
    if (outcome === "rejected") {
      try {
        if (salvage(bytes)) report.salvaged++;
      } catch (err) {
        if (classify(err) !== "input") {
          outcome = "crash";
          message = `recover: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`;
        }
      }
    }
    report.counts[m][outcome]++;
    report.cases++;
    if ((outcome === "crash" || outcome === "undetected") && report.failures.length < FAILURES_KEPT) {
      report.failures.push({ case: i, mutation: m, outcome, message });
    }
  }
  return report;
}

/** Crashes plus undetected damage: what makes the task fail. */
export function fuzzFailures(r: FuzzReport): number {
  return Object.values(r.counts).reduce((a, c) => a + c.crash + c.undetected, 0);
}
