/**
 * Trace codec benchmark: the `.lstrace` binary encoding against NDJSON on the
 * same events. Events are collected once into columns (outside the timed
 * part), then replayed through a reused record into each encoder; decoders
 * read the encoded bytes back into a reused record.
 *
 * Run it on a synthetic run and, optionally, on real scenario runs:
 *
 * ```sh
 * deno run --allow-read --allow-write --allow-env --allow-hrtime tools/bench_trace.ts [events] [scenario...]
 * ```
 *
 * @example
 * ```ts
 * import { benchTrace, syntheticRun } from "./bench_trace.ts";
 * const figures = await benchTrace(syntheticRun(100_000, 1), "synthetic");
 * console.log(figures.bytesPerEvent, figures.encodeEventsPerSec);
 * ```
 * @module
 */
import { EventRecord, type EventSink } from "../core/event.ts";
import { enumValue, FIELDS_MAX, KIND, kindByName, KINDS } from "../core/schema.ts";
import { Prng } from "../core/prng.ts";
import { eventToNdjson, type StringLookup } from "../format/json.ts";
import { TraceWriter } from "../recorder/writer.ts";
import { TraceReader } from "../replay/reader.ts";

/** Options of {@link benchTrace}. */
export interface BenchTraceOptions {
  /** Timed repetitions of each measurement; the best is kept (default 3). */
  readonly repeats?: number;
  /** CPU count written in the header (default: highest cpu seen + 1). */
  readonly cpus?: number;
  /** Print a table to stdout (default true). */
  readonly print?: boolean;
}

/**
 * Measures encode and decode speed and size of the binary format and of
 * NDJSON over the events `produce` emits. Returns the figures (events per
 * second, bytes per event and the binary/NDJSON ratios).
 *
 * @example
 * ```ts
 * import { benchTrace, syntheticRun } from "./bench_trace.ts";
 * const f = await benchTrace(syntheticRun(50_000, 7), "small", { print: false });
 * ```
 */
export async function benchTrace(
  produce: (sink: EventSink) => void,
  label: string,
  opts: BenchTraceOptions = {},
): Promise<Record<string, number>> {
  const repeats = opts.repeats ?? 3;
  const events = new CollectedEvents();
  produce(events);
  const n = events.length;
  if (n === 0) {
    throw new RangeError("benchTrace: the producer emitted no events");
  }
  const header = {
    tool: "lockstep bench",
    scenario: label,
    seed: 0,
    cpus: opts.cpus ?? events.cpuHi + 1,
    config: {},
    inputs: [],
  };

  const feed = best(repeats, () => events.replay({ onEvent() {} }));

  let bytes: Uint8Array = new Uint8Array(0);
  const encode = best(repeats, () => {
    const w = TraceWriter.memory(header);
    events.replay(w);
    w.close();
    bytes = w.bytes();
  });

  let check = 0;
  const decode = best(repeats, () => {
    let sum = 0;
    TraceReader.fromBytes(bytes).forEach((e) => {
      sum += e.fields[0];
    });
    check = sum;
  });
  const columns = best(repeats, () => {
    let sum = 0;
    TraceReader.fromBytes(bytes).forEachBlock((b) => {
      const f = b.fields;
      for (let i = 0; i < b.count; i++) sum += f[i * FIELDS_MAX];
    });
    if (sum !== check) {
      throw new Error("benchTrace: forEachBlock and forEach disagree");
    }
  });
  const iterate = best(repeats, () => {
    let sum = 0;
    for (const e of TraceReader.fromBytes(bytes).events()) sum += e.fields[0];
    if (sum !== check) {
      throw new Error("benchTrace: iterator and forEach disagree");
    }
  });

  let lines: string[] = [];
  const strings = events.strings;
  const ndEncode = best(repeats, () => {
    lines = new Array(n);
    let i = 0;
    events.replay({
      onEvent: (e) => void (lines[i++] = eventToNdjson(e, strings)),
    });
  });
  let ndBytes = 0;
  const encoder = new TextEncoder();
  for (let i = 0; i < n; i += 4096) {
    ndBytes += encoder.encode(lines.slice(i, i + 4096).join("\n") + "\n").length;
  }
  const ndDecode = best(repeats, () => parseNdjson(lines, strings));

  await Promise.resolve();
  const perSec = (ms: number): number => Math.round(n / (ms / 1000));
  const figures: Record<string, number> = {
    events: n,
    fileBytes: bytes.length,
    bytesPerEvent: bytes.length / n,
    feedEventsPerSec: perSec(feed),
    encodeEventsPerSec: perSec(encode),
    decodeEventsPerSec: perSec(decode),
    iterateEventsPerSec: perSec(iterate),
    columnsEventsPerSec: perSec(columns),
    ndjsonBytesPerEvent: ndBytes / n,
    ndjsonEncodeEventsPerSec: perSec(ndEncode),
    ndjsonDecodeEventsPerSec: perSec(ndDecode),
    sizeRatio: ndBytes / bytes.length,
    encodeSpeedup: ndEncode / encode,
    decodeSpeedup: ndDecode / decode,
  };
  if (opts.print ?? true) printFigures(label, figures);
  return figures;
}

/** Milliseconds of the fastest of `repeats` runs of `fn`. */
function best(repeats: number, fn: () => void): number {
  let min = Infinity;
  for (let r = 0; r < repeats; r++) {
    const t0 = performance.now();
    fn();
    min = Math.min(min, performance.now() - t0);
  }
  return Math.max(min, 1e-3);
}

/** NDJSON decode into a reused record: parse, then map names, labels and strings back to numbers. */
function parseNdjson(
  lines: string[],
  strings: StringLookup & { idOf: Map<string, number> },
): void {
  const rec = new EventRecord();
  const enumMaps = new Map<string, Map<string, number>>();
  for (const k of KINDS) {
    for (const f of k.fields) {
      if (!f.type.startsWith("enum:")) continue;
      const name = f.type.slice(5) as Parameters<typeof enumValue>[0];
      if (!enumMaps.has(name)) enumMaps.set(name, new Map());
    }
  }
  for (const line of lines) {
    const o = JSON.parse(line);
    const def = kindByName(o.kind)!;
    rec.index = o.index;
    rec.tNs = o.tNs;
    rec.cpu = o.cpu;
    rec.thread = o.thread;
    rec.kind = def.id;
    rec.text = o.text ?? "";
    const fields = def.fields;
    for (let j = 0; j < FIELDS_MAX; j++) {
      if (j >= fields.length) {
        rec.fields[j] = 0;
        continue;
      }
      const v = o.fields[fields[j].name];
      if (typeof v === "number") rec.fields[j] = v;
      else if (fields[j].type === "str") {
        rec.fields[j] = strings.idOf.get(v) ?? -1;
      } else {rec.fields[j] = enumValue(
          fields[j].type.slice(5) as Parameters<typeof enumValue>[0],
          v,
        );}
    }
  }
}

function printFigures(label: string, f: Record<string, number>): void {
  const m = (v: number): string => (v / 1e6).toFixed(2) + " M/s";
  console.log(`trace bench: ${label}, ${f.events} events`);
  console.log(
    `  binary  ${f.bytesPerEvent.toFixed(2)} B/event  encode ${m(f.encodeEventsPerSec)}  decode ${
      m(f.decodeEventsPerSec)
    } (forEach), ${m(f.iterateEventsPerSec)} (iterator), ${m(f.columnsEventsPerSec)} (forEachBlock)`,
  );
  console.log(
    `  ndjson  ${f.ndjsonBytesPerEvent.toFixed(2)} B/event  encode ${m(f.ndjsonEncodeEventsPerSec)}  decode ${
      m(f.ndjsonDecodeEventsPerSec)
    }`,
  );
  console.log(
    `  ratios  size ${f.sizeRatio.toFixed(1)}x smaller  encode ${f.encodeSpeedup.toFixed(1)}x  decode ${
      f.decodeSpeedup.toFixed(1)
    }x faster  (feeding alone: ${m(f.feedEventsPerSec)})`,
  );
}

/** Events held as columns, replayed through one reused record. */
class CollectedEvents implements EventSink {
  length = 0;
  cpuHi = 0;
  #tNs = new Float64Array(1 << 16);
  #cpu = new Uint16Array(1 << 16);
  #thread = new Float64Array(1 << 16);
  #kind = new Uint8Array(1 << 16);
  #fields = new Float64Array((1 << 16) * FIELDS_MAX);
  readonly #texts = new Map<number, string>();
  /** Strings by id, and ids by text (for the NDJSON decoder). */
  readonly strings: StringLookup & { idOf: Map<string, number> } = (() => {
    const byId = new Map<number, string>();
    const idOf = new Map<string, number>();
    return {
      idOf,
      string: (id: number) => byId.get(id),
      define(id: number, text: string) {
        byId.set(id, text);
        idOf.set(text, id);
      },
    };
  })();

  onEvent(e: EventRecord): void {
    const i = this.length;
    if (i === this.#kind.length) this.#grow();
    this.#tNs[i] = e.tNs;
    this.#cpu[i] = e.cpu;
    this.#thread[i] = e.thread;
    this.#kind[i] = e.kind;
    this.#fields.set(e.fields, i * FIELDS_MAX);
    if (e.kind === KIND.strDef) {
      this.#texts.set(i, e.text);
      (this.strings as unknown as { define(id: number, t: string): void })
        .define(e.fields[0], e.text);
    }
    if (e.cpu > this.cpuHi) this.cpuHi = e.cpu;
    this.length++;
  }

  replay(sink: EventSink): void {
    const rec = new EventRecord();
    const f = this.#fields;
    for (let i = 0; i < this.length; i++) {
      rec.index = i;
      rec.tNs = this.#tNs[i];
      rec.cpu = this.#cpu[i];
      rec.thread = this.#thread[i];
      const kind = this.#kind[i];
      rec.kind = kind;
      const at = i * FIELDS_MAX;
      for (let j = 0; j < FIELDS_MAX; j++) rec.fields[j] = f[at + j];
      rec.text = kind === KIND.strDef ? this.#texts.get(i)! : "";
      sink.onEvent(rec);
    }
    sink.onEnd?.();
  }

  #grow(): void {
    const cap = this.#kind.length * 2;
    const f64 = (a: Float64Array, n: number) => {
      const b = new Float64Array(n);
      b.set(a);
      return b;
    };
    this.#tNs = f64(this.#tNs, cap);
    this.#thread = f64(this.#thread, cap);
    this.#fields = f64(this.#fields, cap * FIELDS_MAX);
    const cpu = new Uint16Array(cap);
    cpu.set(this.#cpu);
    this.#cpu = cpu;
    const kind = new Uint8Array(cap);
    kind.set(this.#kind);
    this.#kind = kind;
  }
}

/**
 * A producer of a realistic synthetic run: 4 CPUs, 12 threads, 48 locks and
 * a few task queues; mostly lock acquire/release pairs, switches, wakeups and
 * task activity with small time steps, some packet and softint traffic,
 * occasional str-defs and a checkpoint every 4096 events.
 *
 * @example
 * ```ts
 * import { syntheticRun } from "./bench_trace.ts";
 * syntheticRun(1000, 1)({ onEvent(e) { console.log(e.kind); } });
 * ```
 */
export function syntheticRun(
  events: number,
  seed: number,
): (sink: EventSink) => void {
  return (sink) => new SyntheticMachine(sink, seed).run(events);
}

const CPUS = 4;
const THREADS = 12;
const LOCKS = 48;
const TASKQS = 4;

class SyntheticMachine {
  readonly #sink: EventSink;
  readonly #r: Prng;
  readonly #e = new EventRecord();
  #t = 1_000_000;
  #cpu = 0;
  readonly #running = new Array<number>(CPUS).fill(0);
  readonly #held: number[][] = Array.from({ length: CPUS }, () => []);
  #strings = 0;
  #pkt = 1;
  #seq = 0;

  constructor(sink: EventSink, seed: number) {
    this.#sink = sink;
    this.#r = new Prng(seed);
  }

  run(events: number): void {
    this.#setup();
    while (this.#e.index < events - 1) this.#step();
    this.#emit(KIND.runEnd, [enumValue("runEnd", "time-limit"), 0]);
    this.#sink.onEnd?.();
  }

  #setup(): void {
    for (let th = 1; th <= THREADS; th++) {
      const name = this.#str(`thread${th}`);
      this.#emit(KIND.threadCreate, [
        th,
        name,
        this.#r.below(4),
        th % 3 === 0 ? th % CPUS : -1,
        th % CPUS,
        0,
      ]);
    }
    const classes: number[] = [];
    for (let l = 0; l < LOCKS; l++) {
      if (l < 12) classes.push(this.#str(`lock class ${l}`));
      this.#emit(KIND.lockInit, [
        100 + l * 3,
        classes[l % 12],
        this.#r.below(4),
      ]);
    }
    for (let q = 0; q < TASKQS; q++) {
      this.#emit(KIND.taskqCreate, [
        900 + q,
        this.#str(`taskq${q}`),
        1 + (q & 1),
      ]);
    }
    for (let c = 0; c < CPUS; c++) this.#running[c] = c + 1;
  }

  #step(): void {
    const r = this.#r;
    // Time: many events at the same instant, most steps short, a few long idle gaps.
    const d = r.below(100);
    this.#t += d < 35 ? 0 : d < 80 ? 1 + r.below(120) : d < 97 ? 100 + r.below(2000) : r.below(200_000);
    if (r.below(100) < 30) this.#cpu = r.below(CPUS);
    const cpu = this.#cpu;
    const held = this.#held[cpu];
    const pick = r.below(100);
    if (this.#e.index % 4096 === 4095) {
      this.#emit(KIND.checkpoint, [
        r.next32(),
        r.next32(),
        r.next32(),
        r.next32(),
        r.next32(),
        ++this.#seq,
      ]);
    } else if (pick < 26 && held.length < 3) {
      const lock = 100 + r.below(LOCKS) * 3;
      held.push(lock);
      const wait = r.below(10) === 0 ? r.below(5000) : 0;
      this.#emit(KIND.lockAcquire, [
        lock,
        r.below(5) === 0 ? 1 : 0,
        this.#running[cpu],
        wait,
      ]);
    } else if (pick < 52 && held.length > 0) {
      this.#emit(KIND.lockRelease, [held.pop()!, 0]);
    } else if (pick < 62) {
      const to = 1 + r.below(THREADS);
      this.#emit(KIND.switch, [this.#running[cpu], to, r.below(5)]);
      this.#running[cpu] = to;
    } else if (pick < 70) {
      this.#emit(KIND.wake, [
        1 + r.below(THREADS),
        r.below(CPUS),
        100 + r.below(LOCKS) * 3,
      ]);
    } else if (pick < 78) {
      this.#emit(KIND.taskAdd, [
        900 + r.below(TASKQS),
        2000 + r.below(64),
        r.below(4) === 0 ? 0 : 1,
      ]);
    } else if (pick < 83) {
      this.#emit(KIND.taskRun, [900 + r.below(TASKQS), 2000 + r.below(64)]);
    } else if (pick < 87) {
      this.#emit(KIND.taskDone, [900 + r.below(TASKQS), 2000 + r.below(64)]);
    } else if (pick < 90) {
      this.#emit(KIND.block, [
        100 + r.below(LOCKS) * 3,
        r.below(4),
        r.below(3) === 0 ? 10_000 : 0,
      ]);
    } else if (pick < 94) {
      this.#emit(KIND.softintSchedule, [
        50 + r.below(3),
        r.below(CPUS),
        r.below(2),
      ]);
    } else if (pick < 98) {
      const pkt = r.below(3) === 0 ? this.#pkt++ : Math.max(1, this.#pkt - 1 - r.below(8));
      this.#emit(KIND.ipInput, [
        pkt,
        r.below(4),
        r.below(2),
        40 + r.below(1460),
      ]);
    } else if (pick < 99) {
      this.#emit(KIND.taskInit, [
        3000 + this.#strings,
        this.#str(`task ${this.#strings}`),
      ]);
    } else {
      this.#emit(KIND.ref, [5000 + r.below(200), 1 + r.below(4)]);
    }
  }

  /** Interns `text` (emitting its str-def) and returns its id. */
  #str(text: string): number {
    const id = this.#strings++;
    const e = this.#e;
    e.text = text;
    this.#emit(KIND.strDef, [id]);
    e.text = "";
    return id;
  }

  #emit(kind: number, fields: number[]): void {
    const e = this.#e;
    e.tNs = this.#t;
    e.cpu = this.#cpu;
    e.thread = this.#running[this.#cpu];
    e.kind = kind;
    e.fields.fill(0);
    for (let j = 0; j < fields.length; j++) e.fields[j] = fields[j];
    this.#sink.onEvent(e);
    e.index++;
  }
}

if (import.meta.main) {
  // Arguments: an event count for the synthetic run, and scenario names to bench real runs of
  // (50 ms of simulated time each, seed 1).
  const count = Deno.args.find((a) => /^\d+$/.test(a));
  const scenarios = Deno.args.filter((a) => !/^\d+$/.test(a));
  const n = Number(count ?? 2_000_000);
  await benchTrace(syntheticRun(n, 1), `synthetic x${n}`);
  if (scenarios.length > 0) {
    const { runScenario } = await import("../drivers/mod.ts");
    for (const scenario of scenarios) {
      const overrides = { "sim.durationNs": "50000000" };
      await benchTrace(
        (sink) => void runScenario({ scenario, seed: 1, overrides, sinks: [sink] }),
        scenario,
      );
    }
  }
}
